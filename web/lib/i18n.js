// Words on the pages: Chinese first, English on the switch. t('key', {var}) fills {var}.
const zh = {
  appCentre: '综治中心', appWorker: '我的任务', signIn: '登录', signOut: '退出', tokenPlaceholder: '请输入登录令牌',
  tokenHelp: '令牌由管理员发放，只需输入一次，本机会记住。', badToken: '令牌无效或已被撤销，请重新输入。', forbidden: '此令牌无权查看该页面。',
  live: '实时', connecting: '连接中…', offline: '离线', lang: 'EN',
  noTasks: '暂无待办任务，新任务会实时出现在这里。', done: '已办结', back: '‹ 返回',
  ack: '确认接单', arrive: '已到达', resolve: '办结', submitResolve: '提交办结', cancel: '取消',
  outcome: '处置结果', note: '备注（可选）', noArrival: '未到场原因（必填，电话联系也可以）', byPhone: '已电话联系', awayUntil: '外出至',
  needReason: '没有到场，请填写原因。', needOutcome: '请选择处置结果。',
  queued: '离线：{n} 项操作待发送，联网后自动发送。', sent: '已联网，离线操作已发送。', rejected: '一项离线操作未被接受：{msg}',
  deadline: '时限', left: '剩 {t}', overdue: '超时 {t}', min: '{n} 分钟', hm: '{h} 小时 {m} 分',
  where: '地点', resident: '住户', contacts: '紧急联系人', afterAck: '接单后显示姓名和电话', use24h: '近 24 小时用电', usual: '平时', actual: '实际',
  history: '处理记录', enableAlerts: '开启提醒', alertsOn: '提醒已开启', newTask: '新任务', call: '拨打',
  kpiOpen: '未结警情', kpiActive: '在办任务', kpiUnack: '待接单', kpiLate: '超时/升级',
  byGrid: '各网格警情（今日 / 本周）', trend: '近 7 天警情', devices: '设备状态', devTotal: '电表', devOnline: '在线', devSilent: '无数据', devOffline: '离线', devFaulty: '故障',
  feed: '实时动态', board: '任务看板', map: '街道地图', today: '今日', week: '本周', openAlerts: '未结警情', openTasks: '在办任务',
  newAlert: '新警情', alertChanged: '警情更新', taskNew: '新任务', taskChanged: '任务更新', cleared: '已解除', closed: '已关闭',
  unassigned: '未派单', households: '住户', buildings: '楼栋', grids: '网格', communities: '社区', noHouseholds: '该楼栋暂无登记住户',
  unmask: '显示完整信息', unmasked: '已显示（已记入审计日志）', noData: '暂无数据', legendNone: '无警情', legendSome: '警情', colourByIndex: '按平安指数着色', colourByAlerts: '按未结警情着色', idx_green: '平安', idx_yellow: '关注', idx_orange: '警示', idx_red: '重点',
  escalated: '已升级', ago: '{t}前', justNow: '刚刚', him: '该户', home: '{who}家', drones: '无人机', markersAlert: '警情', markersTask: '任务',
}
const en = {
  appCentre: 'Command centre', appWorker: 'My tasks', signIn: 'Sign in', signOut: 'Sign out', tokenPlaceholder: 'Your sign-in token',
  tokenHelp: 'Your administrator gives you a token; enter it once and this device remembers it.', badToken: 'That token is not valid or has been revoked; enter it again.', forbidden: 'This token may not see this page.',
  live: 'live', connecting: 'connecting…', offline: 'offline', lang: '中文',
  noTasks: 'No open tasks. New ones appear here live.', done: 'Done', back: '‹ Back',
  ack: 'Accept', arrive: 'Arrived', resolve: 'Resolve', submitResolve: 'Resolve task', cancel: 'Cancel',
  outcome: 'Outcome', note: 'Note (optional)', noArrival: 'Why nobody went (required; a phone call counts)', byPhone: 'Reached by phone', awayUntil: 'Away until',
  needReason: 'Nobody arrived: give a reason.', needOutcome: 'Choose an outcome.',
  queued: 'Offline: {n} action(s) waiting, sent when the connection returns.', sent: 'Back online; queued actions sent.', rejected: 'A queued action was refused: {msg}',
  deadline: 'Deadline', left: '{t} left', overdue: '{t} overdue', min: '{n} min', hm: '{h} h {m} min',
  where: 'Where', resident: 'Resident', contacts: 'Contacts', afterAck: 'Name and phone show once you accept', use24h: 'Use, last 24 h', usual: 'usual', actual: 'actual',
  history: 'History', enableAlerts: 'Turn on alerts', alertsOn: 'Alerts on', newTask: 'New task', call: 'Call',
  kpiOpen: 'Open alerts', kpiActive: 'Active tasks', kpiUnack: 'Not accepted', kpiLate: 'Late / escalated',
  byGrid: 'Alerts by grid (today / week)', trend: 'Alerts, last 7 days', devices: 'Devices', devTotal: 'Meters', devOnline: 'reporting', devSilent: 'silent', devOffline: 'offline', devFaulty: 'faulty',
  feed: 'Live feed', board: 'Task board', map: 'Street map', today: 'today', week: 'this week', openAlerts: 'open alerts', openTasks: 'active tasks',
  newAlert: 'New alert', alertChanged: 'Alert changed', taskNew: 'New task', taskChanged: 'Task changed', cleared: 'cleared', closed: 'closed',
  unassigned: 'unassigned', households: 'Households', buildings: 'Buildings', grids: 'Grids', communities: 'Communities', noHouseholds: 'No registered households here',
  unmask: 'Show full details', unmasked: 'Shown (written to the audit log)', noData: 'No data', legendNone: 'no alerts', legendSome: 'alerts', colourByIndex: 'colour by safety index', colourByAlerts: 'colour by open alerts', idx_green: 'green', idx_yellow: 'yellow', idx_orange: 'orange', idx_red: 'red',
  escalated: 'escalated', ago: '{t} ago', justNow: 'just now', him: 'This household', home: "{who}'s home", drones: 'Drones', markersAlert: 'alerts', markersTask: 'tasks',
}

const KIND = {
  zh: { inactivity: '独居老人无活动', fall: '摔倒', smoke: '烟雾', night_load: '夜间异常用电', water_leak: '疑似漏水', crowding: '疑似群租', vacancy: '疑似空置', ebike_charging: '电动车入户充电', meter_offline: '电表离线', meter_stuck: '电表停走', meter_fault: '电表故障', dispute: '矛盾纠纷', public_safety: '治安隐患', work_safety: '安全生产', environment: '环境问题', city_management: '城市管理', livelihood: '民生诉求', report: '群众上报' },
  en: { inactivity: 'Elder inactive', fall: 'Fall', smoke: 'Smoke', night_load: 'Night load', water_leak: 'Water leak', crowding: 'Crowded rental', vacancy: 'Vacant flat', ebike_charging: 'E-bike charging indoors', meter_offline: 'Meter offline', meter_stuck: 'Meter stuck', meter_fault: 'Meter fault', report: 'Resident report' },
}
const SEV = { zh: { low: '低', medium: '中', high: '高', critical: '紧急' }, en: { low: 'low', medium: 'medium', high: 'high', critical: 'critical' } }
const STATE = {
  zh: { open: '待接单', acknowledged: '已接单', on_site: '已到场', resolved: '已办结', reviewed: '已核查' },
  en: { open: 'waiting', acknowledged: 'accepted', on_site: 'on site', resolved: 'resolved', reviewed: 'reviewed' },
}
/** The statutory stages of a case (立案 派遣 处置 核查 结案 评价), as the API names them. */
export const STAGES = ['filed', 'dispatched', 'handling', 'checking', 'closed', 'evaluated']
const STAGE = {
  zh: { filed: '立案', dispatched: '派遣', handling: '处置', checking: '核查', closed: '结案', evaluated: '评价' },
  en: { filed: 'filed', dispatched: 'dispatched', handling: 'in hand', checking: 'checking', closed: 'closed', evaluated: 'rated' },
}
const OUTCOME = {
  zh: { handled: '已处置', away: '外出不在家', false_alarm: '误报', device_fault: '设备故障', emergency: '紧急处置（送医/报警）' },
  en: { handled: 'handled', away: 'away from home', false_alarm: 'false alarm', device_fault: 'device fault', emergency: 'emergency (ambulance/police)' },
}
const ACTION = {
  zh: { created: '立案派单', ack: '接单', arrive: '到场', resolve: '办结', review: '核查', escalate: '升级', escalated: '超时升级', reassign: '改派', reassigned: '改派', handed_back: '退回', reminded: '到期提醒', reopened: '重新打开', severity_raised: '级别上调', alert_cleared: '警情已解除', alert_rose_again: '警情再次出现', checkin_answered: '家属已回复', comment: '留言', photo: '照片', note: '备注', notify: '通知' },
  en: {},
}

let lang = localStorage.getItem('gridcare.lang') === 'en' ? 'en' : 'zh'
export const getLang = () => lang
export const locale = () => lang === 'zh' ? 'zh-CN' : 'en-GB'
export function setLang (l) {
  lang = l === 'en' ? 'en' : 'zh'
  localStorage.setItem('gridcare.lang', lang)
  document.documentElement.lang = locale()
}
document.documentElement.lang = locale()

export function t (key, vars = {}) {
  const s = (lang === 'zh' ? zh : en)[key] ?? zh[key] ?? key
  return s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '')
}
const pick = (table, k) => table[lang]?.[k] ?? table.zh?.[k] ?? (k ?? '').replace(/_/g, ' ')
export const kindLabel = (k) => pick(KIND, k)
export const sevLabel = (s) => pick(SEV, s)
export const stateLabel = (s) => pick(STATE, s)
export const outcomeLabel = (o) => pick(OUTCOME, o)
export const actionLabel = (a) => ACTION[lang]?.[a] ?? (lang === 'zh' ? ACTION.zh[a] : undefined) ?? a
export const stageLabel = (s) => pick(STAGE, s)
export const OUTCOMES = ['handled', 'false_alarm', 'away', 'device_fault', 'emergency']

const SYSTEM_NOTES = {
  zh: {
    assigned: '派给 {w}', unassigned: '无人值班，暂未派单，网格长可见',
    checkin_help: '{c}请求帮助', checkin_unanswered: '{c}未在时限内回复', severity_critical: '级别升为紧急', confidence_high: '证据充分（可信度高）',
    escalated: '{d}超时，升级至{l}', nobody: '，该级无人值守', reassignedTo: '，改派给 {w}',
    reminded: '{d}时限 {t}', answered: '{c}回复“{a}”', well: '平安', help: '需要帮助',
    severity_raised: '级别升为{s}，时限提前', self_resolved: '无人处理前警情已解除', alert_cleared: '数据显示已恢复活动', risen: '警情再次出现',
  },
  en: {
    assigned: 'assigned to {w}', unassigned: 'nobody on duty: unassigned, visible to leaders',
    checkin_help: '{c} asked for help', checkin_unanswered: 'no answer from {c} in time', severity_critical: 'severity now critical', confidence_high: 'strong evidence (high confidence)',
    escalated: '{d} deadline missed, escalated to the {l}', nobody: ', nobody holds that level', reassignedTo: ', reassigned to {w}',
    reminded: '{d} deadline {t}', answered: '{c} answered "{a}"', well: 'all well', help: 'needs help',
    severity_raised: 'severity now {s}, deadlines tightened', self_resolved: 'the alert cleared before anyone acted', alert_cleared: 'the data shows activity again', risen: 'the alert rose again',
  },
}
const LEVEL = { zh: ['网格员', '网格长', '社区', '街道指挥中心'], en: ['worker', 'grid leader', 'community', 'street command centre'] }
const DEADLINE = { zh: { ack: '接单', arrive: '到场', resolve: '办结', review: '核查' }, en: { ack: 'accept', arrive: 'arrival', resolve: 'resolve', review: 'review' } }

/**
 * A history entry's note in the page's language. The server writes the system's entries in English for
 * API readers and keeps what happened in `data`; people's own notes are shown as written.
 */
export function historyNote (h, time = (iso) => iso) {
  if (h.actor !== 'system') return h.note ?? ''
  const n = SYSTEM_NOTES[lang], d = h.data ?? {}
  const fill = (s, v) => s.replace(/\{(\w)\}/g, (_, k) => v[k] ?? '')
  const who = (c) => c ? `${c.name}${c.relation ? (lang === 'zh' ? `（${c.relation}）` : ` (${c.relation})`) : ''}` : ''
  switch (h.action) {
    case 'created': {
      const to = d.workerId ? fill(n.assigned, { w: d.workerId }) : n.unassigned
      const why = d.reason && n[d.reason] ? fill(n[d.reason], { c: who(d.contact) }) : ''
      return why ? `${why}${lang === 'zh' ? '；' : '; '}${to}` : to
    }
    case 'escalated':
      return fill(n.escalated, { d: DEADLINE[lang][d.missed] ?? d.missed, l: LEVEL[lang][d.level] ?? d.levelName }) +
        (d.holder ? `（${d.holder}）` : n.nobody) + (d.reassignedFrom ? fill(n.reassignedTo, { w: d.workerId }) : '')
    case 'reminded': return fill(n.reminded, { d: DEADLINE[lang][d.deadline] ?? d.deadline, t: d.due ? time(d.due) : '' })
    case 'checkin_answered': return fill(n.answered, { c: who(d.contact), a: n[d.answer] ?? d.answer })
    case 'severity_raised': return fill(n.severity_raised, { s: sevLabel(d.severity) })
    case 'self_resolved': return n.self_resolved
    case 'alert_cleared': return n.alert_cleared
    case 'reopened': case 'alert_rose_again': return n.risen
    default: return h.note ?? ''
  }
}

/** Fills every [data-t] element's text and [data-t-ph] placeholder in the page. */
export function translatePage (root = document) {
  root.querySelectorAll('[data-t]').forEach((el) => { el.textContent = t(el.dataset.t) })
  root.querySelectorAll('[data-t-ph]').forEach((el) => { el.placeholder = t(el.dataset.tPh) })
}

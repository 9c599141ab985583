/**
 * A small demo street for seeding: one street, two communities, four grids,
 * buildings of six flats, lone elders and rental flats, and their workers.
 */
export interface StreetPlan {
  csv: string
  workers: Array<{ id: string, name: string, phone: string, role: 'grid_worker' | 'grid_leader' | 'command_centre', grids: string[] }>
  homes: Array<{ subject: string, kind: 'lone_elder' | 'rental_unit', unit: string, name: string, seed: number }>
  /** The grids' areas, a GeoJSON FeatureCollection for POST /api/grids/import. */
  grids: { type: 'FeatureCollection', features: Array<{ type: 'Feature', properties: { code: string }, geometry: { type: 'Polygon', coordinates: number[][][] } }> }
}

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '胡', '朱', '高', '林']
const GIVEN = ['秀英', '桂兰', '玉珍', '建国', '志强', '凤英', '德明', '淑芬', '国华', '秀兰', '洪涛', '金凤']

export function demoStreet (): StreetPlan {
  const lines = ['code,parent,level,name,lat,lon', 'XH,,district,西湖区,30.259,120.130', 'XH-LY,XH,street,灵隐街道,30.242,120.101']
  const workers: StreetPlan['workers'] = [{ id: 'centre', name: '灵隐街道综治中心', phone: '0571-0000', role: 'command_centre', grids: ['XH-LY'] }]
  const homes: StreetPlan['homes'] = []
  let seed = 1
  const features: StreetPlan['grids']['features'] = []
  for (const [ci, community] of ['枫叶', '茶园'].entries()) {
    const c = `XH-LY-C${ci + 1}`
    lines.push(`${c},XH-LY,community,${community}社区,${30.24 + ci * 0.004},${120.10 + ci * 0.004}`)
    workers.push({ id: `leader-c${ci + 1}`, name: `${SURNAMES[ci + 6]}${GIVEN[ci + 3]}`, phone: `1390000000${ci}`, role: 'grid_leader', grids: [c] })
    for (let g = 1; g <= 2; g++) {
      const grid = `${c}-G${g}`
      lines.push(`${grid},${c},grid,${community}第${g}网格,,`)
      // Around the grid's two buildings, a little irregular as real grid lines are.
      const [y, x] = [30.24 + ci * 0.004 + g * 0.001, 120.10 + ci * 0.004]
      const ring = [[x + 0.0004, y - 0.0005], [x + 0.0027, y - 0.0005 + (g === 1 ? 0.0001 : 0)], [x + 0.0026, y + 0.0005 + (g === 2 ? 0.0002 : 0)], [x + 0.0005, y + 0.0005], [x + 0.0004, y - 0.0005]]
      features.push({ type: 'Feature', properties: { code: grid }, geometry: { type: 'Polygon', coordinates: [ring.map(([a, b]) => [+a!.toFixed(6), +b!.toFixed(6)])] } })
      workers.push({ id: `worker-c${ci + 1}g${g}`, name: `${SURNAMES[ci * 2 + g]}${GIVEN[ci * 2 + g]}`, phone: `1380000${ci}${g}00`, role: 'grid_worker', grids: [grid] })
      for (let b = 1; b <= 2; b++) {
        const building = `${grid}-B${b}`
        lines.push(`${building},${grid},building,${ci * 4 + (g - 1) * 2 + b}号楼,${30.24 + ci * 0.004 + g * 0.001},${120.10 + ci * 0.004 + b * 0.001}`)
        for (let u = 1; u <= 6; u++) {
          const unit = `${building}-${Math.ceil(u / 2)}0${2 - (u % 2)}`
          lines.push(`${unit},${building},unit,${Math.ceil(u / 2)}0${2 - (u % 2)}室,,`)
          const rental = u === 6
          homes.push({
            subject: `${rental ? 'flat' : 'elder'}-${ci + 1}${g}${b}${u}`, kind: rental ? 'rental_unit' : 'lone_elder', unit,
            name: rental ? `出租屋 ${unit}` : `${SURNAMES[seed % SURNAMES.length]}${GIVEN[(seed * 7) % GIVEN.length]}`, seed: seed++,
          })
        }
      }
    }
  }
  return { csv: lines.join('\n') + '\n', workers, homes, grids: { type: 'FeatureCollection', features } }
}

/** The demo grids' areas as GeoJSON: a box around each grid's two buildings, matching demoStreet(). */
export function demoGridAreas () {
  const features = []
  for (const ci of [0, 1]) {
    for (const g of [1, 2]) {
      const lat = 30.24 + ci * 0.004 + g * 0.001
      const lon = 120.10 + ci * 0.004
      const ring = [[lon + 0.0005, lat - 0.0005], [lon + 0.0025, lat - 0.0005], [lon + 0.0025, lat + 0.0005], [lon + 0.0005, lat + 0.0005], [lon + 0.0005, lat - 0.0005]]
      features.push({ type: 'Feature', properties: { code: `XH-LY-C${ci + 1}-G${g}` }, geometry: { type: 'Polygon', coordinates: [ring] } })
    }
  }
  return { type: 'FeatureCollection', features }
}

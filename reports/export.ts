import ExcelJS from 'exceljs'
import { stringify } from 'csv-stringify/sync'
import { flatten, type Figures } from './figures.ts'
import type { Period } from './period.ts'

export interface Area { code: string, name: string, level: string }
/** A weekly or monthly report: the figures for its part of the tree, then for each area under it. */
export interface Report {
  period: Period
  /** Local date the period starts (a Monday, or the 1st). */
  start: string
  from: string
  to: string
  utcOffsetHours: number
  /** The part of the tree; null for the whole tree. */
  scope: Area | null
  figures: Figures
  areas: Array<Area & { figures: Figures }>
}

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

/** The report as a table: one row for its scope, then one per area. */
function table (r: Report): Array<Array<string | number | null>> {
  const head = ['period', 'start', 'area', 'name', 'level', ...flatten(r.figures).map(([k]) => k)]
  const row = (a: Area | null, f: Figures) => [r.period, r.start, a?.code ?? 'all', a?.name ?? 'all', a?.level ?? 'all', ...flatten(f).map(([, v]) => v)]
  return [head, row(r.scope, r.figures), ...r.areas.map((a) => row(a, a.figures))]
}

export function toCsv (r: Report): string {
  return stringify(table(r).map((row) => row.map((v) => v ?? '')))
}

export async function toXlsx (r: Report): Promise<Buffer> {
  const wb = new ExcelJS.Workbook()
  wb.creator = 'gridcare'
  const ws = wb.addWorksheet(`${r.period} ${r.start}`)
  for (const row of table(r)) ws.addRow(row)
  ws.getRow(1).font = { bold: true }
  ws.views = [{ state: 'frozen', ySplit: 1 }]
  return Buffer.from(await wb.xlsx.writeBuffer())
}

export const fileName = (r: Report, ext: string) => `gridcare-${r.period}-${r.start}-${r.scope?.code ?? 'all'}.${ext}`

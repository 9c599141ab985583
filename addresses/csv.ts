import { parse } from 'csv-parse/sync'
import { ADDRESS_LEVELS, AddressCode, type AddressLevel } from '../vocab/index.ts'

export interface AddressRow {
  line: number
  code: string
  parent: string | null
  level: AddressLevel
  name: string
  lat: number | null
  lon: number | null
}

export interface RowProblem { line: number, code?: string, reason: string }

const HEADER = ['code', 'parent', 'level', 'name', 'lat', 'lon']

/** Parses the address CSV; returns rows or every problem found (line numbers count the header as 1). */
export function parseAddressCsv (text: string): { rows: AddressRow[], problems: RowProblem[] } {
  let records: string[][]
  try {
    records = parse(text, { skip_empty_lines: true, relax_column_count: true, trim: true, bom: true })
  } catch (err) {
    return { rows: [], problems: [{ line: 0, reason: `not valid CSV: ${(err as Error).message}` }] }
  }
  const header = records[0]?.map((h) => h.toLowerCase())
  if (!header || HEADER.some((h, i) => header[i] !== h) || header.length > HEADER.length) {
    return { rows: [], problems: [{ line: 1, reason: `header must be ${HEADER.join(',')}` }] }
  }
  const rows: AddressRow[] = []
  const problems: RowProblem[] = []
  records.slice(1).forEach((rec, i) => {
    const line = i + 2
    const [code = '', parent = '', level = '', name = '', lat = '', lon = ''] = rec
    const bad = (reason: string) => problems.push({ line, code: code || undefined, reason })
    if (rec.length < 4) return bad('expected at least code,parent,level,name')
    if (!AddressCode.safeParse(code).success) return bad(`bad code "${code}": 1-64 of A-Z a-z 0-9 _ . -`)
    if (!(ADDRESS_LEVELS as readonly string[]).includes(level)) return bad(`bad level "${level}": one of ${ADDRESS_LEVELS.join(', ')}`)
    if (name === '') return bad('name is empty')
    const la = lat === '' ? null : Number(lat)
    const lo = lon === '' ? null : Number(lon)
    if ((la === null) !== (lo === null)) return bad('give both lat and lon, or neither')
    if (la !== null && (!Number.isFinite(la) || la < -90 || la > 90)) return bad(`bad lat "${lat}": a number from -90 to 90`)
    if (lo !== null && (!Number.isFinite(lo) || lo < -180 || lo > 180)) return bad(`bad lon "${lon}": a number from -180 to 180`)
    rows.push({ line, code, parent: parent === '' ? null : parent, level: level as AddressLevel, name, lat: la, lon: lo })
  })
  return { rows, problems }
}

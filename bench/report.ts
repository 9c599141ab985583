/** One measured line of the bench. */
export interface BenchLine {
  section: string
  store: string
  /** What was measured: `writer` is the path ingest really takes. */
  path: string
  batch: number
  rows: number
  ms: number
  /** Rows per second of the reference this line is compared with. */
  refRowsPerSec?: number
  /** Rows per second this line must reach; none when it is only for comparison. */
  target?: number
}

export const rowsPerSec = (l: Pick<BenchLine, 'rows' | 'ms'>) => l.rows / (l.ms / 1000)

/** The lines as an aligned text table. */
export function formatTable (lines: BenchLine[]): string {
  const head = ['section', 'store', 'path', 'batch', 'rows', 'rows/s', 'vs ref', 'target', 'met']
  const body = lines.map((l) => {
    const rate = rowsPerSec(l)
    return [
      l.section, l.store, l.path, String(l.batch), String(l.rows), fmt(rate),
      l.refRowsPerSec ? (rate / l.refRowsPerSec).toFixed(2) : '',
      l.target ? '>= ' + fmt(l.target) : '',
      !l.target ? '' : rate >= l.target ? 'yes' : (l.refRowsPerSec ?? Infinity) < l.target ? 'NO, nor ref' : 'NO',
    ]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

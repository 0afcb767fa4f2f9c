// A small SVG chart, written by hand: one horizontal bar per figure, its ratio
// to its baseline on a log scale, growing from 1× (left: slower or smaller than
// the baseline, right: larger); a tick where a target lies; green when the
// target is met, red when missed, grey when the figure has none.
import { round } from './stats.ts'
import type { Results } from './report.ts'

const ROW = 22
const LABEL_WIDTH = 440
const PLOT_WIDTH = 420
const VALUE_WIDTH = 230
const TOP = 46
const FAMILY = 'font-family="Helvetica, Arial, sans-serif"'
const FONT = `${FAMILY} font-size="12"`

function escape (text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
}

/** `x raw libp2p` → `× raw libp2p`; anything else after a space. */
function of (ratioOf: string | undefined): string {
  if (ratioOf == null) return '×'
  return ratioOf.startsWith('x ') ? `× ${ratioOf.slice(2)}` : ` ${ratioOf}`
}

/** The chart of every figure marked `chart`, as an SVG document. */
export function toSvg (results: Results): string {
  const rows = results.figures.filter(f => f.chart != null && f.ratio != null && Number.isFinite(f.ratio) && f.ratio > 0)
  const values = rows.flatMap(f => [f.ratio!, ...(f.target?.bound == null ? [] : [f.target.bound])])
  const lo = 10 ** Math.floor(Math.log10(Math.min(1, ...values) * 0.999))
  const hi = 10 ** Math.ceil(Math.log10(Math.max(1, ...values) * 1.001))
  const x = (v: number): number => Math.round((LABEL_WIDTH + (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * PLOT_WIDTH) * 10) / 10
  const width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
  const height = TOP + rows.length * ROW + 40
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`)
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`)
  out.push(`<text x="10" y="20" ${FAMILY} font-size="15" font-weight="bold">Fara: each figure as a ratio to its baseline, same run (log scale)</text>`)
  out.push(`<text x="10" y="36" ${FONT} fill="#555">${escape(`${results.date.slice(0, 10)}, ${results.machine.cores} × ${results.machine.cpus}; green: target met, red: missed, grey: no target; | marks the target`)}</text>`)
  // decades, and the 1× line
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const gx = x(d)
    out.push(`<line x1="${gx}" y1="${TOP - 4}" x2="${gx}" y2="${TOP + rows.length * ROW}" stroke="${Math.abs(d - 1) < 1e-9 ? '#000' : '#ddd'}"/>`)
    out.push(`<text x="${gx}" y="${TOP + rows.length * ROW + 16}" ${FONT} text-anchor="middle">${round(d, 3)}×</text>`)
  }
  rows.forEach((f, i) => {
    const y = TOP + i * ROW
    const color = f.target == null ? '#9e9e9e' : (f.target.met ? '#2e7d32' : '#c62828')
    const a = x(Math.min(1, f.ratio!))
    const b = x(Math.max(1, f.ratio!))
    out.push(`<text x="${LABEL_WIDTH - 8}" y="${y + 15}" ${FONT} text-anchor="end">${escape(`${f.chart!} (${f.size})`)}</text>`)
    out.push(`<rect x="${a}" y="${y + 4}" width="${Math.max(1, Math.round((b - a) * 10) / 10)}" height="${ROW - 8}" fill="${color}"/>`)
    if (f.target?.bound != null) {
      const tx = x(f.target.bound)
      out.push(`<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + ROW - 1}" stroke="#000" stroke-width="2"/>`)
    }
    out.push(`<text x="${LABEL_WIDTH + PLOT_WIDTH + 8}" y="${y + 15}" ${FONT}>${escape(`${round(f.ratio!, 3)}${of(f.ratioOf)}`)}</text>`)
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}

// Summaries of measured samples.

/** Latency summary in ms. */
export interface LatencySummary {
  runs: number
  median: number
  p99: number
  min: number
  mean: number
}

/** The q-quantile (0..1) of sorted samples, nearest rank. */
export function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

/** Median, p99, min and mean of latency samples (ms). */
export function summarize (samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b)
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    runs: sorted.length,
    median: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    min: sorted[0] ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length
  }
}

/** The median of a few values (repeated throughput runs). */
export function median (values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5)
}

/** Bytes and seconds to MiB/s. */
export function mibPerSecond (bytes: number, ms: number): number {
  return bytes / (1024 * 1024) / (ms / 1000)
}

/** Round to `digits` significant digits, for reports. */
export function round (value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value
  return Number(value.toPrecision(digits))
}

/** High-resolution clock in ms. */
export function now (): number {
  return performance.now()
}

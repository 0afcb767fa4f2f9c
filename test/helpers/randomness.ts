// What a passive classifier would test on the first bytes of TCP flows, with
// the null hypothesis "uniform random bytes": printable ASCII runs against
// their expectation, and per byte position a binomial z-test per bit and a
// chi-square on each nibble, Bonferroni-bounded over all positions.

/** Printable ASCII, as `strings` counts it (space to tilde). */
const isPrintable = (b: number): boolean => b >= 0x20 && b <= 0x7e
/** Probability that a uniform byte is printable. */
export const P_PRINTABLE = 95 / 256

/** Maximal runs of printable bytes of at least `min` bytes in `bytes`: how many, and the longest few. */
export function printableRuns (bytes: Uint8Array, min = 6): { count: number, longest: string[] } {
  let count = 0
  const found: string[] = []
  let start = -1
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && isPrintable(bytes[i]!)) {
      if (start < 0) start = i
      continue
    }
    if (start >= 0 && i - start >= min) {
      count++
      if (found.length < 1000) found.push(Buffer.from(bytes.subarray(start, i)).toString('latin1'))
    }
    start = -1
  }
  return { count, longest: found.sort((a, b) => b.length - a.length).slice(0, 5) }
}

/**
 * Expected number of maximal printable runs of at least `min` bytes in `n`
 * uniform random bytes: one may start at byte 0, or after any non-printable byte.
 */
export function expectedRuns (n: number, min = 6, p = P_PRINTABLE): number {
  if (n < min) return 0
  return p ** min * (1 + (n - min) * (1 - p))
}

/** erfc(x) for x >= 0, fractional error below 1.2e-7 (Numerical Recipes, erfcc: Chebyshev fit). */
function erfc (x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x))
  const r = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
  return x >= 0 ? r : 2 - r
}

/** Two-sided tail P(|Z| >= z) of a standard normal. */
export const normalTail = (z: number): number => erfc(Math.abs(z) / Math.SQRT2)

/** The z with normalTail(z) = alpha (bisection). */
export function normalQuantile (alpha: number): number {
  let lo = 0
  let hi = 40
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (normalTail(mid) > alpha) lo = mid
    else hi = mid
  }
  return hi
}

/** ln Γ(x), Lanczos (g = 7, n = 9). */
function lnGamma (x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x)
  x -= 1
  let a = c[0]!
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}

/** Regularised upper incomplete gamma Q(a, x) (series below a + 1, Lentz continued fraction above). */
function gammaQ (a: number, x: number): number {
  if (x <= 0) return 1
  const lead = Math.exp(-x + a * Math.log(x) - lnGamma(a))
  if (x < a + 1) {
    let sum = 1 / a
    let term = sum
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n)
      sum += term
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break
    }
    return 1 - sum * lead
  }
  const tiny = 1e-300
  let b = x + 1 - a
  let c = 1 / tiny
  let d = 1 / b
  let h = d
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < tiny) d = tiny
    c = b + an / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < 1e-15) break
  }
  return h * lead
}

/** Upper tail of a chi-square distribution with `dof` degrees of freedom. */
export const chiSquareTail = (x: number, dof: number): number => gammaQ(dof / 2, x / 2)

/** The verdict of {@link uniformity}, with the numbers behind it. */
export interface Uniformity {
  /** Samples (flows) tested. */
  n: number
  /** Byte positions tested per sample. */
  width: number
  /** Largest |z| over the width × 8 bit tests, and where (byte position, bit). */
  maxZ: number
  maxZAt: { position: number, bit: number }
  /** The Bonferroni bound |z| had to stay under. */
  zBound: number
  /** Smallest chi-square p-value over the width × 2 nibble tests (15 degrees of freedom), and where. */
  minChiP: number
  minChiAt: { position: number, nibble: 'high' | 'low' }
  /** The Bonferroni bound that p had to stay above. */
  chiBound: number
  /** Chi-square p-value of all width × n bytes pooled into 256 cells (255 degrees of freedom). */
  pooledChiP: number
  pass: boolean
}

/**
 * Test the first `width` bytes of each sample for uniformity: per byte position
 * and bit a binomial z-test (ones ~ Bin(n, 1/2)), per position and nibble a
 * chi-square on 16 cells, and the pooled byte histogram. The family-wise error
 * of each of the three tests is at most `alpha` (Bonferroni), so a truly
 * uniform source fails with probability at most 3 × alpha.
 */
export function uniformity (samples: readonly Uint8Array[], width = 64, alpha = 1e-4): Uniformity {
  const short = samples.find(s => s.byteLength < width)
  if (short != null) throw new RangeError(`every sample must have at least ${width} bytes, got one of ${short.byteLength}`)
  const n = samples.length
  const ones = Array.from({ length: width }, () => new Array<number>(8).fill(0))
  const nibbles = Array.from({ length: width }, () => [new Array<number>(16).fill(0), new Array<number>(16).fill(0)] as const)
  const pooled = new Array<number>(256).fill(0)
  for (const s of samples) {
    for (let i = 0; i < width; i++) {
      const b = s[i]!
      pooled[b]!++
      nibbles[i]![0][b >> 4]!++
      nibbles[i]![1][b & 15]!++
      for (let bit = 0; bit < 8; bit++) if ((b >> bit) & 1) ones[i]![bit]!++
    }
  }
  const zBound = normalQuantile(alpha / (width * 8))
  let maxZ = 0
  let maxZAt = { position: 0, bit: 0 }
  for (let i = 0; i < width; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const z = Math.abs((ones[i]![bit]! - n / 2) / Math.sqrt(n / 4))
      if (z > maxZ) { maxZ = z; maxZAt = { position: i, bit } }
    }
  }
  const chi = (cells: readonly number[], total: number): number => {
    const e = total / cells.length
    return cells.reduce((sum, o) => sum + (o - e) ** 2 / e, 0)
  }
  const chiBound = alpha / (width * 2)
  let minChiP = 1
  let minChiAt: Uniformity['minChiAt'] = { position: 0, nibble: 'high' }
  for (let i = 0; i < width; i++) {
    for (const [k, nibble] of [[0, 'high'], [1, 'low']] as const) {
      const p = chiSquareTail(chi(nibbles[i]![k], n), 15)
      if (p < minChiP) { minChiP = p; minChiAt = { position: i, nibble } }
    }
  }
  const pooledChiP = chiSquareTail(chi(pooled, n * width), 255)
  return { n, width, maxZ, maxZAt, zBound, minChiP, minChiAt, chiBound, pooledChiP, pass: maxZ < zBound && minChiP > chiBound && pooledChiP > alpha }
}

/** Distinct values in `values`. */
export const distinct = (values: readonly number[]): number => new Set(values).size

// The ceiling of any encrypted transport in the bench: ChaCha20-Poly1305 of
// node:crypto on one core, in Noise-sized frames. A stream is encrypted by the
// sender and decrypted by the receiver, each on its own core here, so one
// stream cannot go faster than the slower of the two rates.
import { runWorker } from '../lib/process.ts'
import { round } from '../lib/stats.ts'
import type { BenchContext } from '../lib/context.ts'

export async function crypto (ctx: BenchContext): Promise<void> {
  const result = await runWorker('chacha', { ms: ctx.config.quick ? 500 : 1_500 })
  const encrypt = result.encrypt as number
  const decrypt = result.decrypt as number
  ctx.add({
    family: 'crypto',
    id: 'crypto.chacha20-poly1305',
    label: 'ChaCha20-Poly1305, node:crypto, one core (min of seal and open)',
    size: `${result.frame as number} B frames`,
    value: Math.min(encrypt, decrypt),
    unit: 'MiB/s',
    detail: `seal ${round(encrypt, 3)} MiB/s, open ${round(decrypt, 3)} MiB/s`
  })
}

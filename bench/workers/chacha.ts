// The ChaCha20-Poly1305 rate of node:crypto on one core, in Noise-sized frames
// (65 535 bytes on the wire: 65 519 of plaintext and a 16-byte tag): the
// ceiling of any transport here that encrypts each byte once per side.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { emit, workerArgs } from '../lib/worker.ts'
import { now } from '../lib/stats.ts'

const args = workerArgs<{ ms: number }>()
const FRAME = 65_535 - 16
const key = randomBytes(32)
const plaintext = randomBytes(FRAME)
const nonce = Buffer.alloc(12)

function seal (counter: number): { ciphertext: Buffer, tag: Buffer } {
  nonce.writeUInt32LE(counter, 4)
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { ciphertext, tag: cipher.getAuthTag() }
}

function rate (work: (i: number) => void): number {
  for (let i = 0; i < 200; i++) work(i) // warm-up
  const start = now()
  let frames = 0
  while (now() - start < args.ms) {
    for (let i = 0; i < 50; i++) work(frames++)
  }
  return frames * FRAME / (1024 * 1024) / ((now() - start) / 1000)
}

const encrypt = rate(i => { seal(i) })
const sealed = seal(1)
const decrypt = rate(() => {
  nonce.writeUInt32LE(1, 4)
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  decipher.setAuthTag(sealed.tag)
  decipher.update(sealed.ciphertext)
  decipher.final()
})
emit({ event: 'result', encrypt, decrypt, frame: FRAME })
process.exit(0)

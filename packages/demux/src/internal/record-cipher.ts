// Which AEAD the record path uses (spec/resumption.md#records): AES-256-GCM
// when both ends would rather, ChaCha20-Poly1305 otherwise. An end would
// rather AES-256-GCM when its CPU has AES instructions: there node:crypto
// (OpenSSL) runs it at about twice ChaCha20-Poly1305's speed
// (bench/README.md#records-the-associations-bulk-path-issue-20); without them
// ChaCha20-Poly1305 is the faster one, and constant-time.
import { readFileSync } from 'node:fs'

/** The AEAD of a record path's records (spec/resumption.md#records). */
export type RecordCipher = 'chacha20-poly1305' | 'aes-256-gcm'

/**
 * Whether `cpuinfo` (Linux's /proc/cpuinfo) names AES instructions: the
 * `aes` flag of an x86 CPU, the `aes` feature of an ARM one.
 */
export function cpuinfoHasAes (cpuinfo: string): boolean {
  return /^(flags|Features)\s*:.*\baes\b/m.test(cpuinfo)
}

let preferred: RecordCipher | undefined

/**
 * The cipher this machine would rather its records used: AES-256-GCM where
 * the CPU has AES instructions (Linux: /proc/cpuinfo; macOS and Windows on
 * x64 or arm64: every CPU they run on has them), else ChaCha20-Poly1305.
 */
export function preferredRecordCipher (): RecordCipher {
  if (preferred != null) return preferred
  let aes: boolean
  if (process.platform === 'linux') {
    try {
      aes = cpuinfoHasAes(readFileSync('/proc/cpuinfo', 'utf8'))
    } catch {
      aes = false
    }
  } else {
    aes = (process.platform === 'darwin' || process.platform === 'win32') && (process.arch === 'x64' || process.arch === 'arm64')
  }
  preferred = aes ? 'aes-256-gcm' : 'chacha20-poly1305'
  return preferred
}

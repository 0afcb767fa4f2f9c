import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { modeAllowsOthers } from '../src/index.ts'

const S_IFREG = 0o100000
const S_IFDIR = 0o040000
const POSIX = ['linux', 'darwin', 'freebsd', 'openbsd', 'sunos', 'aix', 'android'] as const

describe('modeAllowsOthers on POSIX: any group or other bit is refused', () => {
  it.each(POSIX)('on %s it is exactly (mode & 0o077) !== 0, for every permission, setuid/setgid/sticky and file type', (platform) => {
    for (const type of [S_IFREG, S_IFDIR]) {
      for (let bits = 0; bits <= 0o7777; bits++) {
        const mode = type | bits
        expect(modeAllowsOthers(mode, platform)).toBe((mode & 0o077) !== 0)
      }
    }
  })

  it.each([0o644, 0o640, 0o604, 0o660, 0o666, 0o702, 0o755, 0o777])('refuses a file with mode %o', (bits) => {
    expect(modeAllowsOthers(S_IFREG | bits, 'linux')).toBe(true)
  })

  it.each([0o600, 0o400, 0o700, 0o000, 0o4600])('accepts an owner-only mode %o', (bits) => {
    expect(modeAllowsOthers(S_IFREG | bits, 'linux')).toBe(false)
  })
})

describe('modeAllowsOthers on Windows: mode bits do not reflect the ACL, so no file is refused', () => {
  // what Node's stat reports there: 0o666, or 0o444 with the read-only attribute (libuv)
  it.each([S_IFREG | 0o666, S_IFREG | 0o444, S_IFDIR | 0o666, S_IFDIR | 0o777, S_IFREG | 0o600])('accepts mode %o', (mode) => {
    expect(modeAllowsOthers(mode, 'win32')).toBe(false)
  })
})

describe('modeAllowsOthers on this machine', () => {
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-file-mode-'))
  })

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('defaults to this process\'s platform', async () => {
    const path = join(dir, 'key')
    await writeFile(path, 'x', { mode: 0o600 })
    await chmod(path, 0o644)
    const { mode } = await stat(path)
    expect(modeAllowsOthers(mode)).toBe(modeAllowsOthers(mode, process.platform))
    expect(modeAllowsOthers(mode)).toBe(process.platform !== 'win32')
  })
})

import { randomBytes } from 'node:crypto'
import { chmod, link, mkdir, open, rename, stat, unlink } from 'node:fs/promises'
import { InsecureIdentityFileError } from '../errors.ts'
import { modeAllowsOthers } from '../file-mode.ts'

/** Options for {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Mode of the file (applied with chmod too, in case the umask narrowed it). */
  mode: number
  /** Fail with EEXIST instead of replacing an existing file. */
  exclusive?: boolean
  /** Abort before the rename (or link) that makes the file appear: the temporary file is removed, and the reason thrown. */
  signal?: AbortSignal
}

/**
 * Write `data` to `path` atomically (spec/identity.md#writing): write and
 * fsync `<path>.<12 hex>.tmp` (created with O_EXCL and `mode`), chmod it, then
 * rename it over `path` — or, when `exclusive`, hard-link it to `path` (which
 * fails if `path` exists) and unlink it. The temporary file is removed if any
 * step fails, so a crash leaves the old file or the new one, never half a file.
 */
export async function writeFileAtomic (path: string, data: Uint8Array | string, options: WriteFileAtomicOptions): Promise<void> {
  options.signal?.throwIfAborted()
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const fh = await open(tmp, 'wx', options.mode)
  try {
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await chmod(tmp, options.mode)
    // the last moment to give up: after the rename (or link) the new file is in place
    options.signal?.throwIfAborted()
    if (options.exclusive === true) {
      await link(tmp, path)
      await unlink(tmp)
    } else {
      await rename(tmp, path)
    }
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}

/** Create `dir` (and missing parents) with `mode`; chmod it if this call created it, so the umask cannot widen it. */
export async function makeDir (dir: string, mode: number): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode })
  if (created != null) await chmod(dir, mode)
}

/** Throw {@link InsecureIdentityFileError} if group or others have any permission on `path` (POSIX only: {@link modeAllowsOthers}). */
export async function assertOwnerOnly (path: string, what: string): Promise<void> {
  const info = await stat(path)
  const mode = info.mode & 0o777
  if (modeAllowsOthers(mode)) {
    throw new InsecureIdentityFileError(`${what} ${path} has mode ${mode.toString(8)}; expected ${info.isDirectory() ? '700' : '600'}`)
  }
}

/**
 * True when a file's (or directory's) `mode` gives its group or others any
 * permission, on a platform where mode bits say who may open it: the test
 * behind {@link InsecureIdentityFileError} for identity files, keystore files
 * and keystore directories (`0600` and stricter owner-only modes such as
 * `0400` pass).
 *
 * POSIX only. On Windows (`platform === 'win32'`) mode bits do not reflect
 * access, which ACLs decide: Node derives `fs.Stats.mode` from the read-only
 * attribute alone (`0o666`, or `0o444` for a read-only file), so every key
 * file would look readable by others and be refused. There this returns
 * false and the check is not made; keep the keystore in a directory whose
 * ACL closes it to other users (a user profile's directories by default).
 *
 * @param mode - `fs.Stats.mode` of the file or directory
 * @param platform - the platform the mode comes from; defaults to this process's
 *
 * @example
 * ```ts
 * import { modeAllowsOthers } from '@fara/identity'
 *
 * modeAllowsOthers(0o100644, 'linux')   // true: group and others can read it
 * modeAllowsOthers(0o100600, 'linux')   // false
 * modeAllowsOthers(0o100666, 'win32')   // false: the bits say nothing there
 * ```
 */
export function modeAllowsOthers (mode: number, platform: NodeJS.Platform = process.platform): boolean {
  // Windows: the bits come from the read-only attribute, not the ACL (libuv's stat)
  if (platform === 'win32') return false
  return (mode & 0o077) !== 0
}

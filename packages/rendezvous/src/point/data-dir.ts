import { watch } from 'node:fs'
import { chmod, mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { MissingDependencyError } from '@fara/transport'
import { DATA_DIR_MODE, DATA_FILE_MODE, RECORDS_DIR } from '../constants.ts'
import type { Datastore } from 'interface-datastore'
import type { FSWatcher } from 'node:fs'

/** Create `dir` (and missing parents) with `mode`; chmod it if this call created it, so the umask cannot widen it. */
export async function makeDir (dir: string, mode: number): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode })
  if (created != null) await chmod(dir, mode)
}

/** chmod `path` to `mode`; a file LevelDB removed meanwhile is no error. */
async function chmodIfThere (path: string, mode: number): Promise<void> {
  try {
    await chmod(path, mode)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

/**
 * Open the point's record datastore in `<dataDir>/records` (a DHT node's: `subdir` `dht-records`) with the modes
 * spec/rendezvous.md#persistence promises: the directory 0700 (also one a
 * previous version left 0755), every file in it 0600. LevelDB creates its
 * files with mode 0644 less the umask, at open and later (logs, tables,
 * manifests): those present are chmod'ed after opening, and each new one as
 * it appears (inotify); none is ever readable by others meanwhile, as the
 * directory is not.
 */
export async function openRecords (dataDir: string, subdir: string = RECORDS_DIR, user = 'A rendezvous point with a data directory'): Promise<{ datastore: Datastore, close: () => Promise<void> }> {
  const dir = join(dataDir, subdir)
  await mkdir(dir, { recursive: true, mode: DATA_DIR_MODE })
  await chmod(dir, DATA_DIR_MODE)
  // loaded only by a point with a data directory: LevelDB is a native addon a client never
  // needs, and datastore-level an optional peer dependency (the root README.md, "Install")
  const { LevelDatastore } = await import('datastore-level').catch((err: unknown) => { throw MissingDependencyError.wrap(err, 'datastore-level', user) })
  const level = new LevelDatastore(dir)
  await level.open()
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name != null) chmodIfThere(join(dir, name), DATA_FILE_MODE).catch(() => {})
    })
    // e.g. out of inotify watches: the files opened later keep LevelDB's mode, inside a directory only the owner can enter
    watcher.on('error', () => {})
  } catch {
    watcher = undefined
  }
  try {
    for (const name of await readdir(dir)) await chmodIfThere(join(dir, name), DATA_FILE_MODE)
  } catch (err) {
    watcher?.close()
    await level.close()
    throw err
  }
  return {
    datastore: level,
    async close () {
      watcher?.close()
      await level.close()
    }
  }
}

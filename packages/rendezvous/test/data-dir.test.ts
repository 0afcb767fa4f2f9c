// The modes of a rendezvous point's state on disk (spec/rendezvous.md#persistence): the data directory
// and records/ 0700, the key and every LevelDB file 0600 — at creation, after writes, after a restart,
// and for a records/ that an earlier version left 0755 with 0644 files.
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNode } from '@fara/transport'
import { afterEach, describe, expect, it } from 'vitest'
import { createRecord, createRendezvousPoint, rendezvousPoint } from '../src/index.ts'
import { DATA_DIR_MODE, DATA_FILE_MODE, RECORDS_DIR } from '../src/constants.ts'

const dirs: string[] = []
afterEach(async () => { await Promise.all(dirs.splice(0).map(async d => rm(d, { recursive: true, force: true }))) })

const modeOf = async (path: string): Promise<string> => ((await stat(path)).mode & 0o777).toString(8)

/** Every path under the data directory with its mode, e.g. { '.': '700', 'records/CURRENT': '600' }. */
async function modes (dataDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { '.': await modeOf(dataDir) }
  for (const entry of await readdir(dataDir, { recursive: true })) out[entry] = await modeOf(join(dataDir, entry))
  return out
}

/** Start a point on `dataDir`, register `count` names through it, and stop it. */
async function run (dataDir: string, count: number): Promise<void> {
  const point = await createRendezvousPoint({ listen: ['/ip4/127.0.0.1/tcp/0'], dataDir })
  const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  try {
    const rv = rendezvousPoint(point.multiaddrs)({ node })
    const key = await generateKeyPair('Ed25519')
    for (let i = 0; i < count; i++) await rv.register(await createRecord(key, { name: `mode-${i}-${Date.now()}`, addrs: ['/ip4/127.0.0.1/tcp/4001'], aid: new Uint8Array(8) }))
  } finally {
    await node.stop()
    await point.close()
  }
}

/** The paths whose mode is not what the spec promises. */
function wrong (all: Record<string, string>): Record<string, string> {
  const bad: Record<string, string> = {}
  for (const [path, mode] of Object.entries(all)) {
    const expected = path === '.' || path === RECORDS_DIR ? DATA_DIR_MODE : DATA_FILE_MODE
    if (mode !== expected.toString(8)) bad[path] = mode
  }
  return bad
}

describe('a rendezvous point\'s data directory', () => {
  it('is 0700 with records/ 0700 and every file 0600, after writes and after a restart', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'fara-point-modes-')), 'state')
    dirs.push(dataDir)
    await run(dataDir, 3)
    const first = await modes(dataDir)
    expect(Object.keys(first)).toEqual(expect.arrayContaining(['.', 'rendezvous-point.key', RECORDS_DIR, `${RECORDS_DIR}/CURRENT`]))
    expect(wrong(first)).toEqual({})
    // a restart opens new LevelDB files (log, manifest, LOG.old)
    await run(dataDir, 2)
    expect(wrong(await modes(dataDir))).toEqual({})
  })

  it('tightens a records/ directory that an earlier version left 0755 with 0644 files', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fara-point-modes-'))
    dirs.push(dataDir)
    await run(dataDir, 1)
    await chmod(join(dataDir, RECORDS_DIR), 0o755)
    for (const name of await readdir(join(dataDir, RECORDS_DIR))) await chmod(join(dataDir, RECORDS_DIR, name), 0o644)
    await writeFile(join(dataDir, RECORDS_DIR, 'stray'), 'x', { mode: 0o644 })
    expect(wrong(await modes(dataDir))).not.toEqual({})
    await run(dataDir, 1)
    expect(wrong(await modes(dataDir))).toEqual({})
  })
})

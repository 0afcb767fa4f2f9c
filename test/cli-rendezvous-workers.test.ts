// `fara rendezvous --workers`: one point served from several processes (spec/rendezvous.md#workers),
// as a user starts it, and stopped by Ctrl-C with nothing left running.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createRecord, rendezvousPoint } from '@fara/rendezvous'
import { createNode } from '@fara/transport'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runFara, startFara, stopAllPrograms } from './fixtures/cli-process.ts'
import type { Libp2p } from '@libp2p/interface'

const run = promisify(execFile)

/** The pids of the children of `pid`. */
async function childrenOf (pid: number): Promise<number[]> {
  const { stdout } = await run('ps', ['--ppid', String(pid), '-o', 'pid=']).catch(() => ({ stdout: '' }))
  return stdout.split('\n').map(s => Number(s.trim())).filter(n => n > 0)
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('fara rendezvous --workers', () => {
  let dir: string
  let env: Record<string, string>
  const nodes: Libp2p[] = []

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-cli-workers-'))
    env = { PATH: process.env.PATH ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') }
  })
  afterAll(async () => {
    await Promise.allSettled(nodes.map(async n => n.stop()))
    await stopAllPrograms()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves one store from two processes and stops them all on Ctrl-C', async () => {
    const point = startFara('fara rendezvous --workers 2', ['rendezvous', '--memory', '--no-relay', '--workers', '2', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'], env)
    const ready = await point.event('ready', undefined, 60_000)
    expect(ready).toMatchObject({ workers: 2, relay: false })
    const workers = await childrenOf(point.child.pid!)
    expect(workers).toHaveLength(2)

    const client = async (): Promise<ReturnType<ReturnType<typeof rendezvousPoint>>> => {
      const node = await createNode({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
      nodes.push(node)
      return rendezvousPoint(ready.multiaddrs as string[])({ node })
    }
    await (await client()).register(await createRecord(await generateKeyPair('Ed25519'), {
      name: 'cli-workers', addrs: ['/ip4/198.51.100.7/tcp/40123'], aid: new Uint8Array(8).fill(7)
    }))
    const names = await Promise.all([0, 1, 2, 3].map(async () => (await (await client()).resolve('cli-workers')).name))
    expect(names).toEqual(Array(4).fill('cli-workers'))

    expect(await point.stop('SIGINT')).toBe(130)
    await expect.poll(() => workers.filter(alive), { timeout: 10_000 }).toEqual([])
  })

  it('refuses --workers with the relay on, and a count out of range', async () => {
    const relay = await runFara(['rendezvous', '--memory', '--workers', '2'], env)
    expect(relay.code).not.toBe(0)
    expect(relay.stderr).toContain('--workers needs --no-relay')
    const zero = await runFara(['rendezvous', '--memory', '--no-relay', '--workers', '0'], env)
    expect(zero.code).not.toBe(0)
    expect(zero.stderr).toContain('--workers must be an integer from 1 to 256')
  })
})

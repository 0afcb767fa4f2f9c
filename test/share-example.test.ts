// examples/src/share.ts as a user runs it: a point, a receiver and a sender, each its own process, on loopback.
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { ChildProcess } from 'node:child_process'

const share = fileURLToPath(new URL('../examples/dist/share.js', import.meta.url))
const children: ChildProcess[] = []

function start (args: string[]): { lines: string[], next: (match: (l: string) => boolean) => Promise<string>, exited: Promise<number | null> } {
  const child = spawn(process.execPath, [share, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const lines: string[] = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout }).on('line', (l) => { lines.push(l); for (const w of waiters) w() })
  const exited = new Promise<number | null>(resolve => child.on('exit', (code) => { resolve(code); for (const w of waiters) w() }))
  return {
    lines,
    exited,
    next: async (match) => new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find(match)
        if (found != null) { waiters.delete(check); resolve(found) } else if (child.exitCode != null) { waiters.delete(check); reject(new Error(`share.js ${args[0]} exited: ${lines.join('\n')}`)) }
      }
      waiters.add(check)
      check()
    })
  }
}

describe('the share example', () => {
  let dir: string
  afterAll(async () => {
    for (const c of children) c.kill('SIGTERM')
    if (dir != null) await rm(dir, { recursive: true, force: true })
  })

  it('sends a file by name, privately, with its SHA-256 checked at the receiver', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fara-share-'))
    const point = start(['point', '--host', '127.0.0.1'])
    const addr = (JSON.parse(await point.next(l => l.includes('"point"'))) as { multiaddrs: string[] }).multiaddrs[0]!
    const receiver = start(['receive', 'inbox', '--point', addr, '--dir', join(dir, 'in'), '--secret', 's3cret'])
    await receiver.next(l => l.includes('"serving"'))
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    await writeFile(join(dir, 'data.bin'), bytes)
    const sender = start(['send', 'inbox', join(dir, 'data.bin'), '--point', addr, '--secret', 's3cret'])
    expect(await sender.exited).toBe(0)
    const sent = JSON.parse(sender.lines.find(l => l.includes('"sent"'))!) as { receiver: { ok: boolean } }
    expect(sent.receiver.ok).toBe(true)
    const copy = await readFile(join(dir, 'in', 'data.bin'))
    expect(createHash('sha256').update(copy).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'))
    // a wrong secret finds nothing
    const stranger = start(['send', 'inbox', join(dir, 'data.bin'), '--point', addr, '--secret', 'guess'])
    expect(await stranger.exited).toBe(1)
  })
})

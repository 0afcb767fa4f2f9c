// A node that keeps its address across restarts (`fara rendezvous`, `fara rendezvous --dht`):
// the listen address with the port it got, written to its data directory and read back.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { transport } from './lazy.ts'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The listen address remembered in `dataDir/file`, if any and well formed. */
export async function remembered (dataDir: string, file: string): Promise<string | undefined> {
  const { checkListenAddrs } = await transport()
  try {
    const json = JSON.parse(await readFile(join(dataDir, file), 'utf8')) as { listen?: unknown }
    if (typeof json.listen !== 'string') return undefined
    checkListenAddrs([json.listen], true)
    return json.listen
  } catch {
    return undefined
  }
}

/** `listen` (e.g. `/ip4/0.0.0.0/tcp/0`) with the TCP port the node got. */
export function withPort (listen: string, port: number): string {
  return multiaddr(listen).getComponents().map(c => c.name === 'tcp' ? `/tcp/${port}` : `/${c.name}${c.value == null ? '' : `/${c.value}`}`).join('')
}

/** The TCP port of `addr`, or 0. */
export function tcpPort (addr: Multiaddr | undefined): number {
  return Number(addr?.getComponents().find(c => c.name === 'tcp')?.value ?? 0)
}

import { afterEach } from 'vitest'
import type { Libp2p } from '@libp2p/interface'
import type { Server, Socket } from 'node:net'

/** What a test opened and must not leak into the next: push to these, and they are closed after each test. */
export interface Resources {
  nodes: Libp2p[]
  servers: Server[]
  sockets: Socket[]
}

/** Call at the top of a test file: after each test its sockets are destroyed, its servers closed, its nodes stopped. */
export function resources (): Resources {
  const r: Resources = { nodes: [], servers: [], sockets: [] }
  afterEach(async () => {
    for (const s of r.sockets.splice(0)) s.destroy()
    await Promise.all(r.servers.splice(0).map(async s => new Promise<void>(resolve => { s.close(() => { resolve() }) })))
    await Promise.all(r.nodes.splice(0).map(async n => n.stop()))
  })
  return r
}

// The entity's lifecycle log (`fara:entity`, README "Logging"): one debug line
// per event, the event's name as its first word. What a line may say about a
// name is decided here, once: a public name as it is (quoted, so that a service
// called "private" stays distinct), a private one only as the word `private`.
// The log never holds a key, a secret, a token or a lookup key, and never an
// error message that could quote a private name (only the error's name).
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** How `name` appears in the log: quoted if public, `private` if private. */
export function shownName (name: string, hidden: boolean): string {
  return hidden ? 'private' : JSON.stringify(name)
}

/** Why something failed, for the log: the error's name, and its message too unless the name involved is private. */
export function reasonOf (err: unknown, hidden: boolean): string {
  const e = err as Error | undefined
  const name = e?.name ?? typeof err
  return hidden || e?.message == null || e.message === '' ? name : `${name}: ${e.message}`
}

/** The remote address of the connection of `node` to `peer` that carries `stream` (`?` if none does any more). */
export function addrOf (node: Libp2p, peer: PeerId, stream: Stream): Multiaddr | string {
  return node.getConnections(peer).find((c: Connection) => c.streams.includes(stream))?.remoteAddr ?? '?'
}

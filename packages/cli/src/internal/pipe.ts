import { once } from 'node:events'
import { pipeline } from 'node:stream/promises'
import type { Duplex, Readable, Writable } from 'node:stream'

/** Bytes that went each way through a {@link bridge}. */
export interface BridgeResult {
  /** From `a` to `b`. */
  sent: number
  /** From `b` to `a`. */
  received: number
}

/** Count the bytes that `stream` emits, without taking its data away from the pipe. */
function counted (stream: Readable): { bytes: () => number } {
  let bytes = 0
  stream.on('data', (chunk: Uint8Array) => { bytes += chunk.byteLength })
  return { bytes: () => bytes }
}

/**
 * Pipe `a` and `b` both ways with backpressure. The end of one direction
 * half-closes the other side (TCP FIN ↔ association close) and the other
 * direction keeps flowing; an error on either side destroys both (a reset).
 * Resolves when both directions have ended; rejects with the first error.
 */
export async function bridge (a: Duplex, b: Duplex): Promise<BridgeResult> {
  const fromA = counted(a)
  const fromB = counted(b)
  let failed: Error | undefined
  const fail = (err: Error): void => {
    failed ??= err
    a.destroy(err)
    b.destroy(err)
  }
  await Promise.all([
    pipeline(a, b as Writable).catch(fail),
    pipeline(b, a as Writable).catch(fail)
  ])
  if (failed != null) throw failed
  return { sent: fromA.bytes(), received: fromB.bytes() }
}

/**
 * Tunnel over stdin/stdout (`ssh -o ProxyCommand`): stdin → `remote`,
 * `remote` → stdout. Done once the remote side has ended (as `nc -N`): the
 * caller then closes its side; stdin's end half-closes `remote` before that.
 */
export async function bridgeStdio (stdin: Readable, stdout: Writable, remote: Duplex): Promise<BridgeResult> {
  const fromIn = counted(stdin)
  const fromRemote = counted(remote)
  let failed: Error | undefined
  let remoteDone = false
  const upstream = pipeline(stdin, remote as Writable).catch((err: Error) => {
    // once the remote is done, stdin being cut off is how this ends, not a failure
    if (remoteDone) return
    failed ??= err
    remote.destroy(err)
  })
  await pipeline(remote, stdout, { end: false }).catch((err: Error) => {
    failed ??= err
    remote.destroy(err)
  })
  remoteDone = true
  if (failed != null) throw failed
  // the remote is done: stop reading stdin (a terminal would never end), let the association close
  stdin.unpipe(remote)
  stdin.pause()
  if (!remote.writableEnded && !remote.destroyed) remote.end()
  if (!remote.closed) await Promise.race([upstream, once(remote, 'close'), once(remote, 'finish')])
  if (failed != null) throw failed
  return { sent: fromIn.bytes(), received: fromRemote.bytes() }
}

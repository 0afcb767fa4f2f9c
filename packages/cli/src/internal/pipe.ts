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

/**
 * Count the bytes that `from` emits, without taking its data away from the
 * pipe, and with `to` (where the pipe writes them) batch the chunks of one
 * turn of the event loop into one write: `to` is corked at the first chunk
 * and uncorked in the turn's check phase (setImmediate), after every read
 * libuv made in its poll phase (up to 32 per socket) has been handed over.
 * So an association gets the reads of a turn in one `writev` and sends them
 * as few large frames (each frame costs a Noise message and a window update
 * coming back), and a socket gets one writev syscall for everything the
 * association delivered in that turn. Backpressure is kept: corked writes
 * count against `to`'s high-water mark, and past it the pipe pauses `from`.
 */
function counted (from: Readable, to?: Writable): { bytes: () => number } {
  let bytes = 0
  let corked = false
  const uncork = (): void => {
    if (!corked) return
    corked = false
    to!.uncork()
  }
  // at the end, at once: a pipe that does not end `to` (stdout) must have handed everything over when it resolves
  from.once('end', uncork)
  // registered before the pipe's own 'data' listener, so the cork comes before its write
  from.on('data', (chunk: Uint8Array) => {
    bytes += chunk.byteLength
    if (to == null || corked || to.writableEnded || to.destroyed) return
    corked = true
    to.cork()
    setImmediate(uncork)
  })
  return { bytes: () => bytes }
}

/**
 * Pipe `a` and `b` both ways with backpressure. The end of one direction
 * half-closes the other side (TCP FIN ↔ association close) and the other
 * direction keeps flowing; an error on either side destroys both (a reset).
 * Resolves when both directions have ended; rejects with the first error.
 */
export async function bridge (a: Duplex, b: Duplex): Promise<BridgeResult> {
  const fromA = counted(a, b)
  const fromB = counted(b, a)
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
  const fromIn = counted(stdin, remote)
  const fromRemote = counted(remote, stdout)
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

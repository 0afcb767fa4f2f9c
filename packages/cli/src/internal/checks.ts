// Start-up checks (issue 16): say at once what would make the first client
// fail — a name nobody serves, a forward target nobody listens on — without
// refusing to start, since either may come up a moment later.
import { createConnection } from 'node:net'
import { once } from 'node:events'
import { START_CHECK_TIMEOUT_MS } from '../constants.ts'
import { formatHostPort } from './args.ts'
import { describeFailure } from './failure.ts'
import type { HostPort } from './args.ts'
import type { Context } from './command.ts'
import type { ConnectOptions, Entity } from '@fara/sdk'

/** `fara connect --listen`: resolve `name` once; a line saying it is there, or why not (the tunnel keeps listening). */
export async function checkName (ctx: Context, entity: Entity, name: string, options: Pick<ConnectOptions, 'private'>): Promise<void> {
  try {
    const record = await entity.resolve(name, { ...options, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(START_CHECK_TIMEOUT_MS)]) })
    ctx.out.status('resolved', { name, peerId: record.peerId.toString(), addrs: record.addrs.map(String) }, `${JSON.stringify(name)} is registered (${record.addrs.length} address${record.addrs.length === 1 ? '' : 'es'})`)
  } catch (err) {
    if (ctx.signal.aborted) return
    const failure = describeFailure(err, { name })
    ctx.out.warn('check-failed', { name, error: failure.name, message: failure.message, hint: failure.hint ?? null },
      `${failure.message}${failure.hint == null ? '' : ` (${failure.hint})`}; listening anyway: connections fail until it is`)
  }
}

/** `fara serve --forward`: connect once to the target; a line if nothing accepts there (the service is registered anyway). */
export async function checkForward (ctx: Context, target: HostPort): Promise<void> {
  const socket = createConnection({ host: target.host, port: target.port })
  try {
    await once(socket, 'connect', { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(START_CHECK_TIMEOUT_MS)]) })
  } catch (err) {
    if (ctx.signal.aborted) return
    const why = (err as Error).name === 'AbortError' ? `no answer within ${START_CHECK_TIMEOUT_MS} ms` : (err as Error).message
    ctx.out.warn('forward-down', { target: formatHostPort(target), message: why },
      `nothing accepts connections at ${formatHostPort(target)} (${why}); serving anyway: associations fail until it does`)
  } finally {
    socket.destroy()
  }
}

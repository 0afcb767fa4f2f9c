import { AlreadyStartedError, TypedEventEmitter } from '@libp2p/interface'
import { HopListenError } from '../errors.ts'
import { tcpTarget, withPort } from './addr.ts'
import type { TcpTarget } from './addr.ts'
import type { HopEvent, HopListener, HopListenerEvents } from '../listener.ts'
import type { Schedule } from '../schedule.ts'
import type { Listener, Transport, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface HoppingListenerInit {
  /** The wrapped @libp2p/tcp transport: one of its listeners per open port. */
  inner: Transport
  upgrader: Upgrader
  /** This entity's own schedule; without one, every address is listened on plainly. */
  schedule: Schedule | undefined
  /** Move the window by itself on each slot boundary (a timer); otherwise only `sync()` moves it. */
  autoHop: boolean
}

type State = 'idle' | 'plain' | 'hopping' | 'closed'

/**
 * One listen address of a {@link hoppingTcp} transport. With a schedule and a
 * `/tcp/0` address it keeps a @libp2p/tcp listener open on each port of the
 * window; otherwise it is a plain @libp2p/tcp listener (spec/port-hopping.md#listener).
 */
export class HoppingListener extends TypedEventEmitter<HopListenerEvents> implements HopListener {
  readonly #init: HoppingListenerInit
  readonly #open = new Map<number, Listener>()
  #state: State = 'idle'
  #plain: Listener | undefined
  #base: TcpTarget | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Slot of the last move (NaN before the first). */
  #slot = Number.NaN
  #chain: Promise<unknown> = Promise.resolve()

  constructor (init: HoppingListenerInit) {
    super()
    this.#init = init
  }

  get schedule (): Schedule | undefined {
    return this.#state === 'plain' ? undefined : this.#init.schedule
  }

  async listen (ma: Multiaddr): Promise<void> {
    if (this.#state !== 'idle') throw new AlreadyStartedError('listener is already listening or closed')
    const target = tcpTarget(ma)
    if (this.#init.schedule == null || target == null || target.port !== 0) {
      await this.#listenPlain(ma)
      return
    }
    this.#state = 'hopping'
    this.#base = target
    let first: HopEvent
    try {
      first = await this.sync()
    } catch (err) {
      await this.#shutdown()
      this.#state = 'idle'
      throw err
    }
    if (this.#open.size === 0) {
      await this.#shutdown()
      this.#state = 'idle'
      throw new HopListenError(`Could not listen on any port of the window ${first.failed.map(f => f.port).join(', ')}`, {
        cause: new AggregateError(first.failed.map(f => f.error))
      })
    }
    this.safeDispatchEvent('listening')
  }

  /** Never the live ports: announcing them would tell every peer that runs identify where to find this entity next (spec/port-hopping.md#what-the-listener-announces). */
  getAddrs (): Multiaddr[] {
    return this.#plain?.getAddrs() ?? []
  }

  updateAnnounceAddrs (): void {}

  openPorts (): number[] {
    return [...this.#open.keys()].sort((a, b) => a - b)
  }

  async sync (options: { signal?: AbortSignal } = {}): Promise<HopEvent> {
    options.signal?.throwIfAborted()
    const run = this.#chain.then(async () => this.#step())
    this.#chain = run.catch(() => {})
    const signal = options.signal
    if (signal == null) return run
    // an abort stops the wait, not the move: moves are serialised and short
    return new Promise<HopEvent>((resolve, reject) => {
      const onAbort = (): void => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      run.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
    })
  }

  async close (): Promise<void> {
    if (this.#state === 'closed') return
    const wasListening = this.#state !== 'idle'
    this.#state = 'closed'
    clearTimeout(this.#timer)
    await this.#chain
    await this.#shutdown()
    if (wasListening) this.safeDispatchEvent('close')
  }

  async #listenPlain (ma: Multiaddr): Promise<void> {
    const plain = this.#init.inner.createListener({ upgrader: this.#init.upgrader })
    this.#plain = plain
    this.#state = 'plain'
    plain.addEventListener('listening', () => { this.safeDispatchEvent('listening') })
    plain.addEventListener('error', evt => { this.safeDispatchEvent('error', { detail: evt.detail }) })
    plain.addEventListener('close', () => {
      if (this.#state === 'plain') {
        this.#state = 'closed'
        this.safeDispatchEvent('close')
      }
    })
    try {
      await plain.listen(ma)
    } catch (err) {
      this.#plain = undefined
      this.#state = 'idle'
      throw err
    }
  }

  /** Move the window to the current slot: open the ports that entered it, then close those that left it. */
  async #step (): Promise<HopEvent> {
    const schedule = this.#init.schedule
    const base = this.#base
    if (this.#state !== 'hopping' || schedule == null || base == null) {
      return { slot: NaN, ports: this.openPorts(), opened: [], closed: [], failed: [] }
    }
    clearTimeout(this.#timer)
    try {
      const t = schedule.now()
      const slot = schedule.slotAt(t)
      this.#slot = slot
      const want = schedule.ports(t)
      const opened: number[] = []
      const failed: HopEvent['failed'] = []
      await Promise.all(want.filter(port => !this.#open.has(port)).map(async port => {
        const listener = this.#init.inner.createListener({ upgrader: this.#init.upgrader })
        try {
          await listener.listen(withPort(base, port))
        } catch (err) {
          failed.push({ port, error: err as Error })
          await listener.close().catch(() => {})
          return
        }
        if (this.#state !== 'hopping') {
          await listener.close()
          return
        }
        listener.addEventListener('error', evt => { this.safeDispatchEvent('error', { detail: evt.detail }) })
        this.#open.set(port, listener)
        opened.push(port)
      }))
      // only now close what left the window: the next port is open before the old one goes
      const closed = [...this.#open.keys()].filter(port => !want.includes(port))
      await Promise.all(closed.map(async port => {
        const listener = this.#open.get(port)
        this.#open.delete(port)
        await listener?.close()
      }))
      const event: HopEvent = { slot, ports: this.openPorts(), opened: opened.sort((a, b) => a - b), closed: closed.sort((a, b) => a - b), failed }
      this.safeDispatchEvent('hop', { detail: event })
      return event
    } finally {
      this.#arm(schedule)
    }
  }

  /**
   * Wake up at the end of the slot of the last move (timer unref'd: it never
   * keeps the process alive). The end is counted from the last move's slot,
   * not from the time now, so a move that straddled a boundary is followed
   * at once by the next; the wait is capped at one interval in case the wall
   * clock jumps back. Node.js timers may fire a few ms before the wall clock
   * reaches the boundary: such a wake-up only re-arms.
   */
  #arm (schedule: Schedule): void {
    if (!this.#init.autoHop || this.#state !== 'hopping') return
    const { epoch, intervalMs } = schedule.params
    const end = Number.isNaN(this.#slot) ? schedule.nextChangeAt() : epoch + (this.#slot + 1) * intervalMs
    const delay = Math.min(intervalMs, Math.max(1, end - schedule.now()))
    this.#timer = setTimeout(() => {
      if (this.#state !== 'hopping') return
      if (schedule.slotAt(schedule.now()) === this.#slot) {
        this.#arm(schedule)
        return
      }
      this.sync().catch(err => { this.safeDispatchEvent('error', { detail: err as Error }) })
    }, delay)
    this.#timer.unref?.()
  }

  async #shutdown (): Promise<void> {
    const listeners = [...this.#open.values()]
    this.#open.clear()
    if (this.#plain != null) listeners.push(this.#plain)
    await Promise.all(listeners.map(async l => l.close()))
  }
}

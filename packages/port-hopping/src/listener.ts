import type { Schedule } from './schedule.ts'
import type { Listener, ListenerEvents, TypedEventTarget } from '@libp2p/interface'

/** What one move of the window did (the `hop` event of a {@link HopListener}). */
export interface HopEvent {
  /** The slot the window is now centred on. */
  slot: number
  /** Ports open after the move, ascending. */
  ports: number[]
  /** Ports opened by this move, ascending. */
  opened: number[]
  /** Ports closed by this move (they left the window), ascending; connections accepted on them were closed too. */
  closed: number[]
  /** Ports of the window that could not be opened (e.g. `EADDRINUSE`: another socket holds the port) and why; the next move tries again. */
  failed: Array<{ port: number, error: Error }>
}

/** Events of a {@link HopListener}: those of every libp2p listener, and `hop`. */
export interface HopListenerEvents extends ListenerEvents {
  /** The window moved (also after the first opening, and after each `sync()`). */
  hop: CustomEvent<HopEvent>
}

/**
 * The listener of a {@link hoppingTcp} transport. libp2p hands it out in its
 * `transport:listening` event; tests and schedulers may drive it with `sync()`.
 */
export interface HopListener extends Omit<Listener, keyof TypedEventTarget<ListenerEvents>>, TypedEventTarget<HopListenerEvents> {
  /** The schedule it hops by, or undefined for a plain listener (no schedule, or a pinned port). */
  readonly schedule: Schedule | undefined
  /** Ports open now, ascending (empty for a plain listener). */
  openPorts(): number[]
  /**
   * Move the window to the schedule's current slot now: open the ports that
   * entered it, then close the ones that left it. Moves are serialised; a
   * move with nothing to do changes nothing; on a plain, idle or closed
   * listener it does nothing and reports slot `NaN`. The timer calls this on
   * each slot boundary unless `autoHop` is false. An abort of `signal` ends
   * the wait, not a move already queued.
   */
  sync(options?: { signal?: AbortSignal }): Promise<HopEvent>
}

/**
 * Keys made ahead of time, so that a dial or an accept does not wait for
 * their making: `take()` hands out one never handed out before (made at once
 * when the pool is empty), then the pool refills a little later, one key per
 * turn of the event loop, in the background.
 */
export class KeyPool<T> {
  readonly #make: () => T
  readonly #size: number
  readonly #refillDelayMs: number
  readonly #pool: T[] = []
  #filling = false

  /** `size` keys at most; a refill starts `refillDelayMs` after a take, so that it does not compete with the handshake that took the key. */
  constructor (make: () => T, size: number, refillDelayMs: number) {
    this.#make = make
    this.#size = size
    this.#refillDelayMs = refillDelayMs
  }

  /** One fresh key. */
  take (): T {
    const key = this.#pool.pop() ?? this.#make()
    this.#refill(this.#refillDelayMs)
    return key
  }

  /** Start filling now (a node does when it is made, so its first connection does not wait). */
  warm (): void {
    this.#refill(0)
  }

  readonly #fill = (): void => {
    if (this.#pool.length >= this.#size) {
      this.#filling = false
      return
    }
    this.#pool.push(this.#make())
    setImmediate(this.#fill).unref()
  }

  #refill (delay: number): void {
    if (this.#filling) return
    this.#filling = true
    setTimeout(this.#fill, delay).unref()
  }
}

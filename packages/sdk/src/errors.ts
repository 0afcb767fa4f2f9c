/** Thrown when an entity is used after `close()`. */
export class EntityClosedError extends Error {
  static override name = 'EntityClosedError'
  override name = 'EntityClosedError'
  constructor (message = 'Entity is closed') { super(message) }
}

/** Thrown when `serve()` is called twice for one name on one entity. */
export class AlreadyServingError extends Error {
  static override name = 'AlreadyServingError'
  override name = 'AlreadyServingError'
  constructor (message = 'Already serving this name') { super(message) }
}

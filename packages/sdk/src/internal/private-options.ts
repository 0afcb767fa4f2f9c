import type { PrivateNameOptions } from '@fara/rendezvous/private'

/** The `private` option of `serve`, `connect` or `resolve` as options of a private name, or undefined for a public name. */
export function privateOf (value: boolean | PrivateNameOptions | undefined): PrivateNameOptions | undefined {
  if (value == null || value === false) return undefined
  return value === true ? {} : value
}

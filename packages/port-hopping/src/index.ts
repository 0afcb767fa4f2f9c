/**
 * @fara/port-hopping (work in progress).
 *
 * @packageDocumentation
 */
export const PLACEHOLDER = true

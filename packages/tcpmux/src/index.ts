/**
 * @fara/tcpmux (work in progress).
 *
 * @packageDocumentation
 */
export const PLACEHOLDER = true

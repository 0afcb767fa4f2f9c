/**
 * The `fara` command line (work in progress).
 *
 * @packageDocumentation
 */
export const PLACEHOLDER = true

/**
 * @fara/srv (work in progress).
 *
 * @packageDocumentation
 */
export const PLACEHOLDER = true

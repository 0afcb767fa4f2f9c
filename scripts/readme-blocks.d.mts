// Types of the parts of scripts/readme-blocks.mjs that test/readme-blocks.test.ts uses.

/** A fenced block of a README, with what its markers say. */
export interface ReadmeBlock {
  file: string
  /** 1-based line of the opening fence */
  line: number
  lang: string
  /** how it runs; undefined for languages that are not run (json, plain text …) */
  kind: 'ts' | 'js' | 'sh' | 'console' | undefined
  code: string
  /** the reason of a `<!-- fragment: … -->` marker */
  fragment: string | undefined
  /** from `<!-- env: NAME=value … -->` */
  env: Record<string, string>
  /** seconds, from `<!-- timeout: … -->` */
  timeout: number | undefined
  /** what is wrong with its markers or fence */
  errors: string[]
}

export const KINDS: Readonly<Record<string, 'ts' | 'js' | 'sh' | 'console'>>
export const MARKERS: readonly string[]
export function extractBlocks (text: string, file?: string): ReadmeBlock[]
export function strayMarkers (text: string, file?: string): Array<{ file: string, line: number, message: string }>
export function consoleCommands (code: string): string
export function readmeFiles (root: string): string[]

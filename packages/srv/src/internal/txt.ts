// The TXT record that carries a signed Fara record or tombstone
// (spec/adapters.md#srv-txt): a tag string, then the SignedRecord message in
// base64, in character-strings of at most 255 characters.
import { MAX_RECORD_BYTES, SIGNATURE_BYTES } from '@fara/rendezvous/constants'
import { TXT_CHUNK_CHARS, TXT_TAG_SLOT, TXT_TAG_WITHDRAWN } from '../constants.ts'
import { MalformedMessageError } from '../errors.ts'

/** What a TXT record holds: a live record (`slot`) or a tombstone (`withdrawn`), as SignedRecord bytes. */
export interface TxtEntry { kind: 'slot' | 'withdrawn', bytes: Uint8Array }

/** Longest SignedRecord message carried (a record, its signature and protobuf framing). */
const MAX_SIGNED_BYTES = MAX_RECORD_BYTES + SIGNATURE_BYTES + 16
const MAX_BASE64_CHARS = 4 * Math.ceil(MAX_SIGNED_BYTES / 3)
const MAX_STRINGS = 1 + Math.ceil(MAX_BASE64_CHARS / TXT_CHUNK_CHARS)
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** The character-strings of a TXT record holding `entry`. */
export function encodeTxt (entry: TxtEntry): string[] {
  const b64 = Buffer.from(entry.bytes).toString('base64')
  const chunks: string[] = []
  for (let i = 0; i < b64.length; i += TXT_CHUNK_CHARS) chunks.push(b64.slice(i, i + TXT_CHUNK_CHARS))
  return [entry.kind === 'slot' ? TXT_TAG_SLOT : TXT_TAG_WITHDRAWN, ...chunks]
}

/** Read a TXT record's character-strings back; {@link MalformedMessageError} for anything that is not one of ours. */
export function decodeTxt (strings: ReadonlyArray<Uint8Array | string>): TxtEntry {
  if (strings.length < 2 || strings.length > MAX_STRINGS) throw new MalformedMessageError(`a Fara TXT record has 2 to ${MAX_STRINGS} strings, got ${strings.length}`)
  const text = strings.map(s => typeof s === 'string' ? s : Buffer.from(s).toString('latin1'))
  const tag = text[0]
  const kind = tag === TXT_TAG_SLOT ? 'slot' : tag === TXT_TAG_WITHDRAWN ? 'withdrawn' : undefined
  if (kind == null) throw new MalformedMessageError(`TXT record tag ${JSON.stringify(tag?.slice(0, 32))} is not a Fara tag`)
  const b64 = text.slice(1).join('')
  if (b64.length > MAX_BASE64_CHARS || b64.length % 4 !== 0 || !BASE64.test(b64)) throw new MalformedMessageError('TXT record payload is not base64 of a bounded length')
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'))
  if (bytes.byteLength === 0) throw new MalformedMessageError('TXT record payload is empty')
  return { kind, bytes }
}

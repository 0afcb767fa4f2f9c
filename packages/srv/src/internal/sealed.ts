// The TXT record that carries a sealed private record
// (spec/adapters.md#srv-private-records): the tag string, then the
// SignedPrivateRecord message as raw octets, cut into character-strings of
// exactly 255 octets but the last (1 to 255). A TXT RDATA is one octet string,
// so its character-strings keep their order; the fixed cut makes the split of
// a value unique, so equal values give equal RDATA (the UPDATE prerequisites
// compare RDATA octets).
import { MAX_SIGNED_PRIVATE_RECORD_BYTES } from '@fara/rendezvous/constants'
import { SEALED_CHUNK_BYTES, TXT_TAG_SEALED } from '../constants.ts'
import { MalformedMessageError } from '../errors.ts'

/** Most character-strings of a sealed TXT record: the tag and the chunks of the longest SignedPrivateRecord. */
export const MAX_SEALED_STRINGS = 1 + Math.ceil(MAX_SIGNED_PRIVATE_RECORD_BYTES / SEALED_CHUNK_BYTES)

const TAG = new TextEncoder().encode(TXT_TAG_SEALED)

/** The character-strings of a TXT record holding the SignedPrivateRecord message `bytes`. */
export function encodeSealedTxt (bytes: Uint8Array): Uint8Array[] {
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_SIGNED_PRIVATE_RECORD_BYTES) {
    throw new RangeError(`a sealed record is 1 to ${MAX_SIGNED_PRIVATE_RECORD_BYTES} octets, got ${bytes.byteLength}`)
  }
  const strings: Uint8Array[] = [TAG]
  for (let i = 0; i < bytes.byteLength; i += SEALED_CHUNK_BYTES) strings.push(bytes.subarray(i, i + SEALED_CHUNK_BYTES))
  return strings
}

/**
 * The SignedPrivateRecord octets of a TXT record's character-strings;
 * {@link MalformedMessageError} for anything that is not one of ours, checked
 * (count, tag, every length) before anything is copied.
 */
export function decodeSealedTxt (strings: ReadonlyArray<Uint8Array | string>): Uint8Array {
  if (strings.length < 2 || strings.length > MAX_SEALED_STRINGS) {
    throw new MalformedMessageError(`a sealed TXT record has 2 to ${MAX_SEALED_STRINGS} strings, got ${strings.length}`)
  }
  const parts = strings.map(s => typeof s === 'string' ? new TextEncoder().encode(s) : s)
  const tag = parts[0]!
  if (tag.byteLength !== TAG.byteLength || !tag.every((b, i) => b === TAG[i])) throw new MalformedMessageError('TXT record tag is not the sealed-record tag')
  const chunks = parts.slice(1)
  const last = chunks[chunks.length - 1]!
  if (chunks.slice(0, -1).some(c => c.byteLength !== SEALED_CHUNK_BYTES) || last.byteLength === 0 || last.byteLength > SEALED_CHUNK_BYTES) {
    throw new MalformedMessageError(`a sealed TXT record's strings after the tag are ${SEALED_CHUNK_BYTES} octets each, the last 1 to ${SEALED_CHUNK_BYTES}`)
  }
  const length = (chunks.length - 1) * SEALED_CHUNK_BYTES + last.byteLength
  if (length > MAX_SIGNED_PRIVATE_RECORD_BYTES) throw new MalformedMessageError(`a sealed record is at most ${MAX_SIGNED_PRIVATE_RECORD_BYTES} octets, got ${length}`)
  const out = new Uint8Array(length)
  chunks.forEach((c, i) => { out.set(c, i * SEALED_CHUNK_BYTES) })
  return out
}

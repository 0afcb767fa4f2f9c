// libp2p's Noise handshake signs, on every connection, the same bytes: the
// prefix `noise-libp2p-static-key:` and the node's static Noise key, which
// a Noise instance makes once (spec: libp2p's noise.md). With an Ed25519
// identity the signature is deterministic (RFC 8032), so each connection
// computed the same 64 bytes again, importing the private key from JWK each
// time (about 0.15 ms of a connect's CPU, on each side). Here the node's
// private key hands Noise a signer that keeps its last signature, made when
// the node is (before its first connect: a client node made ahead for the next
// connect has it ready). The bytes on the wire are the same; only the work
// moves out of the connect.
import { noise } from '@chainsafe/libp2p-noise'
import type { NoiseInit } from '@chainsafe/libp2p-noise'
import type { PrivateKey } from '@libp2p/interface'

/** What Noise signs: this prefix, then the static key's public half. */
const SIGNATURE_PREFIX = new TextEncoder().encode('noise-libp2p-static-key:')

type NoiseFactory = ReturnType<typeof noise>
type NoiseComponents = Parameters<NoiseFactory>[0]

/** `noise(init)`, whose handshakes reuse one signature of the node's static Noise key. */
export function noiseWithKeptSignature (init: NoiseInit): NoiseFactory {
  const factory = noise(init)
  return (components: NoiseComponents) => {
    const signer = new KeptSigner(components.privateKey)
    const encrypter = factory(Object.create(components, { privateKey: { value: signer.key, enumerable: true } }) as NoiseComponents)
    // the static key is Noise's own field; if a version renames it, handshakes just sign as before
    const staticKey = (encrypter as unknown as { staticKey?: { publicKey?: unknown } }).staticKey?.publicKey
    if (staticKey instanceof Uint8Array) signer.keep(Buffer.concat([SIGNATURE_PREFIX, staticKey]))
    return encrypter
  }
}

/** A private key whose `sign` answers the one kept message from memory. */
export class KeptSigner {
  readonly key: PrivateKey
  readonly #key: PrivateKey
  #message: Uint8Array | undefined
  #signature: Promise<Uint8Array> | undefined

  constructor (key: PrivateKey) {
    this.#key = key
    const sign = async (data: Uint8Array | { subarray: () => Uint8Array }): Promise<Uint8Array> => {
      const bytes = data instanceof Uint8Array ? data : data.subarray()
      if (this.#signature != null && this.#message != null && Buffer.compare(bytes, this.#message) === 0) return this.#signature
      return key.sign(bytes)
    }
    // everything else (type, raw, publicKey, equals, …) is the key's own
    this.key = Object.create(key, { sign: { value: sign, enumerable: true } }) as PrivateKey
  }

  /** Sign `message` (soon: off the caller's turn), and answer it with that signature from then on. */
  keep (message: Uint8Array): void {
    const signature = Promise.resolve().then(async () => this.#key.sign(message))
    this.#message = message
    this.#signature = signature
    // a key that cannot sign (a remote signer gone) signs per handshake again, and fails there
    signature.catch(() => {
      if (this.#signature !== signature) return
      this.#message = undefined
      this.#signature = undefined
    })
  }
}

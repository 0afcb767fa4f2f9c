// Noise's crypto (`@chainsafe/libp2p-noise`'s default, node:crypto and
// WebAssembly) with its X25519 work taken off the connect: ephemeral key
// pairs are made ahead of time, and every private key Noise holds is
// imported into node:crypto once, not again for each of the three
// Diffie-Hellmans of a handshake. What goes on the wire is unchanged.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { KeyPool } from './pool.ts'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { KeyObject } from 'node:crypto'

type KeyPair = ReturnType<ICryptoInterface['generateX25519KeyPair']>
/** A key as Noise hands it over: one array, or a list of them (Noise's own `uint8arraylist`). */
type Key = Parameters<ICryptoInterface['generateX25519SharedKey']>[0]

const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex')

/** Ephemeral key pairs made ahead (about 50 µs each), for the handshakes that start before the refill. */
const POOL_SIZE = 8
/** After a key is taken, the refill waits this long (ms), so that it does not compete with the handshake that took it. */
const REFILL_DELAY_MS = 50

/** The node:crypto form of each private key handed to Noise, by the very array Noise holds (and hands back to DH). */
const imported = new WeakMap<Uint8Array, KeyObject>()

function make (): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  const pair = {
    publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519.byteLength)),
    privateKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_X25519.byteLength))
  }
  imported.set(pair.privateKey, privateKey)
  return pair
}


const pool = new KeyPool(make, POOL_SIZE, REFILL_DELAY_MS)

function bytes (key: Key): Uint8Array {
  return key instanceof Uint8Array ? key : key.subarray()
}

/** The crypto `createNode` gives Noise: {@link defaultCrypto}, with pooled ephemerals and imported private keys. */
export const noiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  generateX25519KeyPair (): KeyPair {
    return pool.take()
  },
  generateX25519KeyPairFromSeed (seed: Uint8Array): KeyPair {
    const pair = defaultCrypto.generateX25519KeyPairFromSeed(seed)
    imported.set(pair.privateKey, createPrivateKey({ key: Buffer.concat([PKCS8_X25519, seed]), format: 'der', type: 'pkcs8' }))
    return pair
  },
  generateX25519SharedKey (privateKey: Key, publicKey: Key): Uint8Array {
    const secret = privateKey instanceof Uint8Array ? imported.get(privateKey) : undefined
    if (secret == null) return defaultCrypto.generateX25519SharedKey(privateKey, publicKey)
    return diffieHellman({
      privateKey: secret,
      publicKey: createPublicKey({ key: Buffer.concat([SPKI_X25519, bytes(publicKey)]), format: 'der', type: 'spki' })
    })
  }
}

/** Start filling the pool (a node does when it is made, so its first handshake does not wait). */
export function warmNoiseKeys (): void {
  pool.warm()
}

// Generates spec/vectors/private.json (spec/private-names.md) with code that
// shares nothing with the packages: node:crypto for HKDF, ChaCha20-Poly1305
// and Ed25519, protobufjs parsing spec/proto/rendezvous.proto. The sealed
// record is wire.json's `record` vector (reused byte for byte). The packages'
// tests check that they produce the same bytes.
//   node spec/vectors/generate-private.mjs          (rewrite private.json)
//   node spec/vectors/generate-private.mjs --check  (fail if private.json differs)
import { createCipheriv, createPrivateKey, createPublicKey, hkdfSync, sign } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const rdv = protobuf.parse(readFileSync(here('../proto/rendezvous.proto'), 'utf8')).root
const SignedRecord = rdv.lookupType('fara.rendezvous.v1.SignedRecord')
const PrivateRecord = rdv.lookupType('fara.rendezvous.v1.PrivateRecord')
const SignedPrivateRecord = rdv.lookupType('fara.rendezvous.v1.SignedPrivateRecord')
const wire = JSON.parse(readFileSync(here('./wire.json'), 'utf8')).record

const hex = (b) => Buffer.from(b).toString('hex')
const utf8 = (s) => Buffer.from(s, 'utf8')
const u64be = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b }
const u32be = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }

// spec/private-names.md#constants
const SALT = 'fara/rendezvous/private/salt/v1'
const LOOKUP_INFO = 'fara/rendezvous/private/lookup/v1'
const ENCRYPT_INFO = 'fara/rendezvous/private/encrypt/v1'
const WRITER_INFO = 'fara/rendezvous/private/writer/v1'
const DOMAIN = 'fara/rendezvous/private/v1'
const PERIOD_MS = 86_400_000
const BUCKETS = [1024, 2048, 4096, 8192]
const NONCE_BYTES = 12
const TAG_BYTES = 16

const hkdf = (ikm, info) => Buffer.from(hkdfSync('sha256', ikm, utf8(SALT), info, 32))

function keys (name, period, secret) {
  const ikm = Buffer.concat([utf8(name), Buffer.from([0]), secret == null ? Buffer.alloc(0) : utf8(secret)])
  return {
    lookupKey: hkdf(ikm, Buffer.concat([utf8(LOOKUP_INFO), u64be(period)])),
    encryptionKey: hkdf(ikm, Buffer.concat([utf8(ENCRYPT_INFO), u64be(period)]))
  }
}

// Ed25519 from a 32-byte seed (RFC 8410 PKCS#8 prefix)
function ed25519 (seed) {
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x, 'base64url')
  // libp2p PublicKey protobuf: field 1 (KeyType) = 1 (Ed25519), field 2 (Data) = 32 bytes
  return { privateKey, raw, proto: Buffer.concat([Buffer.from([0x08, 0x01, 0x12, 0x20]), raw]) }
}

const entitySeed = Buffer.from(wire.seed, 'hex') // 0x01..0x20, the key that signed wire.json's record
const entity = ed25519(entitySeed)
const writerSeedOf = (lookupKey) => hkdf(entitySeed, Buffer.concat([utf8(WRITER_INFO), lookupKey]))

function derivation (name, secret, period) {
  const { lookupKey, encryptionKey } = keys(name, period, secret)
  const writerSeed = writerSeedOf(lookupKey)
  return {
    name,
    ...(secret == null ? {} : { secret }),
    period,
    lookupKey: hex(lookupKey),
    encryptionKey: hex(encryptionKey),
    writerSeed: hex(writerSeed),
    writerPublicKey: hex(ed25519(writerSeed).proto)
  }
}

function signEnvelope (writer, fields) {
  const record = Buffer.from(PrivateRecord.encode(fields).finish())
  const signature = sign(null, Buffer.concat([utf8(DOMAIN), Buffer.from([0]), record]), writer.privateKey)
  return { record, signature, signedPrivateRecord: Buffer.from(SignedPrivateRecord.encode({ record, signature }).finish()) }
}

// The sealed vector: wire.json's record (name "echo", signed at seq 1700000000000,
// so in period 19675) sealed for its own name with a secret.
const name = wire.name
const secret = 'invite-123'
const period = Math.floor(wire.seq / PERIOD_MS)
const seq = wire.seq + 1
const expires = wire.expires
const nonce = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex') // FIXED FOR THIS VECTOR ONLY: real records draw a random nonce
const { lookupKey, encryptionKey } = keys(name, period, secret)
const writer = ed25519(writerSeedOf(lookupKey))
const message = Buffer.from(SignedRecord.encode({ record: Buffer.from(wire.record, 'hex'), signature: Buffer.from(wire.signature, 'hex') }).finish())
const bucket = BUCKETS.find(b => 4 + message.length + NONCE_BYTES + TAG_BYTES <= b)
const plaintext = Buffer.concat([u32be(message.length), message, Buffer.alloc(bucket - NONCE_BYTES - TAG_BYTES - 4 - message.length)])
const aad = Buffer.concat([lookupKey, u64be(period)])
const cipher = createCipheriv('chacha20-poly1305', encryptionKey, nonce, { authTagLength: TAG_BYTES })
cipher.setAAD(aad, { plaintextLength: plaintext.length })
const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
const ciphertext = Buffer.concat([nonce, body, cipher.getAuthTag()])
const sealed = signEnvelope(writer, { lookupKey, writerPublicKey: writer.proto, period, seq, expires, ciphertext })
const tombstoneSeq = seq + 1
const tombstone = signEnvelope(writer, { lookupKey, writerPublicKey: writer.proto, period, seq: tombstoneSeq, expires: tombstoneSeq, ciphertext: Buffer.alloc(0) })

const vectors = {
  comment: 'Generated by spec/vectors/generate-private.mjs from spec/proto/rendezvous.proto and node:crypto (spec/private-names.md). The sealed record uses a FIXED nonce; real records draw a random one.',
  constants: { salt: SALT, lookupInfo: LOOKUP_INFO, encryptInfo: ENCRYPT_INFO, writerInfo: WRITER_INFO, domain: DOMAIN, periodMs: PERIOD_MS, buckets: BUCKETS },
  entity: { seed: hex(entitySeed), publicKey: hex(entity.proto) },
  derivations: [derivation('chat', undefined, 20000), derivation('chat', 'invite-123', 20000)],
  sealed: {
    ...derivation(name, secret, period),
    seq,
    expires,
    nonce: hex(nonce),
    signedRecord: hex(message),
    bucket,
    aad: hex(aad),
    ciphertext: hex(ciphertext),
    record: hex(sealed.record),
    signature: hex(sealed.signature),
    signedPrivateRecord: hex(sealed.signedPrivateRecord),
    tombstone: { seq: tombstoneSeq, record: hex(tombstone.record), signature: hex(tombstone.signature) }
  }
}

const text = JSON.stringify(vectors, null, 2) + '\n'
const out = here('./private.json')
if (process.argv.includes('--check')) {
  if (readFileSync(out, 'utf8') !== text) { console.error('spec/vectors/private.json is out of date: run node spec/vectors/generate-private.mjs'); process.exit(1) }
} else {
  writeFileSync(out, text)
  console.log(`wrote ${out}`)
}

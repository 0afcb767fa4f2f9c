// Generates spec/vectors/identity.json from spec/proto/identity.proto with code
// that shares nothing with the packages: protobufjs parsing the .proto,
// node:crypto for HKDF, scrypt, ChaCha20-Poly1305, SHA-256 and Ed25519, and its
// own base32 and base58. The identity package's tests check they produce the same bytes.
//   node spec/vectors/generate-identity.mjs          (rewrite identity.json)
//   node spec/vectors/generate-identity.mjs --check  (fail if identity.json differs)
import { createCipheriv, createHash, createPrivateKey, createPublicKey, hkdfSync, scryptSync, sign } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const root = protobuf.parse(readFileSync(here('../proto/identity.proto'), 'utf8')).root
const Certificate = root.lookupType('fara.identity.v1.Certificate')
const SignedCertificate = root.lookupType('fara.identity.v1.SignedCertificate')
const Revocation = root.lookupType('fara.identity.v1.Revocation')
const SignedRevocation = root.lookupType('fara.identity.v1.SignedRevocation')
const KeystoreContents = root.lookupType('fara.identity.v1.KeystoreContents')

const hex = (b) => Buffer.from(b).toString('hex')
const utf8 = (s) => Buffer.from(s, 'utf8')
const u32be = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const sha256 = (...parts) => createHash('sha256').update(Buffer.concat(parts)).digest()
// every Fara domain-separated message: utf8(domain) || 0x00 || data
const domainMessage = (domain, data) => Buffer.concat([utf8(domain), Buffer.from([0]), data])

// Ed25519 from a 32-byte seed (RFC 8410 PKCS#8 prefix); libp2p protobuf PublicKey = 08 01 12 20 || raw
function ed25519 (seed) {
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x, 'base64url')
  return { privateKey, raw, proto: Buffer.concat([Buffer.from([0x08, 0x01, 0x12, 0x20]), raw]) }
}

// PeerId: base58btc of the identity multihash of the protobuf key
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function base58 (bytes) {
  let n = BigInt('0x' + hex(bytes)); let s = ''
  while (n > 0n) { s = B58[Number(n % 58n)] + s; n /= 58n }
  for (const b of bytes) { if (b === 0) s = '1' + s; else break }
  return s
}
const peerIdOf = (proto) => base58(Buffer.concat([Buffer.from([0x00, proto.length]), proto]))

// RFC 4648 base32, lowercase, no padding, for byte strings whose bit length is a multiple of 5 (35 bytes = 56 characters)
const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
function base32 (bytes) {
  let n = BigInt('0x' + hex(bytes)); let s = ''
  for (let i = 0; i < (bytes.length * 8) / 5; i++) { s = B32[Number(n & 31n)] + s; n >>= 5n }
  return s
}
function unbase32 (text) {
  const n = [...text].reduce((acc, c) => (acc << 5n) | BigInt(B32.indexOf(c)), 0n)
  return Buffer.from(n.toString(16).padStart((text.length * 5) / 4, '0'), 'hex')
}

const NS_APP_IDENTITY = 'fara/identity/app/v1'
const CERTIFICATE_DOMAIN = 'fara/identity/certificate/v1'
const REVOCATION_DOMAIN = 'fara/identity/revocation/v1'
const NS_NAME = 'fara/identity/name/v1'
const NS_NAME_CHECKSUM = 'fara/identity/name-checksum/v1'
const NS_KEYSTORE_KEY = 'fara/identity/keystore/v1'
const NS_KEYSTORE_CHECKSUM = 'fara/identity/keystore-checksum/v1'

const deviceSeed = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1))
const device = ed25519(deviceSeed)

// application keys: HKDF-SHA256(ikm = device seed, salt = none, info = utf8(NS) || 0x00 || utf8(app) || 0x00 || uint32be(generation), 32)
function appKey (app, generation) {
  const info = Buffer.concat([utf8(NS_APP_IDENTITY), Buffer.from([0]), utf8(app), Buffer.from([0]), u32be(generation)])
  const seed = Buffer.from(hkdfSync('sha256', deviceSeed, Buffer.alloc(0), info, 32))
  const key = ed25519(seed)
  return { app, generation, info: hex(info), seed: hex(seed), publicKey: hex(key.proto), peerId: peerIdOf(key.proto), key }
}
const appKeys = [appKey('chat', 0), appKey('chat', 1), appKey('mail', 0)]
const chat0 = appKeys[0]

// certificate for chat generation 0, fixed times (ms since the epoch)
const notBefore = 1_700_000_000_000
const notAfter = notBefore + 365 * 24 * 60 * 60 * 1000
const certificate = Buffer.from(Certificate.encode({
  version: 1, devicePublicKey: device.proto, appPublicKey: chat0.key.proto, app: 'chat', generation: 0, notBefore, notAfter
}).finish())
const certificateSignature = sign(null, domainMessage(CERTIFICATE_DOMAIN, certificate), device.privateKey)

// revocation of chat generations below 1
const issued = 1_700_000_100_000
const revocation = Buffer.from(Revocation.encode({ devicePublicKey: device.proto, app: 'chat', belowGeneration: 1, issued }).finish())
const revocationSignature = sign(null, domainMessage(REVOCATION_DOMAIN, revocation), device.privateKey)

// self-certifying name: label '.' base32(KEYHASH || CHECKSUM || VERSION)
const keyHash = sha256(utf8(NS_NAME), Buffer.from([0]), device.proto)
const checksumOf = (hash, version) => sha256(utf8(NS_NAME_CHECKSUM), Buffer.from([0]), hash, Buffer.from([version])).subarray(0, 2)
const nameOf = (label, hash, version) => `${label}.${base32(Buffer.concat([hash, checksumOf(hash, version), Buffer.from([version])]))}`
const name = nameOf('chat', keyHash, 1)
const checksum = checksumOf(keyHash, 1)
// one mistyped character in the key part: the checksum no longer matches
const typoAt = 'chat.'.length + 10
const typo = name.slice(0, typoAt) + (name[typoAt] === 'a' ? 'b' : 'a') + name.slice(typoAt + 1)
const typoBody = unbase32(typo.slice('chat.'.length))
if (checksumOf(typoBody.subarray(0, 32), typoBody[34]).equals(typoBody.subarray(32, 34))) throw new Error('the typo keeps a valid checksum; pick another position')

// keystore file: header || ChaCha20-Poly1305(contents) || tag || SHA-256(utf8(NS) || 0x00 || header || ciphertext || tag)
const passphrase = 'correct horse battery staple'
const kdf = { N: 1024, r: 8, p: 1 }
const salt = Buffer.from(Array.from({ length: 16 }, (_, i) => 0xa0 + i))
const nonce = Buffer.from(Array.from({ length: 12 }, (_, i) => 0xb0 + i))
const header = Buffer.concat([utf8('FARAKEYS'), Buffer.from([1, 1, Math.log2(kdf.N), kdf.r, kdf.p, 1]), salt, nonce])
const stretched = scryptSync(utf8(passphrase.normalize('NFC')), salt, 32, kdf)
const fileKey = Buffer.from(hkdfSync('sha256', stretched, Buffer.alloc(0), utf8(NS_KEYSTORE_KEY), 32))
const contents = Buffer.from(KeystoreContents.encode({ deviceSeed, apps: [{ app: 'chat', generation: 1 }] }).finish())
const cipher = createCipheriv('chacha20-poly1305', fileKey, nonce, { authTagLength: 16 })
cipher.setAAD(header, { plaintextLength: contents.length })
const sealed = Buffer.concat([header, cipher.update(contents), cipher.final(), cipher.getAuthTag()])
const file = Buffer.concat([sealed, sha256(utf8(NS_KEYSTORE_CHECKSUM), Buffer.from([0]), sealed)])

const vectors = {
  comment: 'Generated by spec/vectors/generate-identity.mjs from spec/proto/identity.proto (spec/identity.md). Public keys are libp2p protobuf encodings; times are ms since the Unix epoch.',
  device: { seed: hex(deviceSeed), publicKey: hex(device.proto), peerId: peerIdOf(device.proto) },
  appKeys: appKeys.map(({ key: _key, ...rest }) => rest),
  certificate: {
    app: 'chat',
    generation: 0,
    notBefore,
    notAfter,
    domain: CERTIFICATE_DOMAIN,
    certificate: hex(certificate),
    signature: hex(certificateSignature),
    signed: hex(SignedCertificate.encode({ certificate, signature: certificateSignature }).finish())
  },
  revocation: {
    app: 'chat',
    belowGeneration: 1,
    issued,
    domain: REVOCATION_DOMAIN,
    revocation: hex(revocation),
    signature: hex(revocationSignature),
    signed: hex(SignedRevocation.encode({ revocation, signature: revocationSignature }).finish())
  },
  names: {
    valid: [{ label: 'chat', keyHash: hex(keyHash), checksum: hex(checksum), version: 1, name }],
    invalid: [
      { name: typo, reason: 'checksum' },
      { name: nameOf('chat', keyHash, 2), reason: 'version' },
      { name: name.slice(0, -1), reason: 'length' },
      { name: `-chat${name.slice(4)}`, reason: 'label' },
      { name: name.toUpperCase(), reason: 'label' }
    ]
  },
  keystore: {
    passphrase,
    kdf,
    salt: hex(salt),
    nonce: hex(nonce),
    apps: [{ app: 'chat', generation: 1 }],
    contents: hex(contents),
    fileKey: hex(fileKey),
    file: hex(file)
  }
}

const text = JSON.stringify(vectors, null, 2) + '\n'
const out = here('./identity.json')
if (process.argv.includes('--check')) {
  let current = ''
  try { current = readFileSync(out, 'utf8') } catch { /* missing: out of date */ }
  if (current !== text) { console.error('spec/vectors/identity.json is out of date: run node spec/vectors/generate-identity.mjs'); process.exit(1) }
} else {
  writeFileSync(out, text)
  console.log(`wrote ${out}`)
}

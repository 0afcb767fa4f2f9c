import { publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { CERTIFICATE_DOMAIN, CERTIFICATE_VERSION, REVOCATION_DOMAIN } from '../constants.ts'
import { signDomain } from '../sign.ts'
import { CertificateType, RevocationType } from './codec.ts'
import type { SignedCertificate, SignedRevocation } from '../certificate.ts'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

/** The fields of a certificate the device key signs (spec/identity.md#certificates). */
export interface CertificateFields {
  appPublicKey: PublicKey
  app: string
  generation: number
  /** ms since the Unix epoch */
  notBefore: number
  /** ms since the Unix epoch */
  notAfter: number
}

/** Encode a Certificate and sign it with the device key under {@link CERTIFICATE_DOMAIN}. */
export async function issueCertificate (deviceKey: PrivateKey, fields: CertificateFields): Promise<SignedCertificate> {
  const certificate = CertificateType.encode({
    version: CERTIFICATE_VERSION,
    devicePublicKey: publicKeyToProtobuf(deviceKey.publicKey),
    appPublicKey: publicKeyToProtobuf(fields.appPublicKey),
    app: fields.app,
    generation: fields.generation,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter
  }).finish()
  return { certificate, signature: await signDomain(deviceKey, CERTIFICATE_DOMAIN, certificate) }
}

/** The fields of a revocation the device key signs (spec/identity.md#revocations). */
export interface RevocationFields {
  app: string
  belowGeneration: number
  /** ms since the Unix epoch */
  issued: number
}

/** Encode a Revocation and sign it with the device key under {@link REVOCATION_DOMAIN}. */
export async function issueRevocation (deviceKey: PrivateKey, fields: RevocationFields): Promise<SignedRevocation> {
  const revocation = RevocationType.encode({
    devicePublicKey: publicKeyToProtobuf(deviceKey.publicKey),
    app: fields.app,
    belowGeneration: fields.belowGeneration,
    issued: fields.issued
  }).finish()
  return { revocation, signature: await signDomain(deviceKey, REVOCATION_DOMAIN, revocation) }
}

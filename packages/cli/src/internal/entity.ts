import { access } from 'node:fs/promises'
import { join } from 'node:path'
import { KEYSTORE_FILE } from '@fara/identity/constants'
import { ENV } from '../constants.ts'
import { MissingSettingError } from '../errors.ts'
import { backendOf } from './backends.ts'
import type { BackendContext } from './backends.ts'
import type { Settings } from './config.ts'
import type { EntityInit, RendezvousFactory } from '@fara/sdk'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * The rendezvous of the settings: a rendezvous point, a DNS zone or the DHT
 * (internal/backends.ts); none given is a usage error that says where to give it.
 */
export async function rendezvousOf (command: string, settings: Settings, ctx: BackendContext = { args: { values: {}, positionals: [] }, cwd: process.cwd(), signal: new AbortController().signal }): Promise<RendezvousFactory> {
  return backendOf(command, settings, ctx)
}

/** True if `dir` holds an encrypted keystore. */
export async function isEncryptedKeystore (dir: string): Promise<boolean> {
  return access(join(dir, KEYSTORE_FILE)).then(() => true, () => false)
}

/**
 * The keystore as `createEntity` takes it: encrypted (created on first use)
 * when a passphrase is set, else a plain key directory. An encrypted
 * keystore without a passphrase is refused rather than shadowed by plain keys.
 */
export async function keystoreOf (settings: Settings): Promise<NonNullable<EntityInit['keystore']>> {
  const dir = settings.keystore.value
  const passphrase = settings.passphrase.value
  if (passphrase != null) return { dir, passphrase }
  if (await isEncryptedKeystore(dir)) {
    throw new MissingSettingError(`keystore ${dir} is encrypted: set ${ENV.PASSPHRASE} or pass --passphrase-file <file>`)
  }
  return dir
}

/** The private-name option of the SDK from `--private` / `--secret`. */
export function privateOf (isPrivate: boolean, secret: string | undefined): { private?: true | { secret: string } } {
  if (secret != null) return { private: { secret } }
  return isPrivate ? { private: true } : {}
}

/** The TCP port of the first address that is not a relay circuit, or null. */
export function portOf (addrs: Multiaddr[]): number | null {
  const direct = addrs.find(a => !a.getComponents().some(c => c.name === 'p2p-circuit'))
  const tcp = direct?.getComponents().find(c => c.name === 'tcp')?.value
  return tcp == null ? null : Number(tcp)
}

/** A peer id shortened for human output: `12D3…abcdef`. */
export function short (id: { toString: () => string }): string {
  const s = id.toString()
  return s.length <= 16 ? s : `${s.slice(0, 6)}…${s.slice(-6)}`
}

import { access, readdir } from 'node:fs/promises'
import { createKeystore, identityPath, loadIdentity, loadOrCreateIdentity, openKeystore, selfCertifyingName } from '@fara/identity'
import { NAME_LABEL_PATTERN } from '@fara/identity/constants'
import { CLIENT_APP, ExitCode } from '../constants.ts'
import { MissingSettingError, UsageError } from '../errors.ts'
import { checkAppName, positionalsOf } from '../internal/args.ts'
import { KEYSTORE_OPTIONS, settingFlagsOf } from '../internal/command.ts'
import { keyUse } from '../internal/allow.ts'
import { isEncryptedKeystore } from '../internal/entity.ts'
import type { Command, Context } from '../internal/command.ts'
import type { Settings } from '../internal/config.ts'
import type { AppIdentity, Identity, Keystore } from '@fara/identity'

const NAME = 'id'
const ACTIONS = ['create', 'list', 'show', 'rotate'] as const
type Action = typeof ACTIONS[number]

/** One identity as printed. */
function report (ctx: Context, event: string, identity: Identity | AppIdentity, settings: Settings, extra: string[] = []): void {
  const app = identity as Partial<AppIdentity>
  const device = app.devicePublicKey
  const label = identity.app.split('.')[0] ?? identity.app
  const name = device != null && NAME_LABEL_PATTERN.test(label) ? selfCertifyingName(label, device) : undefined
  const s = ctx.out.out
  ctx.out.result(event, {
    app: identity.app,
    peerId: identity.peerId.toString(),
    keystore: settings.keystore.value,
    encrypted: device != null,
    generation: app.generation ?? null,
    name: name ?? null
  }, [
    `${s.bold(identity.app)}  ${identity.peerId.toString()}`,
    ...(app.generation == null ? [] : [`  generation        ${app.generation}`]),
    ...(name == null ? [] : [`  self-certifying   ${name}  ${s.dim('(fara serve this name: it stays yours across rotations)')}`]),
    `  keystore          ${settings.keystore.value}${device == null ? ' (plain key directory)' : ' (encrypted)'}`,
    ...extra
  ])
}

async function openEncrypted (ctx: Context, settings: Settings, create: boolean): Promise<Keystore> {
  const dir = settings.keystore.value
  const passphrase = settings.passphrase.value!
  ctx.out.status('unlocking', { keystore: dir }, `unlocking ${dir} (scrypt)…`)
  if (create && !await isEncryptedKeystore(dir)) {
    const store = await createKeystore(dir, { passphrase, signal: ctx.signal })
    ctx.out.status('keystore-created', { keystore: dir, device: store.device.peerId.toString() }, `created an encrypted keystore in ${dir}`)
    return store
  }
  return openKeystore(dir, { passphrase, signal: ctx.signal })
}

/** The plain-directory identity of `app`, or a clear failure naming the command that creates it. */
async function plainIdentity (dir: string, app: string): Promise<Identity> {
  try {
    return await loadIdentity(identityPath(dir, app), { app })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`no identity for ${JSON.stringify(app)} in ${dir} (fara id create ${app})`)
    throw err
  }
}

async function list (ctx: Context, settings: Settings): Promise<void> {
  const dir = settings.keystore.value
  if (settings.passphrase.value != null || await isEncryptedKeystore(dir)) {
    if (settings.passphrase.value == null) throw new MissingSettingError(`keystore ${dir} is encrypted: set FARA_PASSPHRASE or pass --passphrase-file`)
    const store = await openEncrypted(ctx, settings, false)
    ctx.out.result('keystore', { keystore: dir, encrypted: true, device: store.device.peerId.toString() }, [
      `${ctx.out.out.bold('device')}  ${store.device.peerId.toString()}  ${ctx.out.out.dim(`(encrypted keystore ${dir})`)}`,
      '  application keys are derived from the device key on demand: fara id show <app>'
    ])
    return
  }
  let files: string[]
  try {
    files = (await readdir(dir)).filter(f => f.endsWith('.key')).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    files = []
  }
  if (files.length === 0 && !ctx.out.json) ctx.out.status('empty', {}, `no identities in ${dir} yet (fara id create <app>)`)
  for (const file of files) {
    const app = file.slice(0, -'.key'.length)
    try {
      report(ctx, 'identity', await plainIdentity(dir, app), settings)
    } catch (err) {
      ctx.out.warn('unreadable', { file, error: (err as Error).name, message: (err as Error).message }, `${file}: ${(err as Error).message}`)
    }
  }
}

async function run (ctx: Context): Promise<ExitCode> {
  const [action, appArg] = positionalsOf(NAME, ctx.args.positionals, ['create|list|show|rotate', 'app'], 1)
  if (!ACTIONS.includes(action as Action)) throw new UsageError(`unknown action ${JSON.stringify(action)}: create, list, show or rotate`, NAME)
  const settings = await ctx.settings(settingFlagsOf(NAME, ctx.args))
  if (action === 'list') {
    if (appArg != null) throw new UsageError('fara id list takes no <app>', NAME)
    await list(ctx, settings)
    return ExitCode.OK
  }
  if (appArg == null && action !== 'show') throw new UsageError(`missing <app>: fara id ${action} <app>`, NAME)
  // `fara id show` alone: the key `fara connect --stable-identity` uses
  const app = checkAppName(NAME, '<app>', appArg ?? CLIENT_APP)
  const dir = settings.keystore.value
  const encrypted = settings.passphrase.value != null
  if (!encrypted && await isEncryptedKeystore(dir)) throw new MissingSettingError(`keystore ${dir} is encrypted: set FARA_PASSPHRASE or pass --passphrase-file`)
  if (action === 'rotate') {
    if (!encrypted) throw new MissingSettingError('rotation needs an encrypted keystore (its device key keeps the name across rotations): set FARA_PASSPHRASE')
    const store = await openEncrypted(ctx, settings, false)
    const before = store.generation(app)
    report(ctx, 'rotated', await store.rotate(app, { signal: ctx.signal }), settings, [`  rotated from generation ${before}; names held by the device key stay valid`])
    return ExitCode.OK
  }
  if (encrypted) {
    const store = await openEncrypted(ctx, settings, action === 'create')
    const identity = await store.app(app)
    report(ctx, action === 'create' ? 'created' : 'identity', identity, settings, keyUse(app, identity.peerId.toString()))
    return ExitCode.OK
  }
  if (action === 'create') {
    const exists = await access(identityPath(dir, app)).then(() => true, () => false)
    if (exists) throw new Error(`${JSON.stringify(app)} already has a key in ${dir} (fara id show ${app})`)
    const created = await loadOrCreateIdentity(dir, app)
    report(ctx, 'created', created, settings, keyUse(app, created.peerId.toString()))
    return ExitCode.OK
  }
  const identity = await plainIdentity(dir, app)
  report(ctx, 'identity', identity, settings, keyUse(app, identity.peerId.toString()))
  return ExitCode.OK
}

/** `fara id create|list|show|rotate`. */
export const id: Command = {
  name: NAME,
  summary: 'application identities: create, list, show, rotate (one key per application)',
  usage: ['id create <app>', 'id list', 'id show [<app>]', 'id rotate <app>'],
  description: [
    'Every application has its own Ed25519 key. With a passphrase (FARA_PASSPHRASE or --passphrase-file) the',
    'keystore is encrypted and holds one device key; each application key is derived from it and certified by it,',
    'so `rotate` gives the application a new key while names tied to the device (self-certifying names) stay valid.',
    'Without a passphrase the keystore is a plain directory of <app>.key files (mode 0600), for development.',
    `The key (peer id) that \`show\` prints is what a service's --allow lists; \`fara connect --identity <app>\` proves it.`,
    `\`fara id show\` without <app> shows ${CLIENT_APP}, the key of \`fara connect --stable-identity\`.`
  ],
  options: { ...KEYSTORE_OPTIONS },
  examples: [
    ['fara id create web', 'a key for the application "web" (plain keystore)'],
    ['FARA_PASSPHRASE=… fara id show web', 'its key, generation and self-certifying name (encrypted keystore)'],
    ['FARA_PASSPHRASE=… fara id rotate web', 'move "web" to a new key'],
    ['fara id list --json', 'every identity, one JSON line each'],
    ['fara id show laptop --json | jq -r .peerId', 'the key to give a service that admits only listed keys (fara serve … --allow <key>)']
  ],
  run
}

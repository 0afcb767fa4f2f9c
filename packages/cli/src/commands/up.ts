import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ENV, ExitCode } from '../constants.ts'
import { ConfigError, MissingSettingError, UsageError } from '../errors.ts'
import { checkAppName, flagOf, listOf, positionalsOf, stringOf } from '../internal/args.ts'
import { KEYSTORE_OPTIONS, RENDEZVOUS_OPTIONS, exitAfterStop, settingFlagsOf, untilAborted } from '../internal/command.ts'
import { keystoreOf, portOf, rendezvousOf } from '../internal/entity.ts'
import { describeFailure } from '../internal/failure.ts'
import { sdk, transport } from '../internal/lazy.ts'
import { watchGuessing, watchRelays } from '../internal/serving.ts'
import { systemdUnit } from '../internal/systemd.ts'
import { Supervisor } from '../internal/up-runner.ts'
import type { Command, Context } from '../internal/command.ts'
import type { Settings, SettingFlags } from '../internal/config.ts'
import type { Change, Changes } from '../internal/up-runner.ts'

const NAME = 'up'

/** The application `fara up` serves as when neither --app nor the config's "app" names one. */
export const UP_APP = 'fara-up'

/** The settings a reload cannot change: they shape the entity, so they take a restart. */
const RESTART_KEYS = ['rendezvous', 'bootstrap', 'keystore', 'passphrase', 'relays', 'listen', 'app'] as const

function flagsOf (ctx: Context): SettingFlags {
  const app = stringOf(ctx.args, 'app')
  return { ...settingFlagsOf(NAME, ctx.args), listen: listOf(ctx.args, 'listen'), app: app == null ? undefined : checkAppName(NAME, '--app', app) }
}

/** The settings, which must come with a config file that lists something to run. */
async function settingsOf (ctx: Context, flags: SettingFlags): Promise<Settings & { configPath: string }> {
  const settings = await ctx.settings(flags)
  if (settings.configPath == null) throw new MissingSettingError(`fara up runs what a config file lists, and there is none: give --config <file> (or ${ENV.CONFIG})`)
  return settings as Settings & { configPath: string }
}

/** `--print-systemd-unit`: the unit, with the environment the settings came from (never a passphrase). */
function printUnit (ctx: Context, settings: Settings & { configPath: string }): ExitCode {
  const environment: Record<string, string> = {}
  const fromOutside = (s: { source: string }): boolean => s.source === 'flag' || s.source === 'env'
  if (fromOutside(settings.rendezvous)) environment[ENV.RENDEZVOUS] = settings.rendezvous.value.join(',')
  if (fromOutside(settings.bootstrap)) environment[ENV.BOOTSTRAP] = settings.bootstrap.value.join(',')
  // the keystore this process would use, whatever HOME the service gets
  if (settings.keystore.source !== 'config') environment[ENV.KEYSTORE] = settings.keystore.value
  const passphraseFile = stringOf(ctx.args, 'passphrase-file') ?? (ctx.env[ENV.PASSPHRASE] == null || ctx.env[ENV.PASSPHRASE] === '' ? ctx.env[ENV.PASSPHRASE_FILE] : undefined)
  if (passphraseFile != null && passphraseFile !== '') environment[ENV.PASSPHRASE_FILE] = resolve(ctx.cwd, passphraseFile)
  if (fromOutside(settings.relays)) environment[ENV.RELAYS] = settings.relays.value.join(',')
  if (fromOutside(settings.listen)) environment[ENV.LISTEN] = settings.listen.value.join(',')
  if (settings.passphrase.source === 'env' && environment[ENV.PASSPHRASE_FILE] == null) {
    ctx.out.warn('passphrase-not-carried', { variable: ENV.PASSPHRASE }, `${ENV.PASSPHRASE} is set, and a unit file would show it: put the passphrase in a file (mode 600) and set ${ENV.PASSPHRASE_FILE} or "passphraseFile" instead`)
  }
  const app = settings.app.source === 'flag' ? ['--app', settings.app.value!] : []
  const unit = systemdUnit({
    node: process.execPath,
    bin: fileURLToPath(new URL('../../bin/fara.js', import.meta.url)),
    config: settings.configPath,
    args: app,
    environment
  })
  ctx.out.result('systemd-unit', { unit, config: settings.configPath }, unit.trimEnd())
  return ExitCode.OK
}

function names (list: Change[]): string {
  return list.map(c => `${c.kind} ${JSON.stringify(c.name)}`).join(', ')
}

function reloadedLine (c: Changes): string {
  const parts = [['added', c.added], ['removed', c.removed], ['restarted', c.changed]] as const
  const said = parts.filter(([, l]) => l.length > 0).map(([w, l]) => `${w} ${names(l)}`)
  return `reloaded: ${said.length === 0 ? 'nothing changed' : said.join('; ')}`
}

async function run (ctx: Context): Promise<ExitCode> {
  positionalsOf(NAME, ctx.args.positionals, [])
  // a SIGHUP before the services run is kept for after: it must not end the process (its default)
  let startedUp: () => void = () => {}
  let reloads = new Promise<void>(resolve => { startedUp = resolve })
  let reload: () => Promise<void> = async () => {}
  const onHangUp = (): void => { reloads = reloads.then(async () => reload()) }
  const hangUps = flagOf(ctx.args, 'print-systemd-unit') ? undefined : onHangUp
  if (hangUps != null) process.on('SIGHUP', hangUps)
  try {
    const flags = flagsOf(ctx)
    const settings = await settingsOf(ctx, flags)
    if (hangUps == null) return printUnit(ctx, settings)
    if (settings.services.value.length === 0 && settings.tunnels.value.length === 0) {
      throw new ConfigError(`config file ${settings.configPath}: lists no "services" and no "tunnels": nothing to run`)
    }
    const [{ createEntity }, { checkListenAddrs, checkRelayAddrs }] = await Promise.all([sdk(), transport()])
    const listen = settings.listen.value.length === 1 && settings.listen.value[0] === 'none' ? [] : settings.listen.value
    try {
      checkListenAddrs(listen)
      checkRelayAddrs(settings.relays.value)
    } catch (err) {
      throw new UsageError(`listen or relays: ${(err as Error).message}`, NAME)
    }
    const app = settings.app.value ?? UP_APP
    const rendezvous = await rendezvousOf(NAME, settings, ctx)
    const keystore = await keystoreOf(settings)
    ctx.out.status('starting', { app, config: settings.configPath }, `starting ${app} from ${settings.configPath}`)
    const entity = await createEntity({ app, rendezvous, keystore, listen, relays: settings.relays.value })
    const supervisor = new Supervisor(ctx, entity)
    try {
      watchRelays(ctx, entity)
      watchGuessing(ctx, entity)
      ctx.out.result('ready', { app, peerId: entity.peerId.toString(), port: portOf(entity.multiaddrs), addrs: entity.multiaddrs.map(String), config: settings.configPath },
        [`${ctx.out.out.green('up')} as ${ctx.out.out.bold(app)} (${entity.peerId.toString()}) from ${settings.configPath}`, `  reload  kill -HUP ${process.pid}`])
      await supervisor.apply(settings.services.value, settings.tunnels.value)
      const shaping = RESTART_KEYS.map(k => JSON.stringify(settings[k].value))
      reload = async () => {
        if (ctx.signal.aborted) return
        let next: Settings & { configPath: string }
        try {
          next = await settingsOf(ctx, flags)
        } catch (err) {
          const f = describeFailure(err)
          ctx.out.warn('reload-failed', { error: f.name, message: f.message }, `reload failed, still running the previous config: ${f.message}`)
          return
        }
        const changes = await supervisor.apply(next.services.value, next.tunnels.value)
        const restartNeeded = RESTART_KEYS.filter((k, i) => JSON.stringify(next[k].value) !== shaping[i])
        ctx.out.status('reloaded', { ...changes, restartNeeded }, reloadedLine(changes) +
          (restartNeeded.length === 0 ? '' : ` (${restartNeeded.join(', ')} changed: that takes a restart)`))
      }
      startedUp()
      await untilAborted(ctx.signal)
      ctx.out.status('stopping', {}, 'stopping: withdrawing every name, closing every tunnel')
      await supervisor.stopAll()
    } finally {
      await entity.close()
    }
    return exitAfterStop(ctx.signal)
  } finally {
    if (hangUps != null) process.off('SIGHUP', hangUps)
  }
}

/** `fara up [--config <file>]`. */
export const up: Command = {
  name: NAME,
  summary: 'run every service and tunnel the config file lists, in one process (one key); SIGHUP reloads it',
  usage: ['up [--config <file>] [options]', 'up --print-systemd-unit [--config <file>]'],
  description: [
    'Serves every entry of the config file\'s "services" (as fara serve) and opens every entry of its "tunnels"',
    '(as fara connect --listen), from one entity: one key (the config\'s "app", default fara-up), one connection',
    'to the rendezvous point. SIGHUP re-reads the file: entries added are started, removed ones stopped (the name',
    'withdrawn, the listener closed), changed ones restarted; a file that does not check out is reported',
    '(`reload-failed`) and the running set kept. Runs until SIGINT/SIGTERM, then withdraws every name.',
    'Entry keys: services {name, forward | forwardUdp, udpIdle, private, secret, allow}; tunnels {name, listen |',
    'listenUdp, private, secret, maxConnections, udpIdle, maxFlows}. fara connect and fara resolve look a name the',
    'file lists as private up privately, with its secret, without --private/--secret.'
  ],
  options: {
    'print-systemd-unit': { type: 'boolean', help: 'print a systemd unit that runs this (ExecReload sends SIGHUP) and exit' },
    app: { type: 'string', value: '<app>', help: `application (key) that serves every name (config "app"; default ${UP_APP})` },
    relay: { type: 'string', multiple: true, value: '<multiaddr>', help: 'hold a slot on this relay, to be reachable behind NAT (env FARA_RELAYS)' },
    listen: { type: 'string', multiple: true, value: '<multiaddr>', help: 'where the entity listens (env FARA_LISTEN; default /ip4/0.0.0.0/tcp/0); `none` with --relay' },
    ...RENDEZVOUS_OPTIONS,
    ...KEYSTORE_OPTIONS
  },
  examples: [
    ['fara up --config /etc/fara/up.json', 'run the services and tunnels that file lists'],
    ['fara up --config up.json --rendezvous dht --bootstrap /ip4/203.0.113.7/tcp/4001/p2p/12D3KooW…', 'the same through the DHT, joined through that node (or "rendezvous": ["dht"], "bootstrap": […] in the file)'],
    ['kill -HUP "$(pidof -s fara)"', 'apply an edited config file without dropping what did not change'],
    ['fara up --config /etc/fara/up.json --print-systemd-unit | sudo tee /etc/systemd/system/fara.service', 'install it as a service (then: systemctl enable --now fara; systemctl reload fara after an edit)'],
    ['fara up --config up.json --json', 'one JSON line per event: started, stopped, reloaded, reload-failed, …']
  ],
  run
}

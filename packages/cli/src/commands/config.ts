import { ExitCode } from '../constants.ts'
import { listOf, positionalsOf } from '../internal/args.ts'
import { KEYSTORE_OPTIONS, RENDEZVOUS_OPTIONS, settingFlagsOf } from '../internal/command.ts'
import type { Command, Context } from '../internal/command.ts'

const NAME = 'config'

async function run (ctx: Context): Promise<ExitCode> {
  positionalsOf(NAME, ctx.args.positionals, [])
  const settings = await ctx.settings({ ...settingFlagsOf(NAME, ctx.args), listen: listOf(ctx.args, 'listen') })
  const { configPath, passphrase, secret, services, tunnels, ...rest } = settings
  const names = (list: Array<{ name: string, private?: unknown }>): string[] => list.map(e => e.private == null ? e.name : `${e.name} (private)`)
  const shown = {
    ...rest,
    // what `fara up` runs, by name: the entries may hold secrets
    services: { value: names(services.value), source: services.source },
    tunnels: { value: names(tunnels.value), source: tunnels.source },
    // never printed: only whether they are set, and where from
    passphrase: { value: passphrase.value == null ? null : '(set)', source: passphrase.source },
    secret: { value: secret.value == null ? null : '(set)', source: secret.source }
  }
  const s = ctx.out.out
  ctx.out.result('config', { configFile: configPath ?? null, settings: shown }, [
    `${s.bold('config file')}  ${configPath ?? s.dim('(none)')}`,
    ...Object.entries(shown).map(([key, { value, source }]) => {
      const text = Array.isArray(value) ? (value.length === 0 ? s.dim('(none)') : value.join(', ')) : (value ?? s.dim('(none)'))
      return `${key.padEnd(11)}  ${text}  ${s.dim(`[${source}]`)}`
    })
  ])
  return ExitCode.OK
}

/** `fara config`: the settings in effect and where each came from. */
export const config: Command = {
  name: NAME,
  summary: 'show the settings in effect and where each comes from (flag, env, config file, default)',
  usage: ['config [options]'],
  description: [
    'Precedence: command-line flags > environment variables > the config file > defaults. The config file is',
    '--config <file>, else $FARA_CONFIG, else $XDG_CONFIG_HOME/fara/config.json (~/.config/fara/config.json).',
    'It holds JSON: {"rendezvous": […], "keystore": "…", "passphraseFile": "…", "relays": […], "listen": […],',
    '"dataDir": "…", "app": "…", "services": […], "tunnels": […]} (the last three for `fara up`); relative paths are',
    'relative to the file. Passphrase and secrets are never printed.'
  ],
  options: {
    ...RENDEZVOUS_OPTIONS,
    ...KEYSTORE_OPTIONS,
    relay: { type: 'string', multiple: true, value: '<multiaddr>', help: 'as for fara serve' },
    listen: { type: 'string', multiple: true, value: '<multiaddr>', help: 'as for fara serve' },
    'data-dir': { type: 'string', value: '<dir>', help: 'as for fara rendezvous' },
    secret: { type: 'string', value: '<secret>', help: 'as for fara serve' }
  },
  examples: [['fara config', 'what fara would use here'], ['fara config --json', 'the same, as JSON']],
  run
}

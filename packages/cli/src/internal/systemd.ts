// `fara up --print-systemd-unit`: a unit file that runs `fara up` as a service
// (systemd.service(5), systemd.exec(5), systemd.syntax(7)).
import { userInfo } from 'node:os'
import { ENV } from '../constants.ts'

/** What the unit runs. */
export interface UnitInit {
  /** Absolute path of node. */
  node: string
  /** Absolute path of the fara bin file. */
  bin: string
  /** Absolute path of the config file. */
  config: string
  /** Further arguments of `fara up` (flags given now that the config file does not hold). */
  args?: string[]
  /** Environment the service needs: variable → value. */
  environment: Record<string, string>
  /** The user the service runs as (default: this one). */
  user?: string
}

/** A word of a command line or an assignment, quoted for systemd (systemd.syntax(7); `%` is a specifier, written `%%`). */
export function unitWord (text: string): string {
  const escaped = text.replace(/%/g, '%%')
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

/** The settings `fara up` takes from the environment that a unit has to carry (never the passphrase itself). */
export const UNIT_ENV = [ENV.RENDEZVOUS, ENV.BOOTSTRAP, ENV.KEYSTORE, ENV.PASSPHRASE_FILE, ENV.RELAYS, ENV.LISTEN] as const

/** The text of the unit. */
export function systemdUnit (init: UnitInit): string {
  const user = init.user ?? userInfo().username
  return [
    '[Unit]',
    'Description=Fara services and tunnels (fara up)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${unitWord(user)}`,
    `ExecStart=${[init.node, init.bin, 'up', '--config', init.config, ...(init.args ?? [])].map(unitWord).join(' ')}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    'Restart=on-failure',
    'RestartSec=5',
    ...Object.entries(init.environment).map(([k, v]) => `Environment=${unitWord(`${k}=${v}`)}`),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    ''
  ].join('\n')
}

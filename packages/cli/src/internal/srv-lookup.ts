// `fara resolve --srv _service._proto.<domain>`: an SRV lookup in ordinary DNS, in the order
// RFC 2782 says to try the targets (spec/adapters.md#srv-lookup). No Fara record is involved:
// the answer is unsigned, and it works for any SRV name (`_imaps._tcp.example.com` as well as
// the `<name>._fara._tcp.<zone>` records that `fara serve --srv` publishes).
import { ExitCode } from '../constants.ts'
import { UsageError } from '../errors.ts'
import { stringOf } from './args.ts'
import { parseDnsServer } from './backends.ts'
import type { OptionSpec } from './args.ts'
import type { Context } from './command.ts'

/** `fara resolve` options of the SRV lookup. */
export const SRV_RESOLVE_OPTIONS: Record<string, OptionSpec> = {
  srv: { type: 'string', value: '<_service._tcp.domain>', help: 'look up this SRV name in DNS instead of a Fara name; prints the targets in RFC 2782 order (priority, then weighted random)' },
  'dns-server': { type: 'string', value: '<ip[:port]>', help: 'with --srv: ask this DNS server (default: the system\'s resolvers)' }
}

/** A DNS name as RFC 1035 §2.3.4 bounds it (labels of 1 to 63 octets, 253 characters in all); SRV labels start with `_`. */
const DNS_NAME = /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$/

/** True if the command line asks for an SRV lookup (`--dns-server` alone is a usage error). */
export function wantsSrvLookup (command: string, ctx: Context): boolean {
  if (stringOf(ctx.args, 'srv') != null) return true
  if (stringOf(ctx.args, 'dns-server') != null) throw new UsageError('--dns-server goes with --srv <name> (a Fara name in a DNS zone is looked up with --rendezvous dns://<server>/<zone>)', command)
  return false
}

/** Run the lookup and print the targets: a table, or one `srv` JSON line. */
export async function resolveSrvName (command: string, ctx: Context): Promise<ExitCode> {
  const name = stringOf(ctx.args, 'srv')!
  if (ctx.args.positionals.length > 0) throw new UsageError(`--srv <name> takes the place of <name>: give one of them, got ${JSON.stringify(ctx.args.positionals[0])} as well`, command)
  for (const option of ['private', 'secret']) {
    if (ctx.args.values[option] != null) throw new UsageError(`--${option} does not go with --srv: an SRV record is public`, command)
  }
  if (!DNS_NAME.test(name)) throw new UsageError(`--srv must be a DNS name such as _imaps._tcp.example.com, got ${JSON.stringify(name)}`, command)
  const serverText = stringOf(ctx.args, 'dns-server')
  const server = serverText == null ? undefined : parseDnsServer(command, '--dns-server', serverText)
  const { resolveSrv } = await import('@fara/srv')
  const targets = await resolveSrv(name, { ...(server == null ? {} : { servers: [server] }), signal: ctx.signal })
  const rows = targets.map((t, i) => ({ order: i + 1, target: t.name, port: t.port, priority: t.priority, weight: t.weight }))
  const s = ctx.out.out
  const header = ['#', 'target', 'port', 'priority', 'weight']
  const cells = rows.map(r => [String(r.order), r.target, String(r.port), String(r.priority), String(r.weight)])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map(c => c[i]!.length)))
  const line = (c: string[]): string => `  ${c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd()}`
  ctx.out.result('srv', {
    name: name.replace(/\.$/, ''),
    server: server ?? null,
    targets: rows.map(({ target, port, priority, weight }) => ({ target, port, priority, weight }))
  }, [
    `${s.bold(name.replace(/\.$/, ''))}  ${s.dim(`(SRV, RFC 2782 order: try from the top; ${server == null ? 'system resolver' : `asked ${server}`}; not signed)`)}`,
    s.dim(line(header)),
    ...cells.map(line)
  ])
  return ExitCode.OK
}

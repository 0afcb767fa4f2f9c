// The netfilter state of one NAT router: an `ipset restore` script and an `iptables-restore`
// script, both loaded inside the router's namespace. spec/nat-lab.md#iptables-rules prints
// them for each NAT type; keep the two in step.
import { MAPPING_TIMEOUT_S } from '../constants.ts'
import type { NatType } from '../types.ts'

/** What a router NATs: its interfaces, its WAN address and the addresses of what sits behind it. */
export interface RouterPlan {
  type: NatType
  /** The router's address on its WAN interface `wan`. */
  wanAddress: string
  /** The addresses behind the LAN bridge `lan`: hosts, or the inner router of a double NAT. */
  inside: readonly string[]
}

export interface RouterRules {
  /** Input for `ipset restore` (empty when the type needs no set). */
  ipset: string
  /** Input for `iptables-restore`. */
  iptables: string
}

/** The rules that make a Linux router behave as a NAT of `plan.type`. */
export function routerRules (plan: RouterPlan): RouterRules {
  const sets: string[] = []
  const record: string[] = []
  const dnat: string[] = []
  const w = plan.wanAddress
  plan.inside.forEach((host, i) => {
    const k = i + 1
    if (plan.type === 'full-cone') {
      // endpoint-independent filtering: the ports this host has sent from, per protocol
      for (const [proto, set] of [['udp', `fc${k}u`], ['tcp', `fc${k}t`]] as const) {
        sets.push(`create ${set} bitmap:port range 0-65535 timeout ${MAPPING_TIMEOUT_S}`)
        record.push(`-A FORWARD -i lan -o wan -s ${host} -p ${proto} -j SET --add-set ${set} src --exist`)
        dnat.push(`-A PREROUTING -i wan -d ${w} -p ${proto} -m set --match-set ${set} dst -j DNAT --to-destination ${host}`)
      }
    } else if (plan.type === 'address-restricted') {
      // address-dependent filtering: (remote IP, proto:local port) pairs this host has sent to/from
      const set = `ar${k}`
      sets.push(`create ${set} hash:ip,port timeout ${MAPPING_TIMEOUT_S}`)
      for (const proto of ['udp', 'tcp']) {
        record.push(`-A FORWARD -i lan -o wan -s ${host} -p ${proto} -j SET --add-set ${set} dst,src --exist`)
        dnat.push(`-A PREROUTING -i wan -d ${w} -p ${proto} -m set --match-set ${set} src,dst -j DNAT --to-destination ${host}`)
      }
    }
  })
  const admitsDnat = plan.type === 'full-cone' || plan.type === 'address-restricted'
  const iptables = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD DROP [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    // the router itself: replies and pings only. Dropping here (before conntrack confirms the
    // entry) matters: a confirmed entry for an unsolicited packet would take the mapping's
    // reply tuple and push a later outbound packet of the host onto another port.
    '-A INPUT -i wan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A INPUT -i wan -p icmp -m icmp --icmp-type echo-request -j ACCEPT',
    '-A INPUT -i wan -j DROP',
    ...record,
    '-A FORWARD -i lan -o wan -j ACCEPT',
    '-A FORWARD -i lan -o lan -j ACCEPT',
    '-A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    ...(admitsDnat ? ['-A FORWARD -i wan -o lan -m conntrack --ctstate DNAT -j ACCEPT'] : []),
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...dnat,
    // Linux keeps the source port when the (address, port) pair is free: endpoint-independent
    // mapping in practice. --random-fully draws a new port for every new conntrack entry.
    `-A POSTROUTING -o wan -j MASQUERADE${plan.type === 'symmetric' ? ' --random-fully' : ''}`,
    'COMMIT',
    ''
  ].join('\n')
  return { ipset: sets.length === 0 ? '' : sets.join('\n') + '\n', iptables }
}

import type { ConnectionGater, MultiaddrConnection } from '@libp2p/interface'

/**
 * A connection gater that bounds inbound connections still in their Noise +
 * Yamux handshake per remote host. libp2p bounds them only in total
 * (`maxIncomingPendingConnections`), so one host that opens that many TCP
 * connections and never speaks keeps every newcomer out until they time out
 * (a handshake slowloris). With this gate one host holds at most `perHost`.
 */
export function pendingPerHostGate (perHost: number): ConnectionGater {
  const pending = new Map<string, number>()
  const counted = new WeakMap<MultiaddrConnection, string>()
  const release = (maConn: MultiaddrConnection): void => {
    const host = counted.get(maConn)
    if (host == null) return
    counted.delete(maConn)
    const n = (pending.get(host) ?? 1) - 1
    if (n <= 0) pending.delete(host)
    else pending.set(host, n)
  }
  return {
    denyInboundConnection (maConn) {
      const host = maConn.remoteAddr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
      if (host == null) return false
      const n = pending.get(host) ?? 0
      if (n >= perHost) return true
      pending.set(host, n + 1)
      counted.set(maConn, host)
      maConn.addEventListener('close', () => { release(maConn) }, { once: true })
      return false
    },
    denyInboundUpgradedConnection (_peer, maConn) {
      release(maConn)
      return false
    }
  }
}

// Where an association's streams can carry its frames as records
// (spec/resumption.md#records): the unobservable layer's side channel of the
// connection each stream runs on.
import { layerRecords } from '@fara/transport'
import type { RecordsOf } from '@fara/demux'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

/** The record side channel of whichever of `node`'s connections to `peer` carries a stream (outbound: the first path and each reconnected one). */
export function recordsOn (node: Libp2p, peer: PeerId): RecordsOf {
  return (stream: Stream) => {
    const connection = node.getConnections(peer).find((c: Connection) => c.streams.includes(stream))
    return connection == null ? undefined : layerRecords(connection)
  }
}

/** The record side channel of `connection`, which an inbound stream arrived on. */
export function recordsOf (connection: Connection): RecordsOf {
  return () => layerRecords(connection)
}

// TCP connections out of a libpcap file, segment by segment: what an on-path
// observer (or a censor's classifier) works with. Unlike readPcap (pcap.ts),
// which concatenates payloads, this keeps each segment's size, time and flags,
// and reassembles each direction by sequence number, so that retransmissions
// do not repeat bytes and "the first N bytes of a flow" are really its first.

/** One TCP segment as captured. */
export interface Segment {
  /** Position of the packet in the capture (0 for the first). */
  index: number
  /** Capture time (ms since 1970, microsecond precision). */
  time: number
  /** Sequence number relative to the direction's ISN (the SYN's seq + 1), or to its first segment when no SYN was seen. */
  offset: number
  size: number
  syn: boolean
  fin: boolean
  rst: boolean
}

/** One direction of one TCP connection. */
export interface Direction {
  src: string
  srcPort: number
  dst: string
  dstPort: number
  /** Segments in capture order (including those without payload). */
  segments: Segment[]
  /** True if this direction's SYN was captured: offsets then count from the first byte. */
  synSeen: boolean
  /** The contiguous payload from offset 0 (stops at the first gap). */
  payload: Buffer
  /** Payload bytes captured in all (may exceed `payload` after a gap). */
  bytes: number
  /** Sizes of the payload-carrying segments, first transmissions only, in order. */
  dataSizes: number[]
}

/** A TCP connection: the initiator's direction and the listener's. */
export interface Connection {
  /** `src:port>dst:port` of the initiator's direction. */
  key: string
  /** The side that sent the first SYN (or, without one, the first segment seen). */
  initiator: Direction
  listener: Direction
  /** Time of the first captured segment. */
  start: number
}

const LINKTYPE_ETHERNET = 1
const LINKTYPE_RAW = 101
const LINKTYPE_LINUX_SLL = 113
const LINKTYPE_LINUX_SLL2 = 276

/** One captured TCP segment with its addresses. */
export interface Raw { seg: Segment, seq: number, payload: Buffer, src: string, dst: string, srcPort: number, dstPort: number, ack: boolean }

/** Every TCP segment of a libpcap file (Ethernet, Linux cooked v1/v2 or raw IP; IPv4 and IPv6), in capture order. */
export function * packets (file: Buffer): Generator<Raw> {
  if (file.byteLength < 24) throw new Error(`not a pcap file: ${file.byteLength} bytes`)
  const magic = file.readUInt32LE(0)
  let le: boolean
  let nano = false
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) { le = true; nano = magic === 0xa1b23c4d } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) { le = false; nano = magic === 0x4d3cb2a1 } else throw new Error(`not a pcap file: magic ${magic.toString(16)}`)
  const u32 = (o: number): number => le ? file.readUInt32LE(o) : file.readUInt32BE(o)
  const linktype = u32(20)
  let offset = 24
  let index = 0
  while (offset + 16 <= file.byteLength) {
    const time = u32(offset) * 1000 + u32(offset + 4) / (nano ? 1e6 : 1e3)
    const inclLen = u32(offset + 8)
    const start = offset + 16
    offset = start + inclLen
    if (offset > file.byteLength) break
    const frame = file.subarray(start, start + inclLen)
    let ip: Buffer
    let ethertype: number
    if (linktype === LINKTYPE_ETHERNET) { ethertype = frame.readUInt16BE(12); ip = frame.subarray(14) } else if (linktype === LINKTYPE_LINUX_SLL) { ethertype = frame.readUInt16BE(14); ip = frame.subarray(16) } else if (linktype === LINKTYPE_LINUX_SLL2) { ethertype = frame.readUInt16BE(0); ip = frame.subarray(20) } else if (linktype === LINKTYPE_RAW) { ip = frame; ethertype = (frame[0]! >> 4) === 6 ? 0x86dd : 0x0800 } else throw new Error(`unsupported pcap link type ${linktype}`)
    let tcp: Buffer
    let src: string
    let dst: string
    if (ethertype === 0x0800 && ip[9] === 6) {
      const ihl = (ip[0]! & 0x0f) * 4
      src = [...ip.subarray(12, 16)].join('.')
      dst = [...ip.subarray(16, 20)].join('.')
      tcp = ip.subarray(ihl, ip.readUInt16BE(2))
    } else if (ethertype === 0x86dd && ip[6] === 6) {
      src = ip.subarray(8, 24).toString('hex')
      dst = ip.subarray(24, 40).toString('hex')
      tcp = ip.subarray(40, 40 + ip.readUInt16BE(4))
    } else {
      continue
    }
    const flags = tcp[13]!
    const payload = Buffer.from(tcp.subarray((tcp[12]! >> 4) * 4))
    yield {
      seg: { index: index++, time, offset: 0, size: payload.byteLength, syn: (flags & 0x02) !== 0, fin: (flags & 0x01) !== 0, rst: (flags & 0x04) !== 0 },
      seq: tcp.readUInt32BE(4),
      payload,
      src,
      dst,
      srcPort: tcp.readUInt16BE(0),
      dstPort: tcp.readUInt16BE(2),
      ack: (flags & 0x10) !== 0
    }
  }
}

interface Building { dir: Direction, isn: number | undefined, chunks: Map<number, Buffer>, firstSeen: Set<number> }
interface Pending { initiator: string, start: number, sides: Map<string, Building> }

const fresh = (src: string, srcPort: number, dst: string, dstPort: number): Building => ({
  dir: { src, srcPort, dst, dstPort, segments: [], synSeen: false, payload: Buffer.alloc(0), bytes: 0, dataSizes: [] },
  isn: undefined,
  chunks: new Map(),
  firstSeen: new Set()
})

/** The contiguous bytes from offset 0 of the chunks received. */
function reassemble (b: Building): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (const offset of [...b.chunks.keys()].sort((x, y) => x - y)) {
    const chunk = b.chunks.get(offset)!
    if (offset > at) break
    if (offset + chunk.byteLength > at) { parts.push(chunk.subarray(at - offset)); at = offset + chunk.byteLength }
  }
  return Buffer.concat(parts)
}

/** Every TCP connection in a capture, in order of first appearance (a 4-tuple reused after a new SYN is a new connection). */
export function readConnections (file: Buffer): Connection[] {
  const current = new Map<string, Pending>()
  const all: Pending[] = []
  for (const p of packets(file)) {
    const key = `${p.src}:${p.srcPort}>${p.dst}:${p.dstPort}`
    const back = `${p.dst}:${p.dstPort}>${p.src}:${p.srcPort}`
    let conn = current.get(key)
    const opening = p.seg.syn && !p.ack
    // a new SYN with another ISN on a known 4-tuple: the old connection is over
    if (conn != null && opening && conn.sides.get(key)?.dir.synSeen === true && conn.sides.get(key)!.isn !== ((p.seq + 1) >>> 0)) conn = undefined
    if (conn == null) {
      // a pure SYN opens the connection; otherwise the first segment seen decides
      conn = { initiator: p.seg.syn && p.ack ? back : key, start: p.seg.time, sides: new Map() }
      current.set(key, conn)
      current.set(back, conn)
      all.push(conn)
    }
    let b = conn.sides.get(key)
    if (b == null) { b = fresh(p.src, p.srcPort, p.dst, p.dstPort); conn.sides.set(key, b) }
    if (p.seg.syn && !b.dir.synSeen) { b.isn = (p.seq + 1) >>> 0; b.dir.synSeen = true }
    if (b.isn === undefined) b.isn = p.seq
    const offset = (p.seq - b.isn) >>> 0
    p.seg.offset = p.seg.syn ? 0 : offset
    b.dir.segments.push(p.seg)
    if (p.payload.byteLength > 0) {
      b.dir.bytes += p.payload.byteLength
      if (!b.firstSeen.has(offset)) {
        b.firstSeen.add(offset)
        b.dir.dataSizes.push(p.payload.byteLength)
      }
      const had = b.chunks.get(offset)
      if (had == null || had.byteLength < p.payload.byteLength) b.chunks.set(offset, p.payload)
    }
  }
  return all.map(conn => {
    const [src, dst] = conn.initiator.split('>') as [string, string]
    const split = (end: string): [string, number] => { const i = end.lastIndexOf(':'); return [end.slice(0, i), Number(end.slice(i + 1))] }
    const [sa, sp] = split(src)
    const [da, dp] = split(dst)
    const initiator = conn.sides.get(conn.initiator) ?? fresh(sa, sp, da, dp)
    const listener = conn.sides.get(`${dst}>${src}`) ?? fresh(da, dp, sa, sp)
    for (const b of [initiator, listener]) b.dir.payload = reassemble(b)
    return { key: conn.initiator, initiator: initiator.dir, listener: listener.dir, start: conn.start }
  })
}

/** Both directions of every connection. */
export const directionsOf = (connections: readonly Connection[]): Direction[] => connections.flatMap(c => [c.initiator, c.listener])

// A minimal reader of libpcap files (the format tcpdump -w writes): enough to
// pull TCP ports and payloads out of a loopback capture.

/** One direction of one TCP connection, with its payload bytes in capture order. */
export interface TcpFlow {
  src: string
  dst: string
  srcPort: number
  dstPort: number
  payload: Buffer
}

/** Everything the tests need from a capture. */
export interface Capture {
  packets: number
  /** TCP payload per direction, keyed `src:port>dst:port`. */
  flows: Map<string, TcpFlow>
  /** Every TCP port seen, either side. */
  ports: Set<number>
}

const LINKTYPE_ETHERNET = 1
const LINKTYPE_LINUX_SLL = 113

export function readPcap (file: Buffer): Capture {
  if (file.byteLength < 24) throw new Error(`not a pcap file: ${file.byteLength} bytes`)
  const magic = file.readUInt32LE(0)
  let le: boolean
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false
  else throw new Error(`not a pcap file: magic ${magic.toString(16)}`)
  const u32 = (o: number): number => le ? file.readUInt32LE(o) : file.readUInt32BE(o)
  const linktype = u32(20)
  const capture: Capture = { packets: 0, flows: new Map(), ports: new Set() }
  const parts = new Map<string, Buffer[]>()
  let offset = 24
  while (offset + 16 <= file.byteLength) {
    const inclLen = u32(offset + 8)
    const start = offset + 16
    offset = start + inclLen
    if (offset > file.byteLength) break
    capture.packets++
    const frame = file.subarray(start, start + inclLen)
    let ethertype: number
    let ip: Buffer
    if (linktype === LINKTYPE_ETHERNET) {
      ethertype = frame.readUInt16BE(12)
      ip = frame.subarray(14)
    } else if (linktype === LINKTYPE_LINUX_SLL) {
      ethertype = frame.readUInt16BE(14)
      ip = frame.subarray(16)
    } else {
      throw new Error(`unsupported pcap link type ${linktype}`)
    }
    let tcp: Buffer
    let src: string
    let dst: string
    if (ethertype === 0x0800 && ip[9] === 6) {
      const ihl = (ip[0]! & 0x0f) * 4
      const total = ip.readUInt16BE(2)
      src = [...ip.subarray(12, 16)].join('.')
      dst = [...ip.subarray(16, 20)].join('.')
      tcp = ip.subarray(ihl, total)
    } else if (ethertype === 0x86dd && ip[6] === 6) {
      src = ip.subarray(8, 24).toString('hex')
      dst = ip.subarray(24, 40).toString('hex')
      tcp = ip.subarray(40, 40 + ip.readUInt16BE(4))
    } else {
      continue
    }
    const srcPort = tcp.readUInt16BE(0)
    const dstPort = tcp.readUInt16BE(2)
    const dataOffset = (tcp[12]! >> 4) * 4
    capture.ports.add(srcPort).add(dstPort)
    const key = `${src}:${srcPort}>${dst}:${dstPort}`
    if (!capture.flows.has(key)) {
      capture.flows.set(key, { src, dst, srcPort, dstPort, payload: Buffer.alloc(0) })
      parts.set(key, [])
    }
    const payload = tcp.subarray(dataOffset)
    if (payload.byteLength > 0) parts.get(key)!.push(Buffer.from(payload))
  }
  for (const [key, flow] of capture.flows) flow.payload = Buffer.concat(parts.get(key)!)
  return capture
}

/** True if `needle` occurs in the raw file or in any flow's reassembled payload. */
export function captureContains (file: Buffer, capture: Capture, needle: Buffer): boolean {
  if (file.includes(needle)) return true
  for (const flow of capture.flows.values()) {
    if (flow.payload.includes(needle)) return true
  }
  return false
}

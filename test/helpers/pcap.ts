// A minimal reader of libpcap files (the format tcpdump -w writes): enough to
// pull TCP ports and payloads out of a loopback capture (the packets come from
// tcp-flows.ts, which also keeps each segment).
import { packets } from './tcp-flows.ts'

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

export function readPcap (file: Buffer): Capture {
  const capture: Capture = { packets: 0, flows: new Map(), ports: new Set() }
  const parts = new Map<string, Buffer[]>()
  for (const { src, dst, srcPort, dstPort, payload } of packets(file)) {
    capture.packets++
    capture.ports.add(srcPort).add(dstPort)
    const key = `${src}:${srcPort}>${dst}:${dstPort}`
    if (!capture.flows.has(key)) {
      capture.flows.set(key, { src, dst, srcPort, dstPort, payload: Buffer.alloc(0) })
      parts.set(key, [])
    }
    if (payload.byteLength > 0) parts.get(key)!.push(payload)
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

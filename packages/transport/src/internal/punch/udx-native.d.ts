// The parts of udx-native (Holepunch's reliable UDP streams, a native addon
// without its own typings) that Fara uses: https://github.com/holepunchto/udx-native
declare module 'udx-native' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'

  export interface UdxAddress { host: string, family: number, port: number }

  export class UdxSocket extends EventEmitter {
    readonly bound: boolean
    readonly closing: boolean
    address (): UdxAddress
    bind (port?: number, host?: string): void
    close (): Promise<void>
    setTTL (ttl: number): void
    setRecvBufferSize (size: number): number
    setSendBufferSize (size: number): number
    send (buffer: Uint8Array, port: number, host?: string, ttl?: number): Promise<boolean>
    trySend (buffer: Uint8Array, port: number, host?: string, ttl?: number): void
    on (event: 'message', listener: (message: Buffer, from: UdxAddress) => void): this
    on (event: 'close' | 'listening' | 'idle' | 'busy', listener: () => void): this
    on (event: 'error', listener: (err: Error) => void): this
    off (event: 'message', listener: (message: Buffer, from: UdxAddress) => void): this
  }

  export class UdxStream extends Duplex {
    readonly id: number
    readonly remoteId: number
    readonly remoteHost: string | null
    readonly remotePort: number
    readonly connected: boolean
    readonly rtt: number
    readonly socket: UdxSocket | null
    connect (socket: UdxSocket, remoteId: number, port: number, host?: string): void
  }

  export interface UdxNetworkWatcher extends EventEmitter {
    destroy (): Promise<void>
  }

  export default class UDX {
    createSocket (options?: { ipv6Only?: boolean }): UdxSocket
    createStream (id: number, options?: { firewall?: (socket: UdxSocket, port: number, host: string) => boolean }): UdxStream
    watchNetworkInterfaces (onchange?: () => void): UdxNetworkWatcher
  }
}

/**
 * TCPMUX (RFC 1078) for Fara: a server, a client that interoperates with
 * real inetd implementations, and a gateway that lets legacy TCPMUX clients
 * reach Fara services by name.
 *
 * TCPMUX is the oldest "reach a service by name, not by port" protocol: the
 * client connects to one port, sends `name CRLF`, and the server answers `+`
 * (then the service's bytes follow) or `-message` and closes. The gateway is
 * a TCPMUX front door whose names are resolved through Fara's rendezvous and
 * whose bytes travel over encrypted associations (spec/adapters.md#tcpmux-adapter-rfc-1078).
 *
 * The port, the HELP name, the bounds and the refusal messages: `@fara/tcpmux/constants`.
 *
 * @example
 * ```ts
 * import { createTcpmuxServer, tcpmuxConnect } from '@fara/tcpmux'
 *
 * const server = createTcpmuxServer({ host: '127.0.0.1', port: 0 })
 * server.register('echo', (socket) => { socket.pipe(socket) })
 * await server.listen()
 *
 * const { socket } = await tcpmuxConnect({ host: '127.0.0.1', port: server.address!.port, name: 'ECHO' })
 * socket.end('hello')
 * for await (const chunk of socket) console.log(String(chunk)) // hello
 * await server.close()
 * ```
 *
 * @packageDocumentation
 */
export { createTcpmuxServer } from './server.ts'
export type { TcpmuxServer, TcpmuxServerInit, TcpmuxHandler, TcpmuxRequest, RegisterOptions, TcpmuxAddress, AbortOptions } from './server.ts'
export { tcpmuxConnect, tcpmuxHelp } from './client.ts'
export type { TcpmuxClientOptions, TcpmuxConnectOptions, TcpmuxConnection, TcpmuxHelpOptions } from './client.ts'
export { createTcpmuxGateway } from './gateway.ts'
export type { TcpmuxGateway, TcpmuxGatewayInit, GatewayConnect } from './gateway.ts'
export {
  ServiceRefusedError, MalformedReplyError, ReplyTooLongError, ReplyTimeoutError, ConnectionClosedError, ServiceExistsError, ServerStateError
} from './errors.ts'

// The streaming server CRI's Exec, Attach and PortForward point clients at, as containerd runs
// kubelet's: http://HOST:PORT/{exec|attach|portforward}/<token>, GET or POST, upgraded to SPDY/3.1
// or WebSocket. A token is taken out of the request cache once; an unknown, used or expired one is
// a 404, as is any other path.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { listenAt, parseStreamAddress } from '../listen-address.js'
import type { Logger } from '../log.js'
import { goHeaderDump, httpError, negotiate } from './handshake.js'
import { PORTFORWARD_PROTOCOL, serveSpdyPortForward } from './portforward.js'
import type { StreamRequest, StreamingBackend } from './remotecommand.js'
import { REMOTECOMMAND_PROTOCOLS, serveSpdyRemoteCommand } from './spdy-remotecommand.js'
import { RequestCache } from './tokens.js'
import { isWebSocketRequest, serveWebSocketPortForward, serveWebSocketRemoteCommand } from './websocket.js'

const ROUTE = /^\/(exec|attach|portforward)\/([^/?]+)\/?(?:\?.*)?$/

export class StreamingServer {
  readonly cache = new RequestCache<StreamRequest>()
  #server: Server
  #sockets = new Set<Socket>()
  #base = ''

  constructor(
    private readonly backend: StreamingBackend,
    private readonly log: Logger,
  ) {
    this.#server = createServer((req, res) => this.#plain(req, res))
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head))
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    this.#server.on('clientError', (_err, socket: Duplex) => socket.destroy())
  }

  /** Listens; `address` is "HOST:PORT" (default 127.0.0.1 and a free port). */
  async listen(address = '127.0.0.1:0'): Promise<void> {
    this.#base = (await listenAt(this.#server, parseStreamAddress(address))).base
  }

  /** http://HOST:PORT, once listening ('' before). */
  get base(): string {
    return this.#base
  }

  /** The URL a client streams a cached request at. */
  url(request: StreamRequest): string {
    return `${this.#base}/${request.kind}/${this.cache.insert(request)}`
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #take(url: string | undefined): StreamRequest | undefined {
    const m = ROUTE.exec(url ?? '')
    if (!m) return undefined
    const request = this.cache.consume(decodeURIComponent(m[2]!))
    return request?.kind === m[1] ? request : undefined
  }

  /** A request without an upgrade: a valid token still goes through the handshake, which fails it as kubelet's does. */
  #plain(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'POST') return httpError(res, 405, 'Method Not Allowed')
    const request = this.#take(req.url)
    if (!request) return httpError(res, 404, '404 page not found')
    if (negotiate(req, res, request.kind === 'portforward' ? [PORTFORWARD_PROTOCOL] : REMOTECOMMAND_PROTOCOLS) === undefined) return
    httpError(res, 400, `unable to upgrade: missing upgrade headers in request: ${goHeaderDump(req)}`)
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.log.debug(`streaming connection: ${err.message}`))
    const request = req.method === 'GET' || req.method === 'POST' ? this.#take(req.url) : undefined
    if (!request) return httpError(socket, 404, '404 page not found')
    const ws = isWebSocketRequest(req)
    const upgrade = { req, socket, head, backend: this.backend, log: this.log }
    try {
      if (request.kind === 'portforward') {
        if (ws) serveWebSocketPortForward(upgrade, request.sandboxId, request.ports)
        else serveSpdyPortForward(upgrade, request.sandboxId)
      } else if (ws) serveWebSocketRemoteCommand(upgrade, request)
      else serveSpdyRemoteCommand(upgrade, request)
    } catch (err) {
      this.log.warn(`streaming ${request.kind}: ${(err as Error).message}`)
      socket.destroy()
    }
  }
}

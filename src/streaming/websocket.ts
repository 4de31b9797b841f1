// Exec and attach over WebSocket (kubelet's wsstream): each message carries a channel number (0
// stdin, 1 stdout, 2 stderr, 3 error, 4 resize) in its first byte, or, in the base64 protocols, its
// first character with the data base64-encoded. v4 adds the JSON status on channel 3; v5 lets the
// client half-close a channel with [255, channel]. Port-forward tunnels SPDY in binary messages
// (SPDY/3.1+portforward.k8s.io).
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, createWebSocketStream, type RawData, type WebSocket } from 'ws'
import { httpError } from './handshake.js'
import { forward, servePortForwardStreams } from './portforward.js'
import {
  Inbox,
  serveRemoteCommand,
  underLimit,
  type AttachRequest,
  type Channels,
  type ExecRequest,
  type Upgrade,
} from './remotecommand.js'
import { SpdyConnection } from './spdy/connection.js'

export const WS_REMOTECOMMAND_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'channel.k8s.io',
  'base64.channel.k8s.io',
] as const
const WS_PORTFORWARD_TUNNEL = 'SPDY/3.1+portforward.k8s.io'
export const WS_PORTFORWARD_PROTOCOLS = [WS_PORTFORWARD_TUNNEL, 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io'] as const

const STREAM_CLOSE = 255
/** The largest message a client may send (a resize or a stdin chunk is far less). */
const MAX_PAYLOAD = 16 * 1024 * 1024

export function isWebSocketRequest(req: IncomingMessage): boolean {
  return (
    String(req.headers.connection ?? '')
      .toLowerCase()
      .includes('upgrade') && String(req.headers.upgrade ?? '').toLowerCase() === 'websocket'
  )
}

/** The client's subprotocols, in its order. */
const offered = (req: IncomingMessage): string[] =>
  String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')

/**
 * Completes the WebSocket handshake with the first of the client's protocols the server takes ("" when
 * it asked for none); a client whose protocols are all unknown gets 403, as x/net/websocket answers.
 */
function accept(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  supported: readonly string[],
  then: (ws: WebSocket, protocol: string) => void,
): void {
  const asked = offered(req)
  const protocol = asked.length === 0 ? '' : asked.find((p) => supported.includes(p))
  if (protocol === undefined) {
    httpError(socket, 403, `requested protocol(s) are not supported: [${asked.join(' ')}]; supports [${supported.join(' ')}]`)
    return
  }
  // ws refuses a subprotocol that is not an RFC 7230 token, and SPDY/3.1+portforward.k8s.io has a
  // '/': it is given a token to parse and answers the chosen protocol as it is (Go's server takes it).
  if (protocol !== '' && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(protocol)) req.headers['sec-websocket-protocol'] = 'k8s-tunnel'
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD,
    handleProtocols: () => protocol || false,
  })
  wss.handleUpgrade(req, socket, head, (ws) => then(ws, protocol))
}

/**
 * kubelet's channel framing on an open WebSocket: each message the client sends is handed to
 * `receive` by channel; the returned function sends on a channel (binary, or base64 text).
 */
function channelSocket(
  ws: WebSocket,
  protocol: string,
  receive: (channel: number, data: Buffer) => void,
): (channel: number, data: Buffer) => void {
  const base64 = protocol.includes('base64')
  ws.on('message', (raw: RawData, isBinary: boolean) => {
    const msg = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as Buffer)
    if (msg.length === 0) return
    if (base64 && !isBinary) receive(msg[0]! - 0x30, Buffer.from(msg.subarray(1).toString('latin1'), 'base64'))
    else receive(msg[0]!, msg.subarray(1))
  })
  return (channel, data) => {
    if (ws.readyState !== ws.OPEN) return
    if (base64) ws.send(`${channel}${data.toString('base64')}`)
    else ws.send(Buffer.concat([Buffer.from([channel]), data]))
  }
}

export function serveWebSocketRemoteCommand({ req, socket, head, backend, log }: Upgrade, request: ExecRequest | AttachRequest): void {
  accept(req, socket, head, WS_REMOTECOMMAND_PROTOCOLS, (ws, protocol) => {
    const gone = new AbortController()
    const inboxes = [new Inbox(), undefined, undefined, undefined, new Inbox()] as const
    const send = channelSocket(ws, protocol, (channel, data) => {
      if (channel === STREAM_CLOSE && protocol === 'v5.channel.k8s.io') return void inboxes[data[0] as 0 | 4]?.end()
      inboxes[channel as 0 | 4]?.push(data)
    })
    const out = (channel: number): Channels['error'] => ({ write: (d) => send(channel, d), end: () => {} })
    ws.on('close', () => {
      for (const box of inboxes) box?.end()
      gone.abort()
    })
    ws.on('error', (err) => log.debug(`websocket ${request.kind}: ${err.message}`))
    // The first message, on the lowest channel the server writes, tells the client the streams are ready.
    send(request.stdout ? 1 : request.stderr ? 2 : 3, Buffer.alloc(0))
    const channels: Channels = {
      ...(request.stdin ? { stdin: inboxes[0] } : {}),
      ...(request.stdout ? { stdout: out(1) } : {}),
      ...(request.stderr ? { stderr: out(2) } : {}),
      ...(request.tty ? { resize: inboxes[4] } : {}),
      error: out(3),
      v4: protocol.startsWith('v4.') || protocol.startsWith('v5.'),
      signal: gone.signal,
      drained: () =>
        underLimit(
          () => ws.bufferedAmount,
          () => ws.readyState !== ws.OPEN,
        ),
      close: async () => {
        ws.close(1000)
        await new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : ws.once('close', () => resolve())))
      },
    }
    serveRemoteCommand(request, channels, backend).catch((err: Error) => {
      log.warn(`${request.kind} ${request.containerId}: ${err.message}`)
      ws.terminate()
    })
  })
}

/**
 * Port-forward over WebSocket: SPDY tunnelled in binary messages (SPDY/3.1+portforward.k8s.io, kubectl
 * and crictl's websocket transport), or kubelet's v4 channels: a data and an error channel for each
 * port the PortForward request named, each opened with the port (2 bytes, little-endian).
 */
export function serveWebSocketPortForward({ req, socket, head, backend, log }: Upgrade, sandboxId: string, ports: readonly number[]): void {
  accept(req, socket, head, WS_PORTFORWARD_PROTOCOLS, (ws, protocol) => {
    ws.on('error', (err) => log.debug(`websocket port-forward: ${err.message}`))
    if (protocol === WS_PORTFORWARD_TUNNEL) {
      const duplex = createWebSocketStream(ws)
      duplex.on('error', (err) => log.debug(`websocket port-forward: ${err.message}`))
      const handler = servePortForwardStreams(sandboxId, backend, log)
      new SpdyConnection(duplex, { onStream: handler.onStream, onClose: handler.onClose })
      return
    }
    const gone = new AbortController()
    const inboxes = ports.map(() => new Inbox())
    const send = channelSocket(ws, protocol, (channel, data) => (channel % 2 === 0 ? inboxes[channel / 2]?.push(data) : undefined))
    ws.on('close', () => {
      for (const box of inboxes) box.end()
      gone.abort()
    })
    const forwarded = ports.map(async (port, i) => {
      const le = Buffer.alloc(2)
      le.writeUInt16LE(port)
      send(2 * i, le)
      send(2 * i + 1, le)
      const data = { read: inboxes[i]!.read.bind(inboxes[i]), write: (d: Buffer) => send(2 * i, d), end: () => {} }
      const failed = await forward(sandboxId, port, data, backend, gone.signal)
      if (failed !== undefined) send(2 * i + 1, Buffer.from(failed))
    })
    void Promise.all(forwarded).then(() => ws.close(1000))
  })
}

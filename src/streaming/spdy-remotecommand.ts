// Exec and attach over SPDY/3.1 (kubelet's remotecommand httpstream.go): negotiate the version,
// upgrade, wait for the client's streams (error, stdin, stdout, stderr, resize as asked), then run.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { asksUpgrade, goHeaderDump, httpError, negotiate, PROTOCOL_HEADER } from './handshake.js'
import { serveRemoteCommand, type AttachRequest, type Channels, type ExecRequest, type Upgrade } from './remotecommand.js'
import { SpdyConnection, type SpdyStream } from './spdy/connection.js'

export const REMOTECOMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const

/** How long the client has to open its streams (kubelet's default StreamCreationTimeout). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000

const SPDY = 'SPDY/3.1'

/**
 * Answers an upgrade to SPDY/3.1 with the negotiated protocol, or writes the error. The connection
 * is handed every stream the client opens.
 */
export function upgradeSpdy(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  supported: readonly string[],
  onStream: (stream: SpdyStream) => string | undefined,
  onClose: (reason: string) => void,
): { protocol: string; conn: SpdyConnection } | undefined {
  const protocol = negotiate(req, socket, supported)
  if (protocol === undefined) return undefined
  if (!asksUpgrade(req, SPDY)) {
    httpError(socket, 400, `unable to upgrade: missing upgrade headers in request: ${goHeaderDump(req)}`)
    return undefined
  }
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${SPDY}\r\n${PROTOCOL_HEADER}: ${protocol}\r\nDate: ${new Date().toUTCString()}\r\n\r\n`,
  )
  if (head.length > 0) socket.unshift(head)
  return { protocol, conn: new SpdyConnection(socket, { onStream, onClose }) }
}

export function serveSpdyRemoteCommand({ req, socket, head, backend, log }: Upgrade, request: ExecRequest | AttachRequest): void {
  const gone = new AbortController()
  const streams = new Map<string, SpdyStream>()
  let expected = Infinity
  let started = false
  const begin = (): void => {
    if (started || streams.size < expected || !upgraded) return
    started = true
    const conn = upgraded.conn
    clearTimeout(timer)
    const out = (s: SpdyStream | undefined): Channels['stdout'] => s && { write: (d) => s.write(d), end: () => s.end() }
    const channels: Channels = {
      ...(streams.get('stdin') ? { stdin: streams.get('stdin')! } : {}),
      ...(streams.get('stdout') ? { stdout: out(streams.get('stdout'))! } : {}),
      ...(streams.get('stderr') ? { stderr: out(streams.get('stderr'))! } : {}),
      ...(streams.get('resize') ? { resize: streams.get('resize')! } : {}),
      error: out(streams.get('error'))!,
      v4: upgraded.protocol === 'v4.channel.k8s.io',
      signal: gone.signal,
      drained: () => conn.drained(),
      close: () => conn.close(),
    }
    serveRemoteCommand(request, channels, backend).catch((err: Error) => {
      log.warn(`${request.kind} ${request.containerId}: ${err.message}`)
      void conn.close()
    })
  }
  const upgraded = upgradeSpdy(
    req,
    socket,
    head,
    REMOTECOMMAND_PROTOCOLS,
    (stream) => {
      const type = stream.headers['streamtype'] ?? ''
      if (!['error', 'stdin', 'stdout', 'stderr', 'resize'].includes(type)) {
        log.debug(`${request.kind}: unexpected stream type ${JSON.stringify(type)}`)
        return undefined
      }
      if (started) return 'all streams are there'
      streams.set(type, stream)
      queueMicrotask(begin)
      return undefined
    },
    (reason) => {
      clearTimeout(timer)
      log.debug(`${request.kind} ${request.containerId}: ${reason}`)
      gone.abort()
    },
  )
  if (!upgraded) return
  const resizing = request.tty && upgraded.protocol !== 'v2.channel.k8s.io' && upgraded.protocol !== 'channel.k8s.io'
  expected = 1 + Number(request.stdin) + Number(request.stdout) + Number(request.stderr) + Number(resizing)
  const timer = setTimeout(() => {
    log.warn(`${request.kind} ${request.containerId}: timed out waiting for client to create streams`)
    void upgraded.conn.close()
  }, STREAM_CREATION_TIMEOUT_MS)
  timer.unref()
}

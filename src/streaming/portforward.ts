// Port-forward over SPDY/3.1 (kubelet's portforward httpstream.go), also tunnelled in WebSocket
// (SPDY/3.1+portforward.k8s.io): the client opens an error and a data stream per connection, paired
// by requestID, each naming the port; the data stream is joined to a connection to that port inside
// the pod. A failure is written on the error stream and both streams are reset.
import type { Logger } from '../log.js'
import type { InChannel, StreamingBackend, Upgrade } from './remotecommand.js'
import { STREAM_CREATION_TIMEOUT_MS, upgradeSpdy } from './spdy-remotecommand.js'
import type { SpdyConnection, SpdyStream } from './spdy/connection.js'
import { RST } from './spdy/frames.js'

export const PORTFORWARD_PROTOCOL = 'portforward.k8s.io'

/** Why a stream is refused before it is paired (kubelet's httpStreamReceived), or undefined. */
export function checkPortForwardStream(headers: Readonly<Record<string, string>>): string | undefined {
  const port = headers['port'] ?? ''
  if (port === '') return '"port" header is required'
  if (!/^\d+$/.test(port) || Number(port) > 65535) return `unable to parse "${port}" as a port`
  if (Number(port) < 1) return `port "${port}" must be > 0`
  const type = headers['streamtype'] ?? ''
  if (type === '') return '"streamType" header is required'
  if (type !== 'error' && type !== 'data') return `invalid stream type "${type}"`
  return undefined
}

interface Pair {
  error?: SpdyStream
  data?: SpdyStream
  timer: NodeJS.Timeout
}

/** Serves the port-forward streams of one SPDY connection. */
export function servePortForwardStreams(
  sandboxId: string,
  backend: StreamingBackend,
  log: Logger,
): {
  onStream: (stream: SpdyStream) => string | undefined
  onClose: () => void
} {
  const pairs = new Map<string, Pair>()
  const gone = new AbortController()
  const onStream = (stream: SpdyStream): string | undefined => {
    const refused = checkPortForwardStream(stream.headers)
    if (refused) {
      log.debug(`port-forward ${sandboxId}: ${refused}`)
      return refused
    }
    const type = stream.headers['streamtype'] as 'error' | 'data'
    const requestId = stream.headers['requestid'] || String(type === 'error' ? stream.id : stream.id - 2)
    let pair = pairs.get(requestId)
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.get(requestId)?.error?.write(`timed out waiting for streams of request ${requestId}`)
        pairs.delete(requestId)
      }, STREAM_CREATION_TIMEOUT_MS)
      timer.unref()
      pair = { timer }
      pairs.set(requestId, pair)
    }
    if (pair[type]) {
      queueMicrotask(() => pair.error?.write(`error processing stream for request ${requestId}: ${type} stream already assigned`))
      return undefined
    }
    pair[type] = stream
    if (pair.error && pair.data) {
      clearTimeout(pair.timer)
      pairs.delete(requestId)
      const { error, data } = pair
      queueMicrotask(() => void forwardPair(sandboxId, Number(stream.headers['port']), data, error, backend, gone.signal))
    }
    return undefined
  }
  return { onStream, onClose: () => gone.abort() }
}

/** A transport's data channel for one forwarded connection: what the client sends, and our side of it. */
export interface DataChannel extends InChannel {
  write(data: Buffer): void
  end(): void
}

/**
 * Joins a data channel to a connection to `port` inside the pod until both directions are done (or
 * one is and the other has had a second, as containerd's portForward waits). Resolves to the error
 * kubelet writes on the error stream, or undefined.
 */
export async function forward(
  sandboxId: string,
  port: number,
  data: DataChannel,
  backend: StreamingBackend,
  signal: AbortSignal,
): Promise<string | undefined> {
  let conn: ReturnType<StreamingBackend['portForward']>
  try {
    conn = backend.portForward(sandboxId, port, signal)
  } catch (err) {
    return `error forwarding port ${port} to pod ${sandboxId}, uid : ${(err as Error).message}`
  }
  const fromClient = new Promise<void>((resolve) =>
    data.read(
      (chunk) => void conn.write(chunk),
      () => {
        conn.end()
        resolve()
      },
    ),
  )
  const fromPod = (async () => {
    for (let chunk = await conn.read(); chunk !== undefined; chunk = await conn.read()) data.write(chunk)
    data.end()
  })()
  const ended = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
  await Promise.race([fromClient, fromPod, ended])
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.all([fromClient, fromPod]), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))), ended])
  clearTimeout(timer)
  conn.close()
  return undefined
}

/** One SPDY pair forwarded: a failure on the error stream and both reset, else both closed. */
async function forwardPair(
  sandboxId: string,
  port: number,
  data: SpdyStream,
  error: SpdyStream,
  backend: StreamingBackend,
  signal: AbortSignal,
): Promise<void> {
  const failed = await forward(sandboxId, port, data, backend, signal)
  if (failed !== undefined) {
    error.write(failed)
    data.reset(RST.cancel)
    error.reset(RST.cancel)
    return
  }
  data.end()
  error.end()
}

/** Port-forward over SPDY on an upgraded socket (or a WebSocket tunnelled as a Duplex). */
export function serveSpdyPortForward({ req, socket, head, backend, log }: Upgrade, sandboxId: string): SpdyConnection | undefined {
  const handler = servePortForwardStreams(sandboxId, backend, log)
  return upgradeSpdy(req, socket, head, [PORTFORWARD_PROTOCOL], handler.onStream, handler.onClose)?.conn
}

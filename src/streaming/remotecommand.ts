// Exec and attach over whichever transport the client negotiated (SPDY streams, WebSocket
// channels): the client's streams given to the model, then the status message kubelet's
// remotecommand server writes (v4: JSON on the error stream; earlier: the error text, nothing on
// success), then the streams closed.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from '../log.js'
import type { StreamClient } from '../model/cri/streams.js'
import type { Stream } from '../sim/process.js'

export interface ExecRequest {
  kind: 'exec'
  containerId: string
  cmd: string[]
  tty: boolean
  stdin: boolean
  stdout: boolean
  stderr: boolean
}

export interface AttachRequest extends Omit<ExecRequest, 'kind' | 'cmd'> {
  kind: 'attach'
}

export interface PortForwardRequest {
  kind: 'portforward'
  sandboxId: string
  /** The request's ports: what a WebSocket (v4 channels) client gets forwarded; SPDY streams name their own. */
  ports: number[]
}

export type StreamRequest = ExecRequest | AttachRequest | PortForwardRequest

/** What the streaming server asks of the model (model/cri/streams.ts). */
export interface StreamingBackend {
  exec(req: ExecRequest, client: StreamClient): Promise<number>
  attach(req: AttachRequest, client: StreamClient): Promise<void>
  portForward(
    sandboxId: string,
    port: number,
    signal: AbortSignal,
  ): {
    read(): Promise<Buffer | undefined>
    write(data: Buffer): boolean
    end(): void
    close(): void
  }
}

/** An upgrade request the streaming server hands a protocol: the request, its socket, the bytes read past its head. */
export interface Upgrade {
  req: IncomingMessage
  socket: Duplex
  head: Buffer
  backend: StreamingBackend
  log: Logger
}

/** One direction of a transport's channel the server writes. */
export interface OutChannel {
  write(data: Buffer): void
  end(): void
}

/** One channel the client writes. */
export interface InChannel {
  read(data: (chunk: Buffer) => void, end: () => void): void
}

/** How much written and not yet sent a connection holds before its writers wait. */
const BACKLOG_LIMIT = 1024 * 1024

/** Resolves once `backlog()` is under the limit (or the connection is gone), checking as it drains. */
export async function underLimit(backlog: () => number, gone: () => boolean): Promise<void> {
  while (backlog() > BACKLOG_LIMIT && !gone()) await new Promise((resolve) => setTimeout(resolve, 5))
}

/** An input channel: what arrives is kept until a reader takes it, then handed over as it comes. */
export class Inbox implements InChannel {
  #chunks: Buffer[] = []
  #ended = false
  #reader: { data: (c: Buffer) => void; end: () => void } | undefined

  get ended(): boolean {
    return this.#ended
  }

  read(data: (chunk: Buffer) => void, end: () => void = () => {}): void {
    this.#reader = { data, end }
    for (const c of this.#chunks.splice(0)) data(c)
    if (this.#ended) end()
  }

  push(chunk: Buffer): void {
    if (this.#ended || chunk.length === 0) return
    if (this.#reader) this.#reader.data(chunk)
    else this.#chunks.push(chunk)
  }

  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#reader?.end()
  }
}

/** The channels a transport has set up for one exec or attach. */
export interface Channels {
  stdin?: InChannel
  stdout?: OutChannel
  stderr?: OutChannel
  resize?: InChannel
  /** The error stream (its status message). */
  error: OutChannel
  /** v4 and later: a JSON status, always; before: the message text, only on failure. */
  v4: boolean
  /** Aborts when the client has gone. */
  signal: AbortSignal
  /** Resolves when what was written has mostly gone out (the client reads slowly: the writer waits). */
  drained(): Promise<void>
  /** Ends the connection once everything written has gone. */
  close(): Promise<void>
}

export interface Status {
  status: 'Success' | 'Failure'
  message?: string
  reason?: string
  details?: { causes: { reason: string; message: string }[] }
  code?: number
}

/** Go's %v of a []string: [a b c]. */
const goList = (items: string[]): string => `[${items.join(' ')}]`

export const successStatus: Status = { status: 'Success' }

export function exitStatus(cmd: string[], code: number): Status {
  return {
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command ${goList(cmd)}, exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  }
}

export const internalError = (message: string): Status => ({
  status: 'Failure',
  message: `Internal error occurred: ${message}`,
  reason: 'InternalError',
  code: 500,
})

/** The status as the negotiated version writes it (nothing, before v4, on success). */
export function statusBytes(status: Status, v4: boolean): Buffer | undefined {
  if (v4) return Buffer.from(JSON.stringify(status))
  return status.status === 'Success' ? undefined : Buffer.from(status.message ?? '')
}

/** Terminal sizes from a resize stream: a sequence of JSON objects {"Width":w,"Height":h}. */
export function resizeReader(onSize: (width: number, height: number) => void): (chunk: Buffer) => void {
  let pending = ''
  return (chunk) => {
    pending += chunk.toString('utf8')
    if (pending.length > 64 * 1024) pending = '' // not sizes: drop it, as a decoder error ends kubelet's loop
    for (;;) {
      const start = pending.indexOf('{')
      const end = pending.indexOf('}', start)
      if (start < 0 || end < 0) return
      const text = pending.slice(start, end + 1)
      pending = pending.slice(end + 1)
      try {
        const size = JSON.parse(text) as { Width?: unknown; Height?: unknown }
        const w = Number(size.Width)
        const h = Number(size.Height)
        // As containerd's handleResizing: a size below 1 is skipped.
        if (Number.isInteger(w) && Number.isInteger(h) && w >= 1 && h >= 1 && w < 65536 && h < 65536) onSize(w, h)
      } catch {
        // not JSON: skipped
      }
    }
  }
}

/** Runs an exec or attach over the channels and writes its status. */
export async function serveRemoteCommand(req: ExecRequest | AttachRequest, ch: Channels, backend: StreamingBackend): Promise<void> {
  const client: StreamClient = {
    write: (stream: Stream, text: string) => ch[stream]?.write(Buffer.from(text)),
    ...(ch.stdin ? { stdin: ch.stdin } : {}),
    onResize: (listener) => ch.resize?.read(resizeReader(listener), () => {}),
    signal: ch.signal,
    drained: () => ch.drained(),
  }
  let status: Status
  if (req.kind === 'exec') {
    try {
      const code = await backend.exec(req, client)
      status = code === 0 ? successStatus : exitStatus(req.cmd, code)
    } catch (err) {
      const message = (err as Error).message
      status = internalError(
        `error executing command in container: ${message.startsWith('failed to exec in container: ') ? message : `failed to exec in container: ${message}`}`,
      )
    }
  } else {
    try {
      await backend.attach(req, client)
      status = successStatus
    } catch (err) {
      status = internalError(`error attaching to container: ${(err as Error).message}`)
    }
  }
  if (ch.signal.aborted) return
  ch.stdout?.end()
  ch.stderr?.end()
  const bytes = statusBytes(status, ch.v4)
  if (bytes) ch.error.write(bytes)
  ch.error.end()
  await ch.close()
}

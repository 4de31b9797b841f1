// The server side of a SPDY/3.1 connection, as client-go's SPDY executor (moby/spdystream) speaks
// it: the client opens every stream (SYN_STREAM, answered by SYN_REPLY), data both ways in DATA
// frames, FIN half-closes, RST_STREAM resets, PINGs are echoed, GOAWAY ends. Header blocks go
// through one zlib context per direction, primed with the SPDY/3 dictionary. spdystream does no
// flow control (it ignores WINDOW_UPDATE and SETTINGS), so neither do we: windows are accepted and
// ignored both ways.
import type { Duplex } from 'node:stream'
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib'
import { Inbox, underLimit } from '../remotecommand.js'
import { SPDY3_DICTIONARY } from './dictionary.js'
import {
  FLAG_FIN,
  FrameError,
  FrameParser,
  FrameType,
  RST,
  dataFrame,
  decodeHeaders,
  encodeHeaders,
  goAwayFrame,
  pingFrame,
  rstStreamFrame,
  synReplyFrame,
  type Frame,
} from './frames.js'

/** DATA frames we send carry at most this much. */
const CHUNK = 32 * 1024

/** Runs a chunk through a zlib stream and returns what a sync flush gives out (the same context every time). */
function flushThrough(z: Deflate | Inflate, input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = []
    const onData = (c: Buffer): void => void out.push(c)
    const onError = (err: Error): void => {
      z.off('data', onData)
      reject(err)
    }
    z.on('data', onData)
    z.once('error', onError)
    z.write(input)
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData)
      z.off('error', onError)
      resolve(Buffer.concat(out))
    })
  })
}

/** One stream a client opened: what the client sends arrives in it (an Inbox), what we write goes out as DATA. */
export class SpdyStream extends Inbox {
  /** We sent FIN (or RST). */
  sentFin = false

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: Readonly<Record<string, string>>,
  ) {
    super()
  }

  /** The client's FIN (or a reset, or the connection closing). */
  get remoteEnded(): boolean {
    return this.ended
  }

  write(data: Buffer | string): void {
    if (this.sentFin) return
    const buf = typeof data === 'string' ? Buffer.from(data) : data
    for (let at = 0; at < buf.length; at += CHUNK) this.conn.send(dataFrame(this.id, buf.subarray(at, at + CHUNK)))
  }

  /** Half-closes our side (FIN). */
  override end(): void {
    if (this.sentFin) return
    this.sentFin = true
    this.conn.send(dataFrame(this.id, Buffer.alloc(0), true))
  }

  reset(status: number = RST.cancel): void {
    if (!this.sentFin) this.conn.send(rstStreamFrame(this.id, status))
    this.sentFin = true
    this.remoteEnd()
  }

  /** @internal The client has sent all it will. */
  remoteEnd(): void {
    super.end()
  }
}

export interface SpdyConnectionOptions {
  /** A stream the client opened; return an error text to refuse it (RST_STREAM), else it is answered. */
  onStream(stream: SpdyStream): string | undefined
  /** The connection is gone (either side closed it, or a protocol error). */
  onClose?(reason: string): void
}

export class SpdyConnection {
  readonly streams = new Map<number, SpdyStream>()
  #parser = new FrameParser()
  #deflate = createDeflate({ dictionary: SPDY3_DICTIONARY, level: 9 })
  #inflate = createInflate({ dictionary: SPDY3_DICTIONARY })
  /** Incoming frames are handled one after another (header blocks inflate asynchronously). */
  #inbound: Promise<void> = Promise.resolve()
  /** Outgoing frames keep their order (header blocks deflate asynchronously). */
  #outbound: Promise<void> = Promise.resolve()
  #lastStreamId = 0
  #closed = false
  #queued = 0

  constructor(
    private readonly socket: Duplex,
    private readonly options: SpdyConnectionOptions,
  ) {
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[]
      try {
        frames = this.#parser.push(chunk)
      } catch (err) {
        return this.#fail((err as Error).message)
      }
      for (const frame of frames)
        this.#inbound = this.#inbound.then(() => this.#handle(frame)).catch((err: Error) => this.#fail(err.message))
    })
    socket.on('error', () => this.#gone('connection error'))
    socket.on('close', () => this.#gone('connection closed'))
    socket.on('end', () => this.#gone('client closed the connection'))
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Bytes queued or in the socket's buffer, not yet sent. */
  get backlog(): number {
    return this.#queued + this.socket.writableLength
  }

  /** Resolves when the backlog is small again (a slow client holds its writers back). */
  drained(): Promise<void> {
    return underLimit(
      () => this.backlog,
      () => this.#closed,
    )
  }

  /** Queues bytes (or a frame built asynchronously) after everything queued before. */
  send(frame: Buffer | (() => Promise<Buffer>)): void {
    if (this.#closed) return
    const size = typeof frame === 'function' ? 0 : frame.length
    this.#queued += size
    this.#outbound = this.#outbound
      .then(async () => {
        const bytes = typeof frame === 'function' ? await frame() : frame
        this.#queued -= size
        if (!this.#closed && this.socket.writable) this.socket.write(bytes)
      })
      .catch(() => this.#gone('cannot write'))
  }

  /** Sends GOAWAY once what was queued has gone, then closes the socket. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.send(goAwayFrame(this.#lastStreamId))
    await this.#outbound
    this.socket.end()
    this.#gone('server closed the connection', false)
  }

  async #handle(frame: Frame): Promise<void> {
    if (this.#closed) return
    if (!frame.control) {
      const stream = this.streams.get(frame.streamId)
      if (!stream) return this.send(rstStreamFrame(frame.streamId, RST.invalidStream))
      stream.push(frame.data)
      if (frame.flags & FLAG_FIN) stream.remoteEnd()
      return
    }
    if (frame.version !== 3) throw new FrameError(`unsupported SPDY version ${frame.version}`)
    const p = frame.payload
    const need = (n: number): void => {
      if (p.length < n) throw new FrameError(`control frame ${frame.type} too short`)
    }
    switch (frame.type) {
      case FrameType.SynStream: {
        need(10)
        const id = p.readUInt32BE(0) & 0x7fffffff
        const headers = decodeHeaders(await flushThrough(this.#inflate, p.subarray(10)))
        if (id === 0 || id % 2 === 0 || this.streams.has(id)) return this.send(rstStreamFrame(id, RST.protocolError))
        this.#lastStreamId = Math.max(this.#lastStreamId, id)
        const stream = new SpdyStream(this, id, headers)
        const refused = this.options.onStream(stream)
        if (refused !== undefined) return this.send(rstStreamFrame(id, RST.refusedStream))
        this.streams.set(id, stream)
        this.send(async () => synReplyFrame(id, await flushThrough(this.#deflate, encodeHeaders({}))))
        if (frame.flags & FLAG_FIN) stream.remoteEnd()
        return
      }
      case FrameType.Headers:
        need(4)
        // Headers after the fact change nothing here; the block still goes through the context.
        await flushThrough(this.#inflate, p.subarray(4))
        if (frame.flags & FLAG_FIN) this.streams.get(p.readUInt32BE(0) & 0x7fffffff)?.remoteEnd()
        return
      case FrameType.RstStream: {
        need(8)
        const stream = this.streams.get(p.readUInt32BE(0) & 0x7fffffff)
        if (stream) {
          stream.sentFin = true
          stream.remoteEnd()
        }
        return
      }
      case FrameType.Ping:
        need(4)
        return this.send(pingFrame(p.readUInt32BE(0)))
      case FrameType.GoAway:
        return this.#gone('client sent GOAWAY')
      case FrameType.SynReply: // we open no streams
      case FrameType.Settings:
      case FrameType.WindowUpdate:
      default:
        return
    }
  }

  #fail(reason: string): void {
    if (this.#closed) return
    this.socket.end(goAwayFrame(this.#lastStreamId, 1))
    this.#gone(`protocol error: ${reason}`, false)
  }

  #gone(reason: string, destroy = true): void {
    if (this.#closed) return
    this.#closed = true
    for (const s of this.streams.values()) s.remoteEnd()
    this.#deflate.close()
    this.#inflate.close()
    if (destroy) this.socket.destroy()
    this.options.onClose?.(reason)
  }
}

// SPDY/3.1 frames as bytes (the draft's section 2): a parser that cuts a byte stream into frames and
// the builders of the frames a server sends. Header blocks are handled uncompressed here; the
// connection (connection.ts) runs them through its zlib contexts.

export const SPDY_VERSION = 3

export const enum FrameType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

export const FLAG_FIN = 0x01

/** RST_STREAM status codes. */
export const RST = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6, streamInUse: 8 } as const

/** The largest frame a client may send us (SPDY's 24-bit length); more is a protocol error. */
const MAX_LENGTH = 0xffffff

export type Frame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; version: number; type: number; flags: number; payload: Buffer }

export class FrameError extends Error {}

/** Cuts a byte stream into frames; bytes may arrive in any pieces. */
export class FrameParser {
  #buf: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    const frames: Frame[] = []
    while (this.#buf.length >= 8) {
      const length = this.#buf.readUIntBE(5, 3)
      if (length > MAX_LENGTH) throw new FrameError(`frame too long: ${length}`)
      if (this.#buf.length < 8 + length) break
      const head = this.#buf.readUInt32BE(0)
      const flags = this.#buf[4]!
      const body = this.#buf.subarray(8, 8 + length)
      this.#buf = this.#buf.subarray(8 + length)
      if (head & 0x80000000) {
        frames.push({ control: true, version: (head >>> 16) & 0x7fff, type: head & 0xffff, flags, payload: Buffer.from(body) })
      } else {
        frames.push({ control: false, streamId: head & 0x7fffffff, flags, data: Buffer.from(body) })
      }
    }
    return frames
  }
}

function control(type: FrameType, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE((0x8000 | SPDY_VERSION) * 0x10000 + type, 0)
  head[4] = flags
  head.writeUIntBE(payload.length, 5, 3)
  return Buffer.concat([head, payload])
}

const u32s = (...values: number[]): Buffer => {
  const b = Buffer.alloc(4 * values.length)
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4))
  return b
}

export function dataFrame(streamId: number, data: Buffer, fin = false): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(streamId & 0x7fffffff, 0)
  head[4] = fin ? FLAG_FIN : 0
  head.writeUIntBE(data.length, 5, 3)
  return Buffer.concat([head, data])
}

export const synReplyFrame = (streamId: number, compressedHeaders: Buffer, fin = false): Buffer =>
  control(FrameType.SynReply, fin ? FLAG_FIN : 0, Buffer.concat([u32s(streamId & 0x7fffffff), compressedHeaders]))

export const synStreamFrame = (streamId: number, compressedHeaders: Buffer, fin = false): Buffer =>
  control(FrameType.SynStream, fin ? FLAG_FIN : 0, Buffer.concat([u32s(streamId & 0x7fffffff, 0), Buffer.from([0, 0]), compressedHeaders]))

export const rstStreamFrame = (streamId: number, status: number): Buffer => control(FrameType.RstStream, 0, u32s(streamId, status))
export const pingFrame = (id: number): Buffer => control(FrameType.Ping, 0, u32s(id))
export const goAwayFrame = (lastGoodStreamId: number, status = 0): Buffer => control(FrameType.GoAway, 0, u32s(lastGoodStreamId, status))

/** A header block, uncompressed: pairs of length-prefixed names and values (several values NUL-separated). */
export function encodeHeaders(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [u32s(Object.keys(headers).length)]
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name.toLowerCase())
    const v = Buffer.from(value)
    parts.push(u32s(n.length), n, u32s(v.length), v)
  }
  return Buffer.concat(parts)
}

/** Decodes an uncompressed header block; names are lower case (Go's framer refuses others). */
export function decodeHeaders(block: Buffer): Record<string, string> {
  const need = (at: number, n: number): void => {
    if (at + n > block.length) throw new FrameError('truncated header block')
  }
  need(0, 4)
  const count = block.readUInt32BE(0)
  let at = 4
  const headers: Record<string, string> = {}
  for (let i = 0; i < count; i++) {
    need(at, 4)
    const nameLength = block.readUInt32BE(at)
    need(at + 4, nameLength + 4)
    const name = block.toString('utf8', at + 4, at + 4 + nameLength)
    at += 4 + nameLength
    const valueLength = block.readUInt32BE(at)
    need(at + 4, valueLength)
    const value = block.toString('utf8', at + 4, at + 4 + valueLength)
    at += 4 + valueLength
    if (name === '' || name !== name.toLowerCase()) throw new FrameError(`invalid header name ${JSON.stringify(name)}`)
    if (name in headers) throw new FrameError(`duplicate header ${JSON.stringify(name)}`)
    headers[name] = value.split('\0')[0] ?? ''
  }
  return headers
}

// The SPDY/3.1 framer and connection (src/streaming/spdy/) against a client written here from the
// draft: frames cut from any pieces, header blocks through zlib with the SPDY/3 dictionary in both
// directions, SYN_REPLY, PING echo, FIN, RST_STREAM, garbage and a vanished client.
import { Duplex } from 'node:stream'
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib'
import { describe, expect, test } from 'vitest'
import { SPDY3_DICTIONARY } from '../../src/streaming/spdy/dictionary.js'
import { SpdyConnection, type SpdyStream } from '../../src/streaming/spdy/connection.js'
import {
  FrameParser,
  FrameType,
  dataFrame,
  decodeHeaders,
  encodeHeaders,
  pingFrame,
  rstStreamFrame,
  synStreamFrame,
  type Frame,
} from '../../src/streaming/spdy/frames.js'

const through = (z: Deflate | Inflate, input: Buffer): Promise<Buffer> =>
  new Promise((resolve) => {
    const out: Buffer[] = []
    const on = (c: Buffer) => out.push(c)
    z.on('data', on)
    z.write(input)
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off('data', on)
      resolve(Buffer.concat(out))
    })
  })

/** A SPDY client over an in-memory pipe pair, with its own zlib contexts (as spdystream has). */
function pair(onStream: (s: SpdyStream) => string | undefined = () => undefined) {
  const frames: Frame[] = []
  const parser = new FrameParser()
  // The server's socket: what it writes is parsed as the client reads it; push() is the client writing.
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      frames.push(...parser.push(chunk))
      done()
    },
  })
  let closedWith: string | undefined
  const server = new SpdyConnection(socket, { onStream, onClose: (r) => (closedWith = r) })
  const deflate = createDeflate({ dictionary: SPDY3_DICTIONARY })
  const inflate = createInflate({ dictionary: SPDY3_DICTIONARY })
  return {
    server,
    frames,
    vanish: () => socket.destroy(),
    closedWith: () => closedWith,
    send: (b: Buffer) => socket.push(b),
    open: async (id: number, headers: Record<string, string>) =>
      socket.push(synStreamFrame(id, await through(deflate, encodeHeaders(headers)))),
    replyHeaders: (f: Frame) => (f.control ? through(inflate, f.payload.subarray(4)).then(decodeHeaders) : undefined),
  }
}

/** Waits until `done()` holds (header blocks go through zlib asynchronously; under load that takes a while). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 5000; !done(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
  }
}
const count = (frames: Frame[], type: FrameType) => frames.filter((f) => f.control && f.type === type).length

describe('frames', () => {
  test('a parser cuts frames from pieces of any size', () => {
    const bytes = Buffer.concat([dataFrame(1, Buffer.from('hello'), true), pingFrame(7), rstStreamFrame(3, 5)])
    const parser = new FrameParser()
    const frames: Frame[] = []
    for (const b of bytes) frames.push(...parser.push(Buffer.from([b])))
    expect(frames).toHaveLength(3)
    expect(frames[0]).toEqual({ control: false, streamId: 1, flags: 1, data: Buffer.from('hello') })
    expect(frames[1]).toMatchObject({ control: true, version: 3, type: FrameType.Ping })
    expect(frames[2]).toMatchObject({ control: true, type: FrameType.RstStream })
  })

  test('header blocks: lower-case names, NUL-separated values, truncation and duplicates refused', () => {
    expect(decodeHeaders(encodeHeaders({ streamtype: 'stdout', port: '80' }))).toEqual({ streamtype: 'stdout', port: '80' })
    expect(decodeHeaders(encodeHeaders({ StreamType: 'a' }))).toEqual({ streamtype: 'a' })
    const block = encodeHeaders({ a: 'x' })
    expect(() => decodeHeaders(block.subarray(0, block.length - 1))).toThrow(/truncated/)
    const twice = Buffer.concat([Buffer.from([0, 0, 0, 2]), encodeHeaders({ a: 'x' }).subarray(4), encodeHeaders({ a: 'y' }).subarray(4)])
    expect(() => decodeHeaders(twice)).toThrow(/duplicate/)
  })
})

describe('connection', () => {
  test('SYN_STREAM is answered with SYN_REPLY; data both ways; FIN ends the client side', async () => {
    const streams: SpdyStream[] = []
    const c = pair((s) => void streams.push(s))
    await c.open(1, { streamtype: 'stdin' })
    await c.open(3, { streamtype: 'stdout' })
    c.send(dataFrame(1, Buffer.from('typed')))
    c.send(dataFrame(1, Buffer.alloc(0), true))
    await until(() => count(c.frames, FrameType.SynReply) === 2 && streams[0]?.remoteEnded === true, 'both replies and the FIN')
    expect(streams.map((s) => s.headers['streamtype'])).toEqual(['stdin', 'stdout'])
    const replies = c.frames.filter((f) => f.control && f.type === FrameType.SynReply)
    expect(replies).toHaveLength(2)
    // The reply headers go through the server's deflate context: the client's inflate reads them in order.
    expect(await c.replyHeaders(replies[0]!)).toEqual({})
    expect(await c.replyHeaders(replies[1]!)).toEqual({})
    let got = ''
    let ended = false
    streams[0]!.read(
      (d) => (got += d.toString()),
      () => (ended = true),
    )
    expect([got, ended]).toEqual(['typed', true])
    streams[1]!.write('out')
    streams[1]!.end()
    await until(() => c.frames.filter((f) => !f.control).length === 2, 'the data frames')
    const data = c.frames.filter((f) => !f.control)
    expect(data.map((f) => (f.control ? '' : `${f.streamId}:${f.data.toString()}:${f.flags}`))).toEqual(['3:out:0', '3::1'])
  })

  test('PING is echoed; SETTINGS and WINDOW_UPDATE are taken and ignored', async () => {
    const c = pair()
    c.send(pingFrame(42))
    await until(() => count(c.frames, FrameType.Ping) === 1, 'the echo')
    const ping = c.frames.find((f) => f.control && f.type === FrameType.Ping)
    expect(ping?.control && ping.payload.readUInt32BE(0)).toBe(42)
  })

  test('a refused stream gets RST_STREAM; data on an unknown stream gets RST_STREAM', async () => {
    const c = pair(() => 'no')
    await c.open(1, { streamtype: 'bogus' })
    c.send(dataFrame(9, Buffer.from('x')))
    await until(() => count(c.frames, FrameType.RstStream) === 2, 'two resets')
  })

  test('garbage is a protocol error: GOAWAY and the connection closes, the server does not crash', async () => {
    const c = pair()
    c.send(Buffer.from([0x80, 0x02, 0, 1, 0, 0, 0, 0])) // SPDY/2
    await until(() => c.closedWith() !== undefined, 'the close')
    expect(c.frames.some((f) => f.control && f.type === FrameType.GoAway)).toBe(true)
    expect(c.closedWith()).toMatch(/protocol error: unsupported SPDY version 2/)
    const d = pair()
    d.send(synStreamFrame(1, Buffer.from('not zlib at all')))
    await until(() => d.closedWith() !== undefined, 'the close')
    expect(d.closedWith()).toMatch(/protocol error/)
  })

  test('a client that vanishes ends every stream it had', async () => {
    const streams: SpdyStream[] = []
    const c = pair((s) => void streams.push(s))
    await c.open(1, { streamtype: 'stdin' })
    await until(() => streams.length === 1, 'the stream')
    let ended = false
    streams[0]!.read(
      () => {},
      () => (ended = true),
    )
    c.vanish()
    await until(() => c.server.closed, 'the close')
    expect(ended).toBe(true)
    expect(c.server.closed).toBe(true)
    expect(c.closedWith()).toBe('connection closed')
  })
})

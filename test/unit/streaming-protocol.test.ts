// The streaming server's pieces that need no connection: the request cache (tokens), version
// negotiation and its errors, the status messages, resize parsing, port-forward stream checks.
import type { IncomingMessage } from 'node:http'
import { Duplex } from 'node:stream'
import { describe, expect, test } from 'vitest'
import { negotiate } from '../../src/streaming/handshake.js'
import { checkPortForwardStream } from '../../src/streaming/portforward.js'
import { exitStatus, internalError, resizeReader, statusBytes, successStatus } from '../../src/streaming/remotecommand.js'
import { parseStreamAddress } from '../../src/listen-address.js'
import { REMOTECOMMAND_PROTOCOLS } from '../../src/streaming/spdy-remotecommand.js'
import { MAX_IN_FLIGHT, RequestCache, TOKEN_TTL_MS } from '../../src/streaming/tokens.js'

describe('request cache', () => {
  test('tokens are 8 base64url characters, single use, and expire after a minute', () => {
    let now = 1_000
    const cache = new RequestCache<string>(() => now)
    const a = cache.insert('a')
    expect(a).toMatch(/^[A-Za-z0-9_-]{8}$/)
    expect(cache.consume(a)).toBe('a')
    expect(cache.consume(a)).toBeUndefined()
    expect(cache.consume('unknown1')).toBeUndefined()
    const b = cache.insert('b')
    now += TOKEN_TTL_MS + 1
    expect(cache.consume(b)).toBeUndefined()
  })

  test('at most 1000 in flight: then ResourceExhausted, until some expire', () => {
    let now = 0
    const cache = new RequestCache<number>(() => now)
    for (let i = 0; i < MAX_IN_FLIGHT; i++) cache.insert(i)
    expect(() => cache.insert(-1)).toThrow('maximum number of in-flight requests exceeded')
    now += TOKEN_TTL_MS + 1
    expect(cache.insert(0)).toMatch(/^.{8}$/)
    expect(cache.size).toBe(1)
  })
})

/** A request with these raw headers, and the bytes a handshake error writes. */
function handshake(headers: [string, string][]): { protocol: string | undefined; reply: string } {
  const req = {
    rawHeaders: headers.flat(),
    headers: Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v])),
  } as unknown as IncomingMessage
  let reply = ''
  const socket = new Duplex({
    read() {},
    write(c: Buffer, _e, done) {
      reply += c.toString()
      done()
    },
  })
  return { protocol: negotiate(req, socket, REMOTECOMMAND_PROTOCOLS), reply }
}

describe('negotiation', () => {
  test("the client's first protocol the server has wins, from repeated or comma-separated headers", () => {
    const h = 'X-Stream-Protocol-Version'
    expect(
      handshake([
        [h, 'v5.channel.k8s.io'],
        [h, 'v4.channel.k8s.io'],
        [h, 'channel.k8s.io'],
      ]).protocol,
    ).toBe('v4.channel.k8s.io')
    expect(handshake([[h, 'v2.channel.k8s.io, v4.channel.k8s.io']]).protocol).toBe('v2.channel.k8s.io')
  })

  test('no header: 400; nothing in common: 403 naming both lists and the accepted versions', () => {
    const none = handshake([['Upgrade', 'SPDY/3.1']])
    expect(none.protocol).toBeUndefined()
    expect(none.reply).toMatch(/^HTTP\/1.1 400 Bad Request/)
    expect(none.reply).toContain('unable to upgrade: header X-Stream-Protocol-Version does not exist in request with 1 headers\n')
    const other = handshake([['X-Stream-Protocol-Version', 'v9.channel.k8s.io']])
    expect(other.reply).toMatch(/^HTTP\/1.1 403 Forbidden/)
    expect(other.reply).toContain('X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io\r\n')
    expect(other.reply).toContain(
      'unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]',
    )
  })
})

describe('status messages', () => {
  test('v4 JSON as kubelet marshals it; before v4 only a failure, as text', () => {
    expect(statusBytes(successStatus, true)?.toString()).toBe('{"status":"Success"}')
    expect(statusBytes(successStatus, false)).toBeUndefined()
    expect(JSON.parse(statusBytes(exitStatus(['sh', '-c', 'exit 3'], 3), true)!.toString())).toEqual({
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    })
    expect(statusBytes(internalError('boom'), false)?.toString()).toBe('Internal error occurred: boom')
  })

  test('resize messages: a JSON object stream, in any pieces; sizes below 1 and junk skipped', () => {
    const sizes: [number, number][] = []
    const feed = resizeReader((w, h) => sizes.push([w, h]))
    feed(Buffer.from('{"Width":80,"Height":24}\n{"Wid'))
    feed(Buffer.from('th":120,"Height":40}{"Width":0,"Height":9}not json{"Width":"x"}'))
    expect(sizes).toEqual([
      [80, 24],
      [120, 40],
    ])
  })
})

test('port-forward streams need a port (1-65535) and a type of error or data', () => {
  expect(checkPortForwardStream({ port: '80', streamtype: 'data' })).toBeUndefined()
  expect(checkPortForwardStream({ streamtype: 'data' })).toBe('"port" header is required')
  expect(checkPortForwardStream({ port: 'http', streamtype: 'data' })).toBe('unable to parse "http" as a port')
  expect(checkPortForwardStream({ port: '0', streamtype: 'data' })).toBe('port "0" must be > 0')
  expect(checkPortForwardStream({ port: '80' })).toBe('"streamType" header is required')
  expect(checkPortForwardStream({ port: '80', streamtype: 'stdin' })).toBe('invalid stream type "stdin"')
})

test('--stream-address: HOST:PORT, a bare host, [IPv6]:PORT; junk refused', () => {
  expect(parseStreamAddress('127.0.0.1:10010')).toEqual({ host: '127.0.0.1', port: 10010 })
  expect(parseStreamAddress('127.0.0.2')).toEqual({ host: '127.0.0.2', port: 0 })
  expect(parseStreamAddress(':0')).toEqual({ host: '127.0.0.1', port: 0 })
  expect(parseStreamAddress('[::1]:9')).toEqual({ host: '::1', port: 9 })
  expect(() => parseStreamAddress('a:b:c')).toThrow(/invalid stream address/)
  expect(() => parseStreamAddress('x:70000')).toThrow(/invalid stream address/)
})

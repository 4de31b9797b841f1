// Redirects on a host with TLS settings, as Go's client follows them: the method after a 302, and
// where the Authorization header goes (a real HTTPS server on loopback, the test's CA trusted).
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { http, HttpResponse } from 'msw'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { send } from '../../src/registry/transport.js'
import { hasOpenssl, makePki, serveHttps, type HttpsServer, type Pki } from '../registry-tls.js'

describe.skipIf(!hasOpenssl())("redirects with a host's TLS settings", () => {
  let pki: Pki
  let a: HttpsServer
  let b: HttpsServer
  const seen: { at: string; method: string; auth: string | null }[] = []
  const handlers = (origin: string) => [
    http.all(`${origin}/*`, ({ request }) => {
      const url = new URL(request.url)
      seen.push({ at: `${url.hostname}${url.pathname}`, method: request.method, auth: request.headers.get('authorization') })
      const to = url.searchParams.get('to')
      if (to) return new HttpResponse(null, { status: Number(url.searchParams.get('status') ?? 302), headers: { Location: to } })
      return new HttpResponse('done')
    }),
  ]
  beforeAll(async () => {
    pki = makePki(mkdtempSync(join(tmpdir(), 'fc-transport-')))
    a = await serveHttps(pki, handlers)
    b = await serveHttps(pki, handlers, { address: '127.0.0.2' })
  }, 30_000)
  afterAll(async () => {
    await a?.close()
    await b?.close()
  })

  test('a PUT answered 302 goes on as a GET; Authorization kept on the same host name, dropped for another and after', async () => {
    const tls = { ca: [readFileSync(pki.ca, 'utf8')] }
    const onward = `${b.origin}/other?to=${encodeURIComponent(`${a.origin}/back`)}`
    const first = `${a.origin}/start?to=${encodeURIComponent(`${a.origin}/same?to=${encodeURIComponent(onward)}`)}`
    const res = await send(new URL(first), { method: 'PUT', headers: { Authorization: 'Bearer t' }, body: 'x' }, tls)
    expect(await res.text()).toBe('done')
    expect(seen).toEqual([
      { at: '127.0.0.1/start', method: 'PUT', auth: 'Bearer t' },
      { at: '127.0.0.1/same', method: 'GET', auth: 'Bearer t' },
      { at: '127.0.0.2/other', method: 'GET', auth: null },
      { at: '127.0.0.1/back', method: 'GET', auth: null },
    ])
  })
})

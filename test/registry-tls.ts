// TLS for the registry tests: the test's CA and certificates (registry-pki.mjs), and a real HTTPS
// server on loopback that answers with msw handlers (a MockRegistry's), so what a client's TLS
// settings do is tested against a real handshake while the registry's answers stay the mock's.
import { readFileSync } from 'node:fs'
import { createServer, type ServerOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { getResponse, type HttpHandler } from 'msw'
import { hasOpenssl, makePki, type Pki } from './registry-pki.mjs'

export { hasOpenssl, makePki, type Pki }

export interface HttpsServer {
  origin: string
  host: string
  /** Handshakes the server saw fail (a client that refused its certificate, or gave none). */
  failedHandshakes: number
  close(): Promise<void>
}

/**
 * An HTTPS server on `address` answering each request with `handlers(origin)` (asked anew each time,
 * so they may be made after the server); `clientCa` makes it require a client certificate signed by that CA.
 */
export async function serveHttps(
  pki: Pki,
  handlers: (origin: string) => HttpHandler[],
  options: { address?: string; clientCa?: string } = {},
): Promise<HttpsServer> {
  const tls: ServerOptions = {
    cert: readFileSync(pki.serverCert),
    key: readFileSync(pki.serverKey),
    ...(options.clientCa ? { ca: readFileSync(options.clientCa), requestCert: true, rejectUnauthorized: true } : {}),
  }
  let origin = ''
  const server = createServer(tls, (req, res) => {
    void (async () => {
      const request = new Request(new URL(req.url ?? '/', origin), {
        method: req.method ?? 'GET',
        headers: Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])),
        ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' }),
      } as RequestInit)
      const answer = (await getResponse(handlers(origin), request)) ?? new Response('no handler', { status: 404 })
      res.writeHead(answer.status, answer.statusText, [...answer.headers].flat())
      if (!answer.body || req.method === 'HEAD') return res.end()
      for await (const chunk of answer.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk)
      res.end()
    })().catch((err: unknown) => res.destroy(err as Error))
  })
  const result: HttpsServer = {
    origin: '',
    host: '',
    failedHandshakes: 0,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
  server.on('tlsClientError', () => result.failedHandshakes++)
  await new Promise<void>((resolve) => server.listen(0, options.address ?? '127.0.0.1', resolve))
  const { address, port } = server.address() as AddressInfo
  result.host = `${address}:${port}`
  result.origin = origin = `https://${result.host}`
  return result
}

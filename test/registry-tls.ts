// TLS for the registry tests: a CA made with openssl for the test (its key, a server certificate for
// 127.0.0.1 and 127.0.0.2, a client certificate, and a CA nobody trusts), and a real HTTPS server on
// loopback that answers with msw handlers (a MockRegistry's), so what a client's TLS settings do is
// tested against a real handshake while the registry's answers stay the mock's.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type ServerOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { getResponse, type HttpHandler } from 'msw'

export const hasOpenssl = (): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export interface Pki {
  /** Paths of the PEM files. */
  ca: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** A CA that signed nothing here (a `ca` that does not help). */
  otherCa: string
}

/** Makes a CA and certificates signed by it in `dir` (P-256 keys, one day). */
export function makePki(dir: string): Pki {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const key = (name: string): void => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name)
  const ca = (name: string, cn: string): void => {
    key(`${name}-key.pem`)
    openssl('req', '-x509', '-new', '-key', `${name}-key.pem`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${cn}`)
  }
  const signed = (name: string, cn: string, ext: string): void => {
    key(`${name}-key.pem`)
    openssl('req', '-new', '-key', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
    writeFileSync(join(dir, `${name}.ext`), ext)
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`)
  }
  ca('ca', 'fake-containerd test CA')
  ca('other-ca', 'a CA nobody uses')
  signed('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2\nextendedKeyUsage=serverAuth\n')
  signed('client', 'registry-client', 'extendedKeyUsage=clientAuth\n')
  const at = (f: string): string => join(dir, f)
  return {
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server-key.pem'),
    clientCert: at('client.pem'),
    clientKey: at('client-key.pem'),
    otherCa: at('other-ca.pem'),
  }
}

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

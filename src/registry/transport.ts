// One HTTP request to a registry host, answered as a fetch Response. A host without TLS settings of
// its own goes through fetch (the system's roots; fetch's redirect rules: at most 20, Authorization
// dropped when a redirect changes scheme, host or port, 301/302 after a POST and 303 become a GET);
// one with them (hosts.toml `ca`, `client`, `skip_verify`) through node:https with those settings, as
// containerd gives such a host a transport of its own, with Go's dial and handshake timeouts and
// Go's redirect rules (Go 1.22+'s net/http: at most 10; Authorization kept only while a redirect
// stays on the first request's host name or a subdomain of it; 301, 302 and 303 turn any method but
// GET and HEAD into a GET), each hop with the host's TLS settings.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import * as tlsModule from 'node:tls'
import { readRegularFile } from './read-file.js'
import { Readable } from 'node:stream'
import { RegistryError } from './errors.js'
import { checkServerIdentity, goTlsError, type HostTls } from './tls.js'

export interface SendInit {
  method: string
  headers: Record<string, string>
  signal?: AbortSignal
  body?: string | Uint8Array
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
/** Statuses whose responses carry no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 204, 205, 304])

/** Go's dialer gives a connection 30 s (containerd's transport); its client a TLS handshake 10 s. */
export const DIAL_TIMEOUT_MS = 30_000
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000

/**
 * Ends a request whose connection or TLS handshake takes longer than Go's transport allows, in Go's
 * words: a server that accepts the connection and never answers the handshake does not hold the pull.
 */
function limitHandshake(req: ClientRequest, url: URL): void {
  req.once('socket', (socket) => {
    const addr = url.host.includes(':') ? url.host : `${url.host}:443`
    let timer = setTimeout(() => req.destroy(new Error(`dial tcp ${addr}: i/o timeout`)), DIAL_TIMEOUT_MS)
    const clear = (): void => clearTimeout(timer)
    socket.once('connect', () => {
      clear()
      timer = setTimeout(() => req.destroy(new Error('net/http: TLS handshake timeout')), TLS_HANDSHAKE_TIMEOUT_MS)
    })
    socket.once('secureConnect', clear)
    socket.once('close', clear)
  })
}

let roots: string[] | undefined

/**
 * The roots a host without `ca` is checked against, which a host with `ca` keeps: Node's default
 * store (tls.getCACertificates('default') where this Node has it: its bundle, NODE_EXTRA_CA_CERTS and
 * the system's store when Node is told to use it), else the bundle and NODE_EXTRA_CA_CERTS's file.
 */
function defaultRoots(): string[] {
  if (roots) return roots
  const get = (tlsModule as { getCACertificates?: (type: string) => string[] }).getCACertificates
  if (get) return (roots = get('default'))
  const extra = process.env.NODE_EXTRA_CA_CERTS
  let added: string[] = []
  if (extra) {
    try {
      added = [...readRegularFile(extra).matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => m[0])
    } catch {
      // Node warns about an unreadable NODE_EXTRA_CA_CERTS at start and goes on without it; so do we.
    }
  }
  return (roots = [...tlsModule.rootCertificates, ...added])
}

function once(url: URL, init: SendInit, tls: HostTls): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const options = {
      method: init.method,
      headers: init.headers,
      ...(init.signal ? { signal: init.signal } : {}),
    }
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, {
            ...options,
            rejectUnauthorized: tls.skipVerify !== true,
            checkServerIdentity,
            // Go adds the CA files to the system's pool; Node's `ca` replaces its roots, so both are given.
            ...(tls.ca ? { ca: [...defaultRoots(), ...tls.ca] } : {}),
            ...(tls.certs?.[0] ? { cert: tls.certs.map((c) => c.cert), key: tls.certs.map((c) => c.key) } : {}),
            // No connection is shared with requests made under other settings.
            agent: false,
          })
        : httpRequest(url, { ...options, agent: false })
    if (url.protocol === 'https:') limitHandshake(req, url)
    req.once('response', resolve)
    req.once('error', reject)
    req.end(init.body)
  })
}

function toResponse(res: IncomingMessage, method: string): Response {
  const headers = new Headers()
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string)
  const status = res.statusCode ?? 0
  const noBody = method === 'HEAD' || NULL_BODY.has(status)
  if (noBody) res.resume()
  const body = noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>)
  return new Response(body, { status, statusText: res.statusMessage ?? '', headers })
}

/** Go's isDomainOrSubdomain on host names (no port): "a.b.c" is within "b.c". */
function domainOrSubdomain(sub: string, parent: string): boolean {
  const a = sub.toLowerCase()
  const b = parent.toLowerCase()
  return a === b || (isIP(a.replace(/^\[|\]$/g, '')) === 0 && a.endsWith(`.${b}`))
}

/** Sends a request with a host's TLS settings, following redirects; a fetch error's shape when it fails. */
export async function send(url: URL, init: SendInit, tls: HostTls | undefined): Promise<Response> {
  if (!tls) return fetch(url, { ...init, redirect: 'follow' })
  let at = url
  let current = init
  for (let hops = 0; ; hops++) {
    let res: IncomingMessage
    try {
      res = await once(at, current, tls)
    } catch (err) {
      // As fetch reports it: a TypeError whose cause is the socket's error.
      throw new TypeError('fetch failed', { cause: err })
    }
    const location = res.headers.location
    if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) return toResponse(res, current.method)
    res.resume()
    if (hops === 9) throw new TypeError('fetch failed', { cause: new Error('stopped after 10 redirects') })
    const next = new URL(location, at)
    const headers = { ...current.headers }
    // Go keeps Authorization while the redirect stays on the first request's host name or a
    // subdomain of it; once dropped it stays dropped.
    if (!domainOrSubdomain(next.hostname, url.hostname)) {
      for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k]
    }
    // 301, 302 and 303 turn any method but GET and HEAD into a GET, without its body.
    const toGet = [301, 302, 303].includes(res.statusCode ?? 0) && current.method !== 'GET' && current.method !== 'HEAD'
    current = toGet ? { method: 'GET', headers, ...(init.signal ? { signal: init.signal } : {}) } : { ...current, headers }
    at = next
  }
}

const goMethod = (m: string): string => m[0] + m.slice(1).toLowerCase()

/**
 * A request that got no response, as Go's client reports it (url.Error: `Get "<url>": <why>`), in
 * Go's words for a refused connection, an unknown host, a reset or a failed handshake; Cancelled
 * (`context canceled`) when the caller's signal ended it.
 */
export function requestError(method: string, url: URL, err: unknown, signal: AbortSignal | undefined): RegistryError {
  const at = `${goMethod(method)} "${url.toString()}"`
  if (signal?.aborted) return new RegistryError('Cancelled', `${at}: context canceled`)
  const cause = (err as { cause?: { code?: string } }).cause
  const code = cause?.code ?? (err as { code?: string }).code
  const addr = url.host.includes(':') ? url.host : `${url.host}:${url.protocol === 'http:' ? 80 : 443}`
  const why =
    goTlsError(err) ??
    (code === 'ECONNREFUSED'
      ? `dial tcp ${addr}: connect: connection refused`
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? `dial tcp: lookup ${url.hostname}: no such host`
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
          ? 'EOF'
          : ((cause as Error | undefined)?.message ?? (err as Error).message))
  return new RegistryError('Unknown', `${at}: ${why}`)
}

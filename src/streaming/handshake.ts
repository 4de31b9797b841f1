// The HTTP side of an upgrade, as kubelet's httpstream package answers it: protocol negotiation
// over X-Stream-Protocol-Version (the client's order wins), and the errors it writes with Go's
// http.Error (text/plain, a trailing newline).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'

export const PROTOCOL_HEADER = 'X-Stream-Protocol-Version'
const ACCEPTED_HEADER = 'X-Accepted-Stream-Protocol-Versions'

/** Where an answer goes: a plain request's response, or the raw socket of an upgrade request. */
export type Reply = ServerResponse | Duplex

/** Writes an HTTP error as Go's http.Error does. */
export function httpError(to: Reply, status: number, message: string, headers: [string, string][] = []): void {
  const body = `${message}\n`
  const all: [string, string][] = [
    ...headers,
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['X-Content-Type-Options', 'nosniff'],
    ['Content-Length', String(Buffer.byteLength(body))],
  ]
  if ('writeHead' in to) {
    to.writeHead(status, all)
    to.end(body)
    return
  }
  if (!to.writable) return
  const lines = all.map(([k, v]) => `${k}: ${v}\r\n`).join('')
  to.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines}Connection: close\r\n\r\n${body}`)
}

/** Go's %v of a []string. */
const goList = (items: readonly string[]): string => `[${items.join(' ')}]`

/** Go's canonical form of a header name (content-type → Content-Type). */
export const canonical = (name: string): string => name.replace(/[a-z0-9]+/gi, (w) => w[0]!.toUpperCase() + w.slice(1).toLowerCase())

/** The client's protocols: every X-Stream-Protocol-Version value, comma-split, in order. */
function clientProtocols(req: IncomingMessage): string[] | undefined {
  const values: string[] = []
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === PROTOCOL_HEADER.toLowerCase()) values.push(req.rawHeaders[i + 1]!)
  }
  if (values.length === 0) return undefined
  return values.flatMap((v) => v.split(',').map((p) => p.trim())).filter((p) => p !== '')
}

/** The number of header keys Go's Request.Header has (Host is not one of them). */
const headerCount = (req: IncomingMessage): number => new Set(Object.keys(req.headers).filter((k) => k !== 'host')).size

/**
 * Negotiates the stream protocol (httpstream.Handshake): the first of the client's that the server
 * supports. On failure the error is written and undefined returned.
 */
export function negotiate(req: IncomingMessage, to: Reply, supported: readonly string[]): string | undefined {
  const offered = clientProtocols(req)
  if (offered === undefined) {
    httpError(to, 400, `unable to upgrade: header ${PROTOCOL_HEADER} does not exist in request with ${headerCount(req)} headers`)
    return undefined
  }
  if (offered.length === 0) {
    httpError(to, 400, `unable to upgrade: header ${PROTOCOL_HEADER} contains [], but no valid protocols`)
    return undefined
  }
  const chosen = offered.find((p) => supported.includes(p))
  if (chosen === undefined) {
    httpError(
      to,
      403,
      `unable to upgrade: unable to negotiate protocol: client supports ${goList(offered)}, server accepts ${goList(supported)}`,
      supported.map((p) => [ACCEPTED_HEADER, p]),
    )
  }
  return chosen
}

/** Go's %#v of the request's http.Header, as the upgrade error prints it. */
export function goHeaderDump(req: IncomingMessage): string {
  const map = new Map<string, string[]>()
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = canonical(req.rawHeaders[i]!)
    if (k === 'Host') continue
    map.set(k, [...(map.get(k) ?? []), req.rawHeaders[i + 1]!])
  }
  const entries = [...map.keys()].sort().map(
    (k) =>
      `${JSON.stringify(k)}:[]string{${map
        .get(k)!
        .map((v) => JSON.stringify(v))
        .join(', ')}}`,
  )
  return `http.Header{${entries.join(', ')}}`
}

/** Does the request ask to upgrade to this protocol (Connection: Upgrade, Upgrade: <protocol>)? */
export function asksUpgrade(req: IncomingMessage, protocol: string): boolean {
  const connection = String(req.headers.connection ?? '').toLowerCase()
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase()
  return connection.includes('upgrade') && upgrade.includes(protocol.toLowerCase())
}

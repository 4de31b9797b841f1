// The addresses the servers besides the socket listen on (the streaming server's --stream-address,
// the web view's --web): "HOST:PORT" read, and a node:http server listening there. A leaf, so that
// the flag table (flags.ts) reads them without importing a server.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** "HOST:PORT" (port 0 or none: a free one); the host defaults to 127.0.0.1. `what` names it in the error (the web view's too). */
export function parseStreamAddress(text: string, what = 'stream address'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(text.trim())
  const port = Number(m?.[3] ?? 0)
  if (!m || port > 65535) throw new Error(`invalid ${what} ${JSON.stringify(text)}: want HOST:PORT, e.g. 127.0.0.1:10010`)
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port }
}

/** Listens on a parsed address; resolves with the address bound and its http://HOST:PORT (the web view's too). */
export async function listenAt(
  server: Server,
  { host, port }: { host: string; port: number },
): Promise<{ bound: AddressInfo; base: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = server.address() as AddressInfo
  return { bound, base: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` }
}

/** The web view's address (--web, the web option): as parseStreamAddress reads it, but never empty (that is no address, not "a free port"). */
export function parseWebAddress(text: string): { host: string; port: number } {
  if (text.trim() === '')
    throw new Error(
      'the web address is empty: give HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one), or leave it out to keep the web view off',
    )
  return parseStreamAddress(text, 'web address')
}

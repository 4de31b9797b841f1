// HTTP/1.1 over simulated connections, as the servers of the simulator speak it (busybox httpd,
// nginx, Apache httpd): reading a request, finding a static file under a document root, writing a
// response, and the date formats their headers and access logs use. Each server decides its own
// headers, pages and log lines; this is only what they share.
import type { CommandContext } from './context.js'
import type { Fs } from './fs/types.js'
import { resolvePath } from './fs/types.js'
import type { Connection, Listener, SocketOwner } from './net.js'
import { StreamReader } from './net.js'

export interface HttpRequest {
  method: string
  /** The request target as sent ("/a%20b?x=1"). */
  target: string
  /** The path, percent-decoded, without the query. */
  path: string
  version: string
  /** Header names in lower case. */
  headers: Map<string, string>
  /** The request line as sent. */
  line: string
}

/** Reads a request line and its headers; undefined at end of stream, 'bad' for a malformed request line. */
export async function readRequest(reader: StreamReader): Promise<HttpRequest | 'bad' | undefined> {
  let line = await reader.line()
  // Blank lines before a request are skipped (RFC 9112 2.2).
  while (line === '') line = await reader.line()
  if (line === undefined) return undefined
  const m = /^([A-Za-z]+) (\S+) (HTTP\/\d\.\d)$/.exec(line)
  if (!m) return 'bad'
  const headers = new Map<string, string>()
  for (;;) {
    const h = await reader.line()
    if (h === undefined || h === '') break
    const colon = h.indexOf(':')
    if (colon > 0) headers.set(h.slice(0, colon).trim().toLowerCase(), h.slice(colon + 1).trim())
  }
  const target = m[2] as string
  const raw = target.split('?')[0] as string
  let path: string
  try {
    path = decodeURIComponent(raw)
  } catch {
    return 'bad'
  }
  return { method: (m[1] as string).toUpperCase(), target, path, version: m[3] as string, headers, line }
}

/** The client asked to keep the connection open after this response. */
export function keepAlive(req: HttpRequest): boolean {
  const connection = (req.headers.get('connection') ?? '').toLowerCase()
  return req.version === 'HTTP/1.1' ? connection !== 'close' : connection === 'keep-alive'
}

export interface HttpResponse {
  status: number
  reason: string
  /** In the order they are sent. */
  headers: [string, string][]
  body: Buffer
}

/** The bytes of a response; a HEAD request gets the headers only. */
export function responseBytes(res: HttpResponse, head: boolean): Buffer {
  const lines = [`HTTP/1.1 ${res.status} ${res.reason}`, ...res.headers.map(([k, v]) => `${k}: ${v}`)]
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), head ? Buffer.alloc(0) : res.body])
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const p2 = (n: number): string => String(n).padStart(2, '0')

/** RFC 1123 ("Thu, 26 Sep 2024 21:31:42 GMT"). */
export function httpDate(ms: number): string {
  const d = new Date(ms)
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} GMT`
}

/** The common log format's time ("26/Sep/2024:21:31:42 +0000"); containers run in UTC. */
export function logTime(ms: number): string {
  const d = new Date(ms)
  return `${p2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`
}

/** ctime()-style ("Thu Sep 26 21:31:42 2024"), as Apache's error log has it (with microseconds). */
export function ctimeDate(ms: number, micros = false): string {
  const d = new Date(ms)
  const time = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`
  const frac = micros ? `.${String(d.getUTCMilliseconds() * 1000).padStart(6, '0')}` : ''
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${time}${frac} ${d.getUTCFullYear()}`
}

/** What a request path names under a document root. */
export type StaticResult =
  | { kind: 'file'; path: string; data: Buffer; mtimeMs: number }
  /** A directory asked for without its trailing slash: redirect to it. */
  | { kind: 'redirect'; location: string }
  /** A directory without an index file. */
  | { kind: 'directory'; path: string }
  | { kind: 'missing' }
  | { kind: 'forbidden' }

/** Finds the file a request path names under `root` (index files for a directory), as the container's process reads it. */
export function findStatic(fs: Fs, root: string, urlPath: string, index: readonly string[]): StaticResult {
  const path = resolvePath(root, `.${resolvePath('/', urlPath)}`)
  let st
  try {
    st = fs.stat(path)
  } catch {
    return { kind: 'forbidden' }
  }
  if (st === undefined) return { kind: 'missing' }
  if (st.type === 'dir') {
    if (!urlPath.endsWith('/')) return { kind: 'redirect', location: `${urlPath}/` }
    for (const name of index) {
      const file = `${path === '/' ? '' : path}/${name}`
      if (fs.stat(file)?.type === 'file') return readStatic(fs, file)
    }
    return { kind: 'directory', path }
  }
  return readStatic(fs, path)
}

function readStatic(fs: Fs, path: string): StaticResult {
  try {
    const st = fs.stat(path)
    return { kind: 'file', path, data: fs.readFile(path), mtimeMs: st?.mtimeMs ?? 0 }
  } catch {
    return { kind: 'forbidden' }
  }
}

/** A file's type by its suffix, from a table of suffix → type. */
export function mimeType(path: string, types: Readonly<Record<string, string>>, fallback: string): string {
  const dot = path.lastIndexOf('.')
  return (dot > path.lastIndexOf('/') ? types[path.slice(dot + 1).toLowerCase()] : undefined) ?? fallback
}

/** The program name netstat -p shows for a process's sockets, and the uid: who holds the sockets. */
export const socketOwner = (ctx: CommandContext, name: string): SocketOwner => ({ pid: ctx.pid ?? 1, name, uid: ctx.identity.uid })

/**
 * Accepts connections until the listener closes, handing each to `handle` (which runs concurrently
 * with the others); resolves once the listener has closed and every handler has finished.
 */
export async function serve(listener: Listener, handle: (conn: Connection) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>()
  for (;;) {
    const conn = await listener.accept()
    if (conn === undefined) break
    const p = handle(conn)
      .catch(() => undefined)
      .finally(() => {
        conn.close()
        running.delete(p)
      })
    running.add(p)
  }
  await Promise.all(running)
}

/** Waits until the signal aborts (the process ends) or `stop` resolves. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

// What the simulated web servers (nginx, Apache httpd) share: binding their listeners, serving
// keep-alive connections until they are told to stop, and writing log lines to a file of the
// container (the images link their logs to /dev/stdout and /dev/stderr).
import type { CommandContext } from '../context.js'
import { keepAlive, readRequest, serve, socketOwner, type HttpRequest } from '../http.js'
import { NetError, StreamReader, type Connection, type Listener, type SocketAddress } from '../net.js'

/** Appends a line to a log file of the container (following its symlinks to /dev/stdout); stdout/stderr for /proc/self/fd/1 and 2. */
export function logTo(ctx: CommandContext, path: string, line: string): void {
  if (path === '/proc/self/fd/1' || path === '/dev/stdout') return ctx.write('stdout', line)
  if (path === '/proc/self/fd/2' || path === '/dev/stderr') return ctx.write('stderr', line)
  try {
    ctx.fs.writeFile(path, line, { append: true })
  } catch {
    // A log that cannot be written is not the request's problem.
  }
}

/** Binds every address; the first that fails is returned with its error (the others are closed). */
export function bindAll(
  ctx: CommandContext,
  name: string,
  addresses: readonly SocketAddress[],
): Listener[] | { failed: SocketAddress; error: NetError } {
  const listeners: Listener[] = []
  for (const a of addresses) {
    try {
      if (!ctx.net) throw new NetError('EADDRNOTAVAIL')
      listeners.push(ctx.net.listen({ address: a.address, port: a.port, owner: socketOwner(ctx, name), signal: ctx.signal }))
    } catch (err) {
      if (!(err instanceof NetError)) throw err
      for (const l of listeners) l.close()
      return { failed: a, error: err }
    }
  }
  return listeners
}

/** One request's answer: the bytes to send, and whether the connection may stay open after it. */
export interface Answer {
  bytes: Buffer
  keepOpen: boolean
}

export interface Site {
  /** Answers a request (or a malformed one: 'bad'). */
  answer(req: HttpRequest | 'bad', conn: Connection): Answer
  /** How long an idle keep-alive connection stays open (simulated ms). */
  keepAliveMs: number
}

/**
 * Serves the listeners until `stopping` resolves: each connection's requests in turn, kept open
 * between them when the client asks (HTTP/1.1), closed after keepAliveMs idle or when stopping.
 */
export async function serveSite(ctx: CommandContext, listeners: readonly Listener[], site: Site, stopping: Promise<void>): Promise<void> {
  const open = new Set<Connection>()
  let stopped = false
  void stopping.then(() => {
    stopped = true
    for (const l of listeners) l.close()
    for (const c of open) c.close()
  })
  const handle = async (conn: Connection): Promise<void> => {
    open.add(conn)
    const reader = new StreamReader(conn)
    try {
      while (!stopped) {
        const idle = new AbortController()
        const req = await Promise.race([
          readRequest(reader),
          ctx.clock.sleep(site.keepAliveMs, AbortSignal.any([idle.signal, ctx.signal])).then(
            () => undefined,
            () => new Promise<never>(() => {}),
          ),
        ])
        idle.abort()
        if (req === undefined) return
        const a = site.answer(req, conn)
        conn.write(a.bytes)
        if (!a.keepOpen || req === 'bad' || !keepAlive(req)) return
      }
    } finally {
      open.delete(conn)
    }
  }
  await Promise.all(listeners.map((l) => serve(l, handle)))
}

/** Resolves when one of the signals is delivered (its number), or when the process ends. */
export function untilSignal(ctx: CommandContext, signals: readonly number[], onOther?: (signo: number) => void): Promise<number> {
  return new Promise((resolve) => {
    for (const signo of signals) ctx.trap(signo, () => resolve(signo))
    if (onOther) for (const signo of [1, 10, 12, 28]) if (!signals.includes(signo)) ctx.trap(signo, () => onOther(signo))
    ctx.signal.addEventListener('abort', () => resolve(9), { once: true })
  })
}

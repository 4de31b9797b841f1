// busybox nc (the netcat 1.10 compatible one busybox builds by default): a client (`nc HOST PORT`)
// or a server (`nc -l -p PORT`, -lk for a persistent one with -e) over the container's network
// namespace, TCP or UDP (-u). It copies stdin to the connection and the connection to stdout, and
// exits when both have ended. -z only connects; -w SEC bounds the wait for a connection (and, twice
// over, for data); -e PROG runs PROG with the connection as its stdin and stdout; -v says more.
import { StringDecoder } from 'node:string_decoder'
import type { Command, CommandContext, Input } from '../context.js'
import { socketOwner } from '../http.js'
import { NetError, type Connection, type SocketAddress, type UdpSocket } from '../net.js'
import { findExecutable } from '../shell/run.js'
import { has, parseOptions, usage } from './fs-common.js'
import { sleepMs } from './process.js'
import { hostsReverse, lookupPort, resolveHost } from './resolve.js'

const USAGE = '[OPTIONS] HOST PORT  - connect\nnc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen'

class Die extends Error {}

/** Something both TCP and UDP "connections" do for the copy loop. */
interface Channel {
  read(): Promise<Buffer | undefined>
  write(data: string): void
  /** Stdin ended. */
  end(): void
  close(): void
}

function tcpChannel(conn: Connection): Channel {
  return { read: () => conn.read(), write: (d) => void conn.write(d), end: () => conn.end(), close: () => conn.close() }
}

function udpChannel(sock: UdpSocket, peer: SocketAddress, first?: Buffer): Channel {
  let pending = first
  return {
    read: async () => {
      if (pending) {
        const p = pending
        pending = undefined
        return p
      }
      for (;;) {
        const d = await sock.receive()
        if (d === undefined) return undefined
        if (d.from.address === peer.address && d.from.port === peer.port) return d.data
      }
    },
    write: (d) => sock.send(peer, d),
    end: () => {},
    close: () => sock.close(),
  }
}

const dotted = (a: SocketAddress): string => `${a.address}:${a.port}`

interface Settings {
  waitMs: number
  intervalMs: number
  verbose: number
  numeric: boolean
}

/** Waits for `p`, or `ms` of simulated time (undefined then); forever when ms is 0. */
async function within<T>(ctx: CommandContext, ms: number, p: Promise<T>): Promise<T | 'timeout'> {
  if (ms === 0) return p
  const controller = new AbortController()
  try {
    return await Promise.race([
      p,
      ctx.clock.sleep(ms, AbortSignal.any([controller.signal, ctx.signal])).then(
        () => 'timeout' as const,
        () => new Promise<never>(() => {}),
      ),
    ])
  } finally {
    controller.abort()
  }
}

/** Copies stdin to the channel and the channel to stdout until both end (or the net stays silent). */
async function readwrite(ctx: CommandContext, ch: Channel, s: Settings): Promise<{ sent: number; received: number }> {
  const counts = { sent: 0, received: 0 }
  const decoder = new StringDecoder('utf8')
  const fromNet = async (): Promise<'eof' | 'timeout'> => {
    let retries = 2
    // A read outlives a timeout: the next wait is for the same bytes.
    let pending: Promise<Buffer | undefined> | undefined
    for (;;) {
      pending ??= ch.read()
      const chunk = await within(ctx, s.waitMs, pending)
      if (chunk === 'timeout') {
        if (--retries === 0) return 'timeout'
        continue
      }
      pending = undefined
      if (chunk === undefined) return 'eof'
      counts.received += chunk.length
      ctx.write('stdout', decoder.write(chunk))
    }
  }
  const toNet = async (): Promise<void> => {
    if (s.intervalMs > 0) await sleepMs(ctx, s.intervalMs)
    for (;;) {
      const text = await ctx.stdin.read()
      if (text === undefined) return ch.end()
      // -i: one line at a time, with the interval between them.
      const parts = s.intervalMs > 0 ? text.split(/(?<=\n)/) : [text]
      for (const part of parts) {
        ch.write(part)
        counts.sent += Buffer.byteLength(part)
        if (s.intervalMs > 0) await sleepMs(ctx, s.intervalMs)
      }
    }
  }
  // Done when both have ended, or when the net stayed silent (-w) whatever stdin does.
  await new Promise<void>((resolve) => {
    let netDone = false
    let stdinDone = false
    const stdinEnded = (): void => {
      stdinDone = true
      if (netDone) resolve()
    }
    const netEnded = (why: 'eof' | 'timeout'): void => {
      netDone = true
      if (why === 'timeout' || stdinDone) resolve()
    }
    toNet().then(stdinEnded, resolve)
    fromNet().then(netEnded, resolve)
  })
  ch.close()
  return counts
}

/** -e PROG: the program runs with the connection as its stdin and stdout. */
async function runProgram(ctx: CommandContext, prog: readonly string[], ch: Channel): Promise<number> {
  const name = prog[0] as string
  const found = findExecutable(name, ctx)
  if (found === undefined || found.kind === 'denied') {
    ctx.write('stderr', `nc: can't execute '${name}': ${found ? 'Permission denied' : 'No such file or directory'}\n`)
    ch.close()
    return 127
  }
  let done = false
  const stdin: Input = {
    read: async () => {
      if (done) return undefined
      const b = await ch.read()
      if (b === undefined) done = true
      return b?.toString('utf8')
    },
    readAll: async () => {
      let text = ''
      for (let t = await stdin.read(); t !== undefined; t = await stdin.read()) text += t
      return text
    },
  }
  const pctx: CommandContext = {
    ...ctx,
    args: prog,
    stdin,
    write: (stream, text) => (stream === 'stdout' ? ch.write(text) : ctx.write(stream, text)),
  }
  try {
    return await pctx.exec.invoke(found, pctx)
  } finally {
    ch.close()
  }
}

/** A socket bound, or nc's "bind: …" error. */
function bound<T>(bind: () => T): T {
  try {
    return bind()
  } catch (err) {
    if (err instanceof NetError) throw new Die(`bind: ${err.message}`)
    throw err
  }
}

async function listen(ctx: CommandContext, o: NcOptions, s: Settings): Promise<number> {
  const net = ctx.net
  if (!net) throw new Die('bind: Address not available')
  const owner = socketOwner(ctx, 'nc')
  const address = o.source ?? '0.0.0.0'
  const show = (a: SocketAddress): string => {
    const name = s.numeric ? undefined : hostsReverse(ctx, a.address)
    return name === undefined ? dotted(a) : `${name}:${a.port}`
  }
  if (o.udp) {
    const sock = bound(() => net.bindUdp({ address, port: o.localPort, owner, signal: ctx.signal }))
    if (s.verbose) ctx.write('stderr', `listening on ${dotted(sock.local)} ...\n`)
    const first = await within(ctx, s.waitMs, sock.receive())
    if (first === 'timeout') throw new Die('timeout')
    if (first === undefined) return 1
    const ch = udpChannel(sock, first.from, first.data)
    if (s.verbose) ctx.write('stderr', `connect to ${dotted(sock.local)} from ${show(first.from)} (${dotted(first.from)})\n`)
    if (o.prog) return runProgram(ctx, o.prog, ch)
    return finish(ctx, s, await readwrite(ctx, ch, s))
  }
  const listener = bound(() => net.listen({ address, port: o.localPort, owner, signal: ctx.signal }))
  if (s.verbose) ctx.write('stderr', `listening on ${dotted(listener.local)} ...\n`)
  try {
    for (;;) {
      const conn = await within(ctx, s.waitMs, listener.accept())
      if (conn === 'timeout') throw new Die('timeout')
      if (conn === undefined) return 1
      if (o.peer && (conn.remote.address !== o.peer.address || (o.peer.port !== 0 && conn.remote.port !== o.peer.port))) {
        if (s.verbose) ctx.write('stderr', `nc: connect from wrong ip/port ${dotted(conn.remote)} ignored\n`)
        conn.close()
        continue
      }
      if (s.verbose) ctx.write('stderr', `connect to ${dotted(conn.local)} from ${show(conn.remote)} (${dotted(conn.remote)})\n`)
      // -lk (or -ll) with -e: a persistent server, one PROG per connection.
      if (o.persistent && o.prog) {
        void runProgram(ctx, o.prog, tcpChannel(conn))
        continue
      }
      listener.close()
      if (o.prog) return await runProgram(ctx, o.prog, tcpChannel(conn))
      return finish(ctx, s, await readwrite(ctx, tcpChannel(conn), s))
    }
  } finally {
    listener.close()
  }
}

function finish(ctx: CommandContext, s: Settings, counts: { sent: number; received: number }): number {
  if (s.verbose > 1) ctx.write('stderr', `sent ${counts.sent}, rcvd ${counts.received}\n`)
  return 0
}

async function connect(ctx: CommandContext, o: NcOptions, s: Settings, host: string): Promise<number> {
  const peer = o.peer as SocketAddress
  const owner = socketOwner(ctx, 'nc')
  const them = dotted(peer)
  let ch: Channel
  try {
    if (!ctx.net) throw new NetError('ENETUNREACH')
    if (o.udp) {
      const sock = ctx.net.bindUdp({ address: o.source ?? '0.0.0.0', port: o.localPort, owner, signal: ctx.signal })
      ch = udpChannel(sock, peer)
    } else {
      ch = tcpChannel(ctx.net.connect({ address: peer.address, port: peer.port, owner, signal: ctx.signal }))
    }
  } catch (err) {
    if (!(err instanceof NetError)) throw err
    // nc 1.10 keeps quiet about a refused port unless asked twice (-vv).
    if (s.verbose > 1 || (s.verbose > 0 && err.code !== 'ECONNREFUSED')) ctx.write('stderr', `nc: ${host} (${them}): ${err.message}\n`)
    if (s.verbose > 1) ctx.write('stderr', 'sent 0, rcvd 0\n')
    return 1
  }
  if (s.verbose) ctx.write('stderr', `${host} (${them}) open\n`)
  if (o.prog) return runProgram(ctx, o.prog, ch)
  if (o.zero) {
    ch.close()
    return finish(ctx, s, { sent: 0, received: 0 })
  }
  return finish(ctx, s, await readwrite(ctx, ch, s))
}

interface NcOptions {
  udp: boolean
  zero: boolean
  persistent: boolean
  localPort: number
  source: string | undefined
  peer: SocketAddress | undefined
  prog: string[] | undefined
}

export const nc: Command = async (args, ctx) => {
  // -e PROG [ARGS] ends the options: what follows is the program's command line.
  let prog: string[] | undefined
  let optArgs = args.slice(1)
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (a === '-e' || /^-[nuvlkz]+e$/.test(a)) {
      prog = args.slice(i + 1)
      optArgs = [...args.slice(1, i), ...(a === '-e' ? [] : [a.slice(0, -1)])]
      break
    }
  }
  const o = parseOptions('nc', optArgs, { flags: 'nubvlkz', valued: 'pswio', usage: USAGE }, ctx)
  if (typeof o === 'number') return o
  if ((prog !== undefined && prog.length === 0) || o.operands.length > 2) return usage(ctx, 'nc', { usage: USAGE })
  const wait = o.values.get('w')?.at(-1) ?? '0'
  const interval = o.values.get('i')?.at(-1) ?? '0'
  for (const n of [wait, interval]) {
    if (!/^\d+$/.test(n)) {
      ctx.write('stderr', `nc: invalid number '${n}'\n`)
      return 1
    }
  }
  const udp = has(o, 'u')
  const proto = udp ? 'udp' : 'tcp'
  const settings: Settings = {
    waitMs: Number(wait) * 1000,
    intervalMs: Number(interval) * 1000,
    verbose: o.flags.filter((f) => f === 'v').length,
    numeric: has(o, 'n'),
  }
  try {
    let localPort = 0
    const p = o.values.get('p')?.at(-1)
    if (p !== undefined) {
      const port = lookupPort(ctx, p, proto)
      if (port === undefined) throw new Die(`bad port '${p}'`)
      localPort = port
    }
    let peer: SocketAddress | undefined
    const [host, portText] = o.operands
    if (host !== undefined) {
      const address = resolveHost(ctx, host)
      if (address === undefined) throw new Die(`bad address '${host}'`)
      const port = portText === undefined ? 0 : lookupPort(ctx, portText, proto)
      if (port === undefined) throw new Die(`bad port '${portText}'`)
      peer = { address, port }
    }
    const source = o.values.get('s')?.at(-1)
    const listening = o.flags.filter((f) => f === 'l').length
    const options: NcOptions = {
      udp,
      zero: has(o, 'z'),
      persistent: listening > 1 || has(o, 'k'),
      localPort,
      source: source === undefined ? undefined : (resolveHost(ctx, source) ?? source),
      peer,
      prog,
    }
    if (listening > 0 || has(o, 'k')) return await listen(ctx, options, settings)
    if (!peer) return usage(ctx, 'nc', { usage: USAGE })
    return await connect(ctx, options, settings, host as string)
  } catch (err) {
    if (!(err instanceof Die)) throw err
    ctx.write('stderr', `nc: ${err.message}\n`)
    return 1
  }
}

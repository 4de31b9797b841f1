// Real sockets on the host whose traffic goes into the simulated network: a TCP listener whose
// connections are joined byte for byte to in-memory connections (src/sim/net-namespaces.ts), and a
// UDP socket whose datagrams are sent on from a simulated socket per peer, the replies coming back
// to that peer (as conntrack keeps a NAT'd UDP flow). What to open where is host-ports.ts's choice;
// this file only moves bytes. Only the host's side is real, and it only ever answers whoever
// connected to it: nothing here dials out on the host.
import { createSocket, type Socket as DgramSocket } from 'node:dgram'
import { createServer, isIP, type Server, type Socket } from 'node:net'
import type { Connection, UdpSocket } from '../../sim/net.js'
import { NetError } from '../../sim/net.js'

export interface HostAddress {
  address: string
  port: number
}

/** A host socket opened by this file: closing it ends its connections (and their simulated halves). */
export interface HostForward {
  readonly host: HostAddress
  close(): Promise<void>
}

/** A bind that failed: Node's error code (EADDRINUSE, EACCES, EADDRNOTAVAIL) and Go's text for it. */
export class HostBindError extends Error {
  constructor(
    readonly code: string,
    readonly proto: 'tcp' | 'udp',
    readonly host: HostAddress,
  ) {
    // net.Listen's wording, as a Go CNI plugin or containerd would print it.
    const family = isIP(host.address) === 6 ? '6' : '4'
    const where = family === '6' ? `[${host.address}]:${host.port}` : `${host.address}:${host.port}`
    super(`listen ${proto}${family} ${where}: bind: ${BIND_ERRORS[code] ?? code.toLowerCase()}`)
  }
}

const BIND_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'cannot assign requested address',
}

function bindError(err: unknown, proto: 'tcp' | 'udp', host: HostAddress): Error {
  const code = (err as NodeJS.ErrnoException).code
  return typeof code === 'string' ? new HostBindError(code, proto, host) : (err as Error)
}

/**
 * Listens on the host's `host` and joins each connection to the simulated one `connect` makes;
 * when that is refused, the host's client sees its connection reset (what a DNAT to a closed port
 * gives). Rejects with a HostBindError when the address cannot be bound.
 */
export async function forwardTcp(
  host: HostAddress,
  connect: (signal: AbortSignal) => Connection,
  options: { warn?: (message: string) => void } = {},
): Promise<HostForward> {
  const sockets = new Set<Socket>()
  // Half-open allowed: a client that sends then shuts down its side (nc -N, shutdown(SHUT_WR)) still reads the reply.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    join(socket, connect)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(bindError(err, 'tcp', host)))
    server.listen({ host: host.address, port: host.port, exclusive: true }, () => resolve())
  })
  // Once listening, an error is one accept(2) failing (EMFILE: out of descriptors): the listener
  // goes on, so it is said, not thrown.
  server.on('error', (err) => {
    const code = (err as NodeJS.ErrnoException).code
    const hint = code === 'EMFILE' || code === 'ENFILE' ? ': out of file descriptors, raise the limit (ulimit -n) or close connections' : ''
    options.warn?.(`host ${host.address}:${host.port} could not accept a TCP connection: ${err.message}${hint}`)
  })
  return {
    host,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

function join(socket: Socket, connect: (signal: AbortSignal) => Connection): void {
  const gone = new AbortController()
  let conn: Connection
  try {
    conn = connect(gone.signal)
  } catch (err) {
    if (!(err instanceof NetError)) throw err
    socket.resetAndDestroy()
    return
  }
  socket.on('data', (chunk: Buffer) => {
    if (!conn.write(chunk)) socket.destroy()
  })
  socket.on('end', () => conn.end())
  socket.on('error', () => {})
  socket.on('close', () => {
    conn.close()
    gone.abort()
  })
  void (async () => {
    for await (const chunk of conn) {
      if (socket.destroyed) return
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve))
    }
    if (!socket.destroyed) socket.end()
  })()
}

/** How long a UDP flow lives without a datagram either way (conntrack's nf_conntrack_udp_timeout, 30 s). */
export const UDP_FLOW_TIMEOUT_MS = 30_000

export interface UdpForwardOptions {
  /** Where a dropped datagram is reported (once per forward). */
  warn?: (message: string) => void
  /** A flow's idle timeout (tests shorten it). */
  flowTimeoutMs?: number
}

interface Flow {
  readonly sim: UdpSocket
  readonly done: AbortController
  readonly timer: NodeJS.Timeout
}

/**
 * Binds the host's UDP `host`; each peer that sends to it gets a simulated socket of its own
 * (`open`), which sends the peer's datagrams to `target` and whose replies go back to the peer.
 * A flow idle for UDP_FLOW_TIMEOUT_MS is forgotten and its simulated socket closed, as conntrack
 * expires it; when no simulated socket can be had (the ephemeral ports are all taken), the datagram
 * is dropped. Rejects with a HostBindError when the address cannot be bound.
 */
export async function forwardUdp(
  host: HostAddress,
  open: (signal: AbortSignal) => UdpSocket,
  target: HostAddress,
  options: UdpForwardOptions = {},
): Promise<HostForward> {
  const timeoutMs = options.flowTimeoutMs ?? UDP_FLOW_TIMEOUT_MS
  const real: DgramSocket = createSocket({ type: isIP(host.address) === 6 ? 'udp6' : 'udp4', reuseAddr: false })
  const flows = new Map<string, Flow>()
  let closed = false
  let warned = false
  try {
    await new Promise<void>((resolve, reject) => {
      real.once('error', (err) => reject(bindError(err, 'udp', host)))
      real.bind({ address: host.address, port: host.port, exclusive: true }, () => resolve())
    })
  } catch (err) {
    // The socket holds a descriptor from its socket(2) even though bind(2) failed.
    real.close()
    throw err
  }
  const expire = (key: string): void => {
    const flow = flows.get(key)
    if (!flow) return
    flows.delete(key)
    clearTimeout(flow.timer)
    flow.done.abort()
    flow.sim.close()
  }
  const start = (key: string, peer: { address: string; port: number }): Flow | undefined => {
    const done = new AbortController()
    let sim: UdpSocket
    try {
      sim = open(done.signal)
    } catch (err) {
      if (!(err instanceof NetError)) throw err
      if (!warned) {
        warned = true
        options.warn?.(
          `UDP datagrams to host ${host.address}:${host.port} are being dropped: no simulated socket could be opened for ` +
            `${peer.address}:${peer.port} (${err.message}); ${flows.size} flows are open, each closes after ${timeoutMs / 1000} s without traffic`,
        )
      }
      return undefined
    }
    const flow: Flow = { sim, done, timer: setTimeout(() => expire(key), timeoutMs).unref() }
    flows.set(key, flow)
    void (async () => {
      for (let d = await sim.receive(); d !== undefined; d = await sim.receive()) {
        if (closed || flows.get(key) !== flow) return
        flow.timer.refresh()
        real.send(d.data, peer.port, peer.address)
      }
    })()
    return flow
  }
  real.on('error', () => {})
  real.on('message', (data, peer) => {
    const key = `${peer.address}:${peer.port}`
    const flow = flows.get(key) ?? start(key, peer)
    if (!flow) return
    flow.timer.refresh()
    flow.sim.send(target, data)
  })
  return {
    host,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true
        for (const key of [...flows.keys()]) expire(key)
        real.close(() => resolve())
      }),
  }
}

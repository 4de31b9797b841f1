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
export async function forwardTcp(host: HostAddress, connect: (signal: AbortSignal) => Connection): Promise<HostForward> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    join(socket, connect)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(bindError(err, 'tcp', host)))
    server.listen({ host: host.address, port: host.port, exclusive: true }, () => resolve())
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

/**
 * Binds the host's UDP `host`; each peer that sends to it gets a simulated socket of its own
 * (`open`), which sends the peer's datagrams to `target` and whose replies go back to the peer.
 * Rejects with a HostBindError when the address cannot be bound.
 */
export async function forwardUdp(host: HostAddress, open: (signal: AbortSignal) => UdpSocket, target: HostAddress): Promise<HostForward> {
  const real: DgramSocket = createSocket({ type: isIP(host.address) === 6 ? 'udp6' : 'udp4', reuseAddr: false })
  const flows = new Map<string, UdpSocket>()
  const closing = new AbortController()
  await new Promise<void>((resolve, reject) => {
    real.once('error', (err) => reject(bindError(err, 'udp', host)))
    real.bind({ address: host.address, port: host.port, exclusive: true }, () => resolve())
  })
  real.on('error', () => {})
  real.on('message', (data, peer) => {
    const key = `${peer.address}:${peer.port}`
    let flow = flows.get(key)
    if (!flow) {
      const sim = open(closing.signal)
      flows.set(key, sim)
      flow = sim
      void (async () => {
        for (let d = await sim.receive(); d !== undefined; d = await sim.receive()) {
          if (!closing.signal.aborted) real.send(d.data, peer.port, peer.address)
        }
      })()
    }
    flow.send(target, data)
  })
  return {
    host,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort()
        real.close(() => resolve())
      }),
  }
}

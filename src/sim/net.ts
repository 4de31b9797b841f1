// The network a simulated process sees: its network namespace (a pod's, the node's, or one of its
// own), where it can listen on TCP and UDP ports and connect to listeners of its own namespace
// (127.0.0.1, its pod IP) or of another (a pod IP, as on a flat cluster network). Connections are
// in-memory byte streams; nothing binds or connects a real socket. The node implements this
// (src/sim/net-namespaces.ts) and gives it to commands as ctx.net; the helpers here are what commands share.

export type NetErrorCode = 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'ECONNREFUSED' | 'ENETUNREACH' | 'EHOSTUNREACH' | 'ETIMEDOUT'

/** strerror() texts as busybox (with musl) prints them. */
export const NET_MESSAGES: Readonly<Record<NetErrorCode, string>> = {
  EADDRINUSE: 'Address in use',
  EADDRNOTAVAIL: 'Address not available',
  ECONNREFUSED: 'Connection refused',
  ENETUNREACH: 'Network unreachable',
  EHOSTUNREACH: 'Host is unreachable',
  ETIMEDOUT: 'Operation timed out',
}

export class NetError extends Error {
  constructor(readonly code: NetErrorCode) {
    super(NET_MESSAGES[code])
  }
}

export type Protocol = 'tcp' | 'udp'

export interface SocketAddress {
  address: string
  port: number
}

/** Who holds a socket (netstat -p, the uid column of /proc/net/tcp). */
export interface SocketOwner {
  pid: number
  /** The program name netstat -p shows. */
  name: string
  uid: number
}

/** One end of a TCP connection. */
export interface Connection extends AsyncIterable<Buffer> {
  readonly local: SocketAddress
  readonly remote: SocketAddress
  /** The next bytes the peer sent; undefined once it shut down its side (or either side closed). */
  read(): Promise<Buffer | undefined>
  /** Sends bytes; false when the connection can no longer send (closed, or the peer has gone). */
  write(data: Buffer | string): boolean
  /** Shuts down this side's sending: the peer reads end of stream (shutdown(SHUT_WR)). */
  end(): void
  /** Closes the connection both ways. */
  close(): void
}

/** A listening TCP socket. */
export interface Listener {
  readonly local: SocketAddress
  /** The next connection made to it; undefined once it is closed. */
  accept(): Promise<Connection | undefined>
  close(): void
}

export interface Datagram {
  from: SocketAddress
  data: Buffer
}

/** A bound UDP socket. */
export interface UdpSocket {
  readonly local: SocketAddress
  /** Sends a datagram (dropped when nothing is bound there, as UDP does). */
  send(to: SocketAddress, data: Buffer | string): void
  /** The next datagram; undefined once the socket is closed. */
  receive(): Promise<Datagram | undefined>
  close(): void
}

export type DnsType = 'A' | 'AAAA' | 'PTR'

export interface DnsRecord {
  name: string
  type: DnsType
  /** An address (A, AAAA) or a name (PTR). */
  data: string
}

export interface DnsAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN'
  /** Answered by the cluster's own zone (no "Non-authoritative answer:" line). */
  authoritative: boolean
  records: DnsRecord[]
}

export interface Interface {
  name: string
  address: string
  prefix: number
}

/** What a process's network namespace offers it. Every socket closes when `signal` aborts (the process ended). */
export interface Net {
  interfaces(): Interface[]
  /** Listens on a TCP port (0: an ephemeral one) of an address of the namespace (default 0.0.0.0); throws NetError. */
  listen(o: { address?: string; port: number; owner: SocketOwner; signal: AbortSignal }): Listener
  /** Binds a UDP port (0: an ephemeral one); throws NetError. */
  bindUdp(o: { address?: string; port: number; owner: SocketOwner; signal: AbortSignal }): UdpSocket
  /** Connects to a TCP listener by IP address; throws NetError (ECONNREFUSED, ENETUNREACH, …). */
  connect(o: { address: string; port: number; owner: SocketOwner; signal: AbortSignal }): Connection
  /** Asks the cluster's DNS (whichever nameserver /etc/resolv.conf names answers the same). */
  query(name: string, type: DnsType): DnsAnswer
  /** The holder of the socket with this inode (/proc/net/tcp's inode column), for netstat -p. */
  owner(inode: number): SocketOwner | undefined
}

// ---- helpers for commands and programs

export const isIpv4 = (s: string): boolean =>
  /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((o) => Number(o) <= 255)

/** Buffered reading of a connection: lines (HTTP headers, nc -i) and exact byte counts. */
export class StreamReader {
  #buf: Buffer = Buffer.alloc(0)
  #done = false

  constructor(private readonly source: { read(): Promise<Buffer | undefined> }) {}

  async #fill(): Promise<boolean> {
    if (this.#done) return false
    const chunk = await this.source.read()
    if (chunk === undefined) {
      this.#done = true
      return false
    }
    this.#buf = Buffer.concat([this.#buf, chunk])
    return true
  }

  /** The next line without its "\n" (and "\r"); undefined at end of stream with nothing buffered. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const nl = this.#buf.indexOf(10)
      if (nl !== -1) {
        const line = this.#buf.subarray(0, nl).toString('latin1')
        this.#buf = this.#buf.subarray(nl + 1)
        return line.replace(/\r$/, '')
      }
      if (!(await this.#fill())) {
        if (this.#buf.length === 0) return undefined
        const rest = this.#buf.toString('latin1')
        this.#buf = Buffer.alloc(0)
        return rest
      }
    }
  }

  /** Up to `n` bytes (fewer at end of stream). */
  async bytes(n: number): Promise<Buffer> {
    while (this.#buf.length < n && (await this.#fill()));
    const out = this.#buf.subarray(0, n)
    this.#buf = this.#buf.subarray(out.length)
    return out
  }

  /** Whatever is buffered, else the next chunk; undefined at end of stream. */
  async chunk(): Promise<Buffer | undefined> {
    if (this.#buf.length === 0 && !(await this.#fill())) return undefined
    const out = this.#buf
    this.#buf = Buffer.alloc(0)
    return out
  }
}

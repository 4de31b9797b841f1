// The node's simulated network: a network namespace per pod (loopback plus the pod IP), the node's
// own (the host network: loopback plus the pod network's gateway), and namespaces of their own for
// containers made through containerd's API with an unnamed network namespace. Processes listen and
// connect through the Net interface (src/sim/net.ts); pods reach each other by IP as on a flat
// cluster network, and the cluster's DNS answers from what the node knows. Nothing here binds a real
// socket (the model mirrors some bound sockets on the host: watch()). Sockets belong to running processes: they are not part of the state, and a process's
// sockets close when it ends. A host-network container's /proc/net also lists the real host's
// sockets (read, never touched).
import type { NetNamespace } from './kernel.js'
import {
  NetError,
  isIpv4,
  type Connection,
  type Datagram,
  type DnsAnswer,
  type DnsType,
  type Interface,
  type Listener,
  type Net,
  type SocketAddress,
  type SocketOwner,
  type UdpSocket,
} from './net.js'
import { readHostProc } from './host-proc.js'
import { isLoopback, toDotted, toNumber } from '../ipv4.js'

export const CLUSTER_DOMAIN = 'cluster.local'
/** The node's own network namespace's key; a pod's is podNet(id) (model/runtime/network.ts names the others). */
export const HOST_NET = 'host'
const POD_PREFIX = 'pod:'
export const podNet = (podId: string): string => `${POD_PREFIX}${podId}`
/** The pod a namespace key names, if it is a pod's. */
export const podOf = (key: string): string | undefined => (key.startsWith(POD_PREFIX) ? key.slice(POD_PREFIX.length) : undefined)

/** What the stack needs to know of the node's pods (model/runtime/network.ts gives it). */
export interface PodDirectory {
  /** The pod network: the gateway is its first address. */
  readonly cidr: { base: number; bits: number }
  /** The addresses of a pod's namespace (its eth0). */
  addressesOf(podId: string): string[]
  /** The ready pod an address belongs to, if any. */
  podAt(address: string): string | undefined
}
const EPHEMERAL = { first: 32768, last: 60999 }
/** Every namespace's lo, as its interfaces list it (one object: nobody changes an interface). */
const LOOPBACK: Interface = Object.freeze({ name: 'lo', address: '127.0.0.1', prefix: 8 })

/**
 * A socket bound to receive (a TCP listener, a UDP socket), as a watcher of the stack sees it: the
 * node mirrors some on the host (model/runtime/host-ports.ts). `onClose` runs once it is closed.
 */
export interface BoundSocket {
  /** Its namespace's key (HOST_NET, podNet(id), …). */
  readonly key: string
  readonly proto: 'tcp' | 'udp'
  readonly local: SocketAddress
  readonly owner: SocketOwner
  onClose(listener: () => void): void
}

interface Socket {
  inode: number
  owner: SocketOwner
  local: SocketAddress
}

/** Items handed to whoever waits for them, in order; once ended, a taker gets undefined when none is left. */
class Queue<T> {
  #items: T[] = []
  #waiters: ((item: T | undefined) => void)[] = []
  #ended = false

  put(item: T): void {
    const waiter = this.#waiters.shift()
    if (waiter) waiter(item)
    else this.#items.push(item)
  }

  take(): Promise<T | undefined> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift())
    if (this.#ended) return Promise.resolve(undefined)
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** No more items will come; those not taken yet still are, unless dropped (then they are returned). */
  end(drop = false): T[] {
    this.#ended = true
    for (const waiter of this.#waiters.splice(0)) waiter(undefined)
    return drop ? this.#items.splice(0) : []
  }
}

/** A socket that receives (bytes, connections, datagrams) until it is closed, or its process ends. */
abstract class Bound<T> implements Socket {
  protected queue = new Queue<T>()
  closed = false
  #onClose: (() => void)[] = []

  constructor(
    readonly ns: Namespace,
    readonly inode: number,
    readonly owner: SocketOwner,
    readonly local: SocketAddress,
    /** The process's: what it receives closes with it too. */
    readonly signal: AbortSignal,
  ) {
    this.sockets().add(this)
    if (signal.aborted) queueMicrotask(() => this.close())
    else signal.addEventListener('abort', () => this.close(), { once: true })
  }

  /** The namespace's set this socket is listed in. */
  protected abstract sockets(): Set<Bound<T>>

  /** Something received: a connection to accept, a datagram to read. */
  deliver(item: T): void {
    this.queue.put(item)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.sockets().delete(this)
    for (const item of this.queue.end(true)) this.discard(item)
    for (const listener of this.#onClose.splice(0)) listener()
  }

  onClose(listener: () => void): void {
    if (this.closed) listener()
    else this.#onClose.push(listener)
  }

  /** What closing does to something received and not taken. */
  protected discard(_item: T): void {}
}

/** One end of an in-memory TCP connection. */
class End extends Bound<Buffer> implements Connection {
  peer!: End
  /** The peer will send no more. */
  eof = false
  /** This end sends no more. */
  shut = false

  constructor(
    ns: Namespace,
    inode: number,
    owner: SocketOwner,
    local: SocketAddress,
    readonly remote: SocketAddress,
    signal: AbortSignal,
  ) {
    super(ns, inode, owner, local, signal)
  }

  protected sockets(): Set<Bound<Buffer>> {
    return this.ns.ends
  }

  /** The peer shut down its side (what it sent before is still read). */
  finish(): void {
    this.eof = true
    this.queue.end()
  }

  read(): Promise<Buffer | undefined> {
    return this.queue.take()
  }

  write(data: Buffer | string): boolean {
    if (this.shut || this.closed || this.peer.closed) return false
    if (data.length > 0) this.peer.deliver(Buffer.from(data))
    return true
  }

  end(): void {
    if (this.shut) return
    this.shut = true
    this.peer.finish()
  }

  /** Closes both ways: the peer reads the end (its writes fail from now on), nothing more is read here. */
  override close(): void {
    if (this.closed) return
    this.end()
    this.eof = true
    super.close()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = await this.read()
      if (chunk === undefined) return
      yield chunk
    }
  }

  /** The TCP state /proc/net/tcp shows. */
  get state(): number {
    return this.eof && !this.shut ? 0x08 /* CLOSE_WAIT */ : this.shut && !this.eof ? 0x05 /* FIN_WAIT2 */ : 0x01 /* ESTABLISHED */
  }
}

class TcpListener extends Bound<Connection> implements Listener {
  protected sockets(): Set<Bound<Connection>> {
    return this.ns.listeners
  }

  accept(): Promise<Connection | undefined> {
    return this.queue.take()
  }

  protected override discard(conn: Connection): void {
    conn.close()
  }
}

class Udp extends Bound<Datagram> implements UdpSocket {
  constructor(
    readonly net: NodeNetwork,
    ...rest: ConstructorParameters<typeof TcpListener>
  ) {
    super(...rest)
  }

  protected sockets(): Set<Bound<Datagram>> {
    return this.ns.udp
  }

  send(to: SocketAddress, data: Buffer | string): void {
    if (this.closed) return
    this.net.sendUdp(this.ns, this.local, to, Buffer.from(data))
  }

  receive(): Promise<Datagram | undefined> {
    return this.queue.take()
  }
}

/** A namespace's socket sets and bridges are made when first used: a sleeping pod's holds none. */
class Namespace {
  #bridges: Map<string, Set<string>> | undefined
  #listeners: Set<Bound<Connection>> | undefined
  #ends: Set<End> | undefined
  #udp: Set<Bound<Datagram>> | undefined
  #nextPort = EPHEMERAL.first

  constructor(
    readonly key: string,
    /** Its addresses besides loopback. */
    readonly addresses: () => string[],
    readonly interfaces: () => Interface[],
    /** An address on lo (127/8 less a pod CIDR inside it: those are pods' addresses). */
    readonly loopback: (address: string) => boolean,
  ) {}

  /** Bridges made in it (brctl addbr), each with the interfaces added to it. */
  get bridges(): Map<string, Set<string>> {
    return (this.#bridges ??= new Map())
  }

  get listeners(): Set<Bound<Connection>> {
    return (this.#listeners ??= new Set())
  }

  get ends(): Set<End> {
    return (this.#ends ??= new Set())
  }

  get udp(): Set<Bound<Datagram>> {
    return (this.#udp ??= new Set())
  }

  has(address: string): boolean {
    return address === '0.0.0.0' || this.loopback(address) || this.addresses().includes(address)
  }

  /** A socket is bound there (connections count only for picking an ephemeral port: SO_REUSEADDR). */
  taken(proto: 'tcp' | 'udp', port: number, address: string, connections = false): boolean {
    const sockets: Socket[] = proto === 'udp' ? [...this.udp] : connections ? [...this.listeners, ...this.ends] : [...this.listeners]
    return sockets.some(
      (s) => s.local.port === port && (s.local.address === '0.0.0.0' || address === '0.0.0.0' || s.local.address === address),
    )
  }

  ephemeral(proto: 'tcp' | 'udp', address: string): number {
    for (let i = 0; i <= EPHEMERAL.last - EPHEMERAL.first; i++) {
      const port = this.#nextPort
      this.#nextPort = port >= EPHEMERAL.last ? EPHEMERAL.first : port + 1
      if (!this.taken(proto, port, address, true)) return port
    }
    throw new NetError('EADDRINUSE')
  }
}

export class NodeNetwork {
  #namespaces = new Map<string, Namespace>()
  #nextInode = 40_000
  #watchers = new Set<(socket: BoundSocket) => void>()

  constructor(private readonly pods: PodDirectory) {}

  /** Calls `watcher` with every TCP listener and UDP socket bound from now on; returns the way to stop. */
  watch(watcher: (socket: BoundSocket) => void): () => void {
    this.#watchers.add(watcher)
    return () => this.#watchers.delete(watcher)
  }

  /** The address is in the pod network (a pod CIDR may lie in 127/8: --pod-cidr 127.77.0.0/16). */
  inPodCidr(address: string): boolean {
    const { base, bits } = this.pods.cidr
    return Math.floor(toNumber(address) / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits))
  }

  /** Loopback as routing sees it: 127/8, except the pods' addresses when the pod CIDR lies inside it. */
  #loopback = (address: string): boolean => isLoopback(address) && !this.inPodCidr(address)

  /** The pod network's gateway: the node's address as pods see it (cni0 of a bridge plugin). */
  get gateway(): string {
    return toDotted(this.pods.cidr.base + 1)
  }

  /** The Net a process in namespace `key` uses. */
  view(key: string): Net {
    // The namespace is found at each use, and kept only by what binds a socket in it: a sleeping
    // process's view makes none, a lookup leaves none behind.
    const ns = (keep = false): Namespace => this.#namespace(key, keep)
    return {
      interfaces: () => ns().interfaces(),
      listen: (o) => this.#listen(ns(true), o.address ?? '0.0.0.0', o.port, o.owner, o.signal),
      bindUdp: (o) => this.#bindUdp(ns(true), o.address ?? '0.0.0.0', o.port, o.owner, o.signal),
      connect: (o) => this.#connect(ns(true), o.address, o.port, o.owner, o.signal),
      query: (name, type) => this.query(name, type),
      owner: (inode) => this.#owner(ns(), inode),
    }
  }

  /** The namespace as the kernel's checks see it (sim/kernel.ts): its addresses, bridges, who answers a ping. */
  kernelView(key: string): NetNamespace {
    // Found at each use, as view() does: a container's view made and let go leaves no namespace behind.
    const ns = (keep = false): Namespace => this.#namespace(key, keep)
    return {
      get addresses() {
        return ns().addresses()
      },
      // What brctl reads it also changes: the namespace is kept from then on.
      get bridges() {
        return ns(true).bridges
      },
      reachable: (address) => {
        try {
          const from = ns()
          return this.#route(from, address).ns !== from
        } catch {
          return false
        }
      },
    }
  }

  /** Forgets the namespace of a removed sandbox or container (its sockets closed with its processes). */
  drop(id: string): void {
    this.#namespaces.delete(`pod:${id}`)
    this.#namespaces.delete(`own:${id}`)
  }

  clear(): void {
    this.#namespaces.clear()
  }

  /**
   * The namespace of a key. It is kept (`keep`) once something of its own is in it (a socket, a
   * bridge); until then one is made for each look, the same as any other would be.
   */
  #namespace(key: string, keep = false): Namespace {
    let ns = this.#namespaces.get(key)
    if (ns) return ns
    const pod = podOf(key)
    const loopback = LOOPBACK
    if (key === HOST_NET) {
      ns = new Namespace(
        key,
        () => [this.gateway],
        () => [loopback, { name: 'cni0', address: this.gateway, prefix: this.pods.cidr.bits }],
        this.#loopback,
      )
    } else if (pod !== undefined) {
      const ips = (): string[] => this.pods.addressesOf(pod)
      ns = new Namespace(
        key,
        ips,
        () => [loopback, ...ips().map((address) => ({ name: 'eth0', address, prefix: this.pods.cidr.bits }))],
        this.#loopback,
      )
    } else {
      ns = new Namespace(
        key,
        () => [],
        () => [loopback],
        this.#loopback,
      )
    }
    if (keep) this.#namespaces.set(key, ns)
    return ns
  }

  #inode(): number {
    return this.#nextInode++
  }

  #bind(ns: Namespace, proto: 'tcp' | 'udp', address: string, port: number): SocketAddress {
    if (!ns.has(address)) throw new NetError('EADDRNOTAVAIL')
    if (port === 0) return { address, port: ns.ephemeral(proto, address) }
    if (ns.taken(proto, port, address)) throw new NetError('EADDRINUSE')
    return { address, port }
  }

  #listen(ns: Namespace, address: string, port: number, owner: SocketOwner, signal: AbortSignal): Listener {
    const local = this.#bind(ns, 'tcp', address, port)
    return this.#announce(new TcpListener(ns, this.#inode(), owner, local, signal), 'tcp')
  }

  #bindUdp(ns: Namespace, address: string, port: number, owner: SocketOwner, signal: AbortSignal): UdpSocket {
    const local = this.#bind(ns, 'udp', address, port)
    return this.#announce(new Udp(this, ns, this.#inode(), owner, local, signal), 'udp')
  }

  #announce<S extends Bound<Connection> | Bound<Datagram>>(socket: S, proto: 'tcp' | 'udp'): S {
    const seen: BoundSocket = {
      key: socket.ns.key,
      proto,
      local: socket.local,
      owner: socket.owner,
      onClose: (listener) => socket.onClose(listener),
    }
    for (const watcher of this.#watchers) watcher(seen)
    return socket
  }

  /** Where an address is, seen from `from`, and the source address a packet from `from` gets. */
  #route(from: Namespace, address: string): { ns: Namespace; source: string } {
    if (address === '0.0.0.0' || this.#loopback(address)) return { ns: from, source: address === '0.0.0.0' ? '127.0.0.1' : address }
    if (from.addresses().includes(address)) return { ns: from, source: address }
    const source = from.addresses()[0]
    if (source === undefined) throw new NetError('ENETUNREACH')
    if (address === this.gateway) return { ns: this.#namespace(HOST_NET), source }
    const pod = this.pods.podAt(address)
    if (pod !== undefined) return { ns: this.#namespace(podNet(pod)), source }
    // Outside the cluster there is nothing: the simulated node has no way out.
    throw new NetError(this.inPodCidr(address) ? 'EHOSTUNREACH' : 'ENETUNREACH')
  }

  #connect(from: Namespace, address: string, port: number, owner: SocketOwner, signal: AbortSignal): Connection {
    if (!isIpv4(address)) throw new NetError('ENETUNREACH')
    const { ns, source } = this.#route(from, address)
    const listener = [...ns.listeners].find((l) => l.local.port === port && (l.local.address === '0.0.0.0' || l.local.address === address))
    if (!listener) throw new NetError('ECONNREFUSED')
    const local = { address: source, port: from.ephemeral('tcp', source) }
    const remote = { address, port }
    const client = new End(from, this.#inode(), owner, local, remote, signal)
    const server = new End(ns, this.#inode(), listener.owner, remote, local, listener.signal)
    client.peer = server
    server.peer = client
    listener.deliver(server)
    return client
  }

  sendUdp(from: Namespace, local: SocketAddress, to: SocketAddress, data: Buffer): void {
    let route: { ns: Namespace; source: string }
    try {
      route = this.#route(from, to.address)
    } catch {
      return
    }
    const target = [...route.ns.udp].find(
      (u) => u.local.port === to.port && (u.local.address === '0.0.0.0' || u.local.address === to.address),
    )
    const source = local.address === '0.0.0.0' ? route.source : local.address
    target?.deliver({ from: { address: source, port: local.port }, data })
  }

  #owner(ns: Namespace, inode: number): SocketOwner | undefined {
    const all: Socket[] = [...ns.listeners, ...ns.ends, ...ns.udp]
    return all.find((s) => s.inode === inode)?.owner
  }

  /**
   * The cluster's DNS, as CoreDNS with the kubeadm Corefile answers: `localhost` (forwarded
   * upstream: not authoritative), pod A records `a-b-c-d.<namespace>.pod.cluster.local` ("pods
   * insecure": any well-formed address), PTR for loopback; anything else does not exist. There are
   * no services, and a pod's hostname is not in DNS (only in its own /etc/hosts).
   */
  query(name: string, type: DnsType): DnsAnswer {
    const n = name.toLowerCase().replace(/\.$/, '')
    const inZone = n === CLUSTER_DOMAIN || n.endsWith(`.${CLUSTER_DOMAIN}`)
    const nx: DnsAnswer = { rcode: 'NXDOMAIN', authoritative: inZone, records: [] }
    if (type === 'PTR') {
      const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(n)
      if (m && m[4] === '127') return { rcode: 'NOERROR', authoritative: false, records: [{ name: n, type, data: 'localhost' }] }
      return nx
    }
    if (n === 'localhost') {
      return { rcode: 'NOERROR', authoritative: false, records: [{ name: n, type, data: type === 'A' ? '127.0.0.1' : '::1' }] }
    }
    const pod = /^(\d+)-(\d+)-(\d+)-(\d+)\.[a-z0-9]([-a-z0-9]*[a-z0-9])?\.pod\.cluster\.local$/.exec(n)
    const ip = pod ? pod.slice(1, 5).join('.') : ''
    if (pod && isIpv4(ip)) return { rcode: 'NOERROR', authoritative: true, records: type === 'A' ? [{ name: n, type, data: ip }] : [] }
    return nx
  }

  /** /proc/net/<file> of a container's network namespace (tcp, tcp6, udp, udp6, raw, raw6, unix). */
  procNet(key: string, file: string): string | undefined {
    const header = PROC_NET_HEADERS[file]
    if (header === undefined) return undefined
    const ns = this.#namespace(key)
    const hostText = key === HOST_NET ? readHostProc(`net/${file}`) : undefined
    const lines =
      hostText === undefined
        ? []
        : hostText
            .split('\n')
            .slice(1)
            .filter((l) => l.trim() !== '')
    if (file === 'tcp') {
      for (const l of ns.listeners) lines.push(inetLine(l, 0x0a, { address: '0.0.0.0', port: 0 }))
      for (const e of ns.ends) lines.push(inetLine(e, e.state, e.remote))
    } else if (file === 'udp') {
      for (const u of ns.udp) lines.push(inetLine(u, 0x07, { address: '0.0.0.0', port: 0 }))
    }
    const width = file === 'unix' ? 0 : header.length - 1
    const body = lines.map((l, i) => {
      if (file === 'unix') return `${l}\n`
      const rest = l.replace(/^\s*\d+:/, '')
      return `${`${String(i).padStart(file.startsWith('udp') || file.startsWith('raw') ? 5 : 4)}:${rest}`.trimEnd().padEnd(width)}\n`
    })
    return header + body.join('')
  }
}

const hex4 = (ip: string): string =>
  ip
    .split('.')
    .reverse()
    .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
    .join('')
const port4 = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0')

function inetLine(s: Socket, state: number, remote: SocketAddress): string {
  return (
    `0: ${hex4(s.local.address)}:${port4(s.local.port)} ${hex4(remote.address)}:${port4(remote.port)} ` +
    `${state.toString(16).toUpperCase().padStart(2, '0')} 00000000:00000000 00:00000000 00000000 ` +
    `${String(s.owner.uid).padStart(5)} ${'0'.padStart(8)} ${s.inode} 1 0000000000000000 100 0 0 10 0`
  )
}

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'
const TCP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'
const UDP_HEADER = '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops'
const UDP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops'

/** The kernel's first lines of /proc/net files (tcp pads every line to 149 characters). */
const PROC_NET_HEADERS: Readonly<Record<string, string>> = {
  tcp: `${TCP_HEADER.padEnd(149)}\n`,
  tcp6: `${TCP6_HEADER}\n`,
  udp: `${UDP_HEADER.padEnd(127)}\n`,
  udp6: `${UDP6_HEADER}\n`,
  raw: `${UDP_HEADER.padEnd(127)}\n`,
  raw6: `${UDP6_HEADER}\n`,
  unix: 'Num       RefCount Protocol Flags    Type St Inode Path\n',
}

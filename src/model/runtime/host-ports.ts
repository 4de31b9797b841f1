// What of the simulated network is reachable from the host, as it would be on a node:
// - a sandbox's hostPort mappings (the CNI portmap plugin's DNAT): real listeners on host_ip
//   (127.0.0.1 when the mapping names none: never every address unasked) forwarding to
//   <pod IP>:<container port> inside the simulation, open while the pod is ready;
// - servers of the host network (hostNetwork pods, `ctr run --net-host`) on 127.0.0.1:<port>;
// - with a pod CIDR inside 127/8 (--pod-cidr 127.77.0.0/16), a pod's servers on its own address, so
//   `curl http://<pod IP>:<port>` works from the host (Linux routes all of 127/8 to lo).
// The last two follow the simulated sockets as they are bound and closed. Only loopback addresses
// (and a host_ip a client names) are ever bound; the bytes move in host-bridge.ts.
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import type { Logger } from '../../log.js'
import type { PortMapping__Output } from '../../generated/runtime/v1/PortMapping.js'
import { HOST_NET, podOf, type BoundSocket, type NodeNetwork } from '../../sim/net-namespaces.js'
import { isLoopback } from '../../ipv4.js'
import type { SocketOwner } from '../../sim/net.js'
import { invalidArgument, unknown } from '../errors.js'
import { forwardTcp, forwardUdp, HostBindError, type HostAddress, type HostForward } from './host-bridge.js'

export interface HostPortsHost {
  readonly network: Pick<NodeNetwork, 'view' | 'watch'>
  readonly log: Logger
  /** A pod's address (its sandbox's IP), if it has one. */
  podIp(podId: string): string | undefined
  /**
   * The node's loopback address (127.0.0.1; a cluster's nodes each have their own, so that two
   * nodes' hostPort 8080 do not collide): where hostPorts without a host_ip and host-network
   * servers are opened.
   */
  readonly hostAddress: string
}

/** The node's own sockets into the simulation (netstat shows them as containerd's). */
const NODE: SocketOwner = { pid: 0, name: 'containerd', uid: 0 }

const PROTOCOLS: Readonly<Record<string, 'tcp' | 'udp'>> = { TCP: 'tcp', UDP: 'udp' }

/** The first port an unprivileged process may bind (net.ipv4.ip_unprivileged_port_start, 1024 unless changed). */
function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) || 1024
  } catch {
    return 1024
  }
}

/** Why a bind failed, in words a user can act on: a privileged port says what privilege it needs. */
function explain(err: HostBindError): string {
  if (err.code !== 'EACCES') return err.message
  const uid = process.getuid?.() ?? -1
  return (
    `${err.message}: host port ${err.host.port} is below ${unprivilegedPortStart()} and fake-containerd runs as uid ${uid}; ` +
    `binding it needs root or CAP_NET_BIND_SERVICE (or choose a host port of 1024 or above)`
  )
}

export class HostPorts {
  /** Open hostPort mappings by sandbox id. */
  #mappings = new Map<string, Promise<HostForward[]>>()
  /** Mirrored simulated sockets, each closed when its socket closes. */
  #mirrors = new Set<Promise<HostForward | undefined>>()
  /** Closes under way, by sandbox id: a close() that finds the mapping already taken waits for them. */
  #closing = new Map<string, Promise<void>>()
  /** Closes under way of mirrors whose simulated socket closed: closeAll() waits for them. */
  #mirrorsClosing = new Set<Promise<void>>()
  /** The last closeAll(): a replaced state's pods reopen their ports only once the old ones are free. */
  #closedAll: Promise<void> = Promise.resolve()

  constructor(private readonly node: HostPortsHost) {
    node.network.watch((socket) => this.#mirror(socket))
  }

  /**
   * Opens a sandbox's hostPort mappings (those with a host port; SCTP is logged and left out: Node
   * has no SCTP sockets). A bind that fails closes the others and throws what a CNI portmap failure
   * gives through containerd: containerd 1.6 pkg/cri/server/sandbox_run.go wraps the CNI error as
   * `failed to setup network for sandbox %q: %w`, and libcni's AddNetworkList (api.go) wraps the
   * plugin's as `plugin type="portmap" failed (add): %w`. The real portmap plugin programs iptables
   * and binds nothing, so the cause after that is ours: Go's net.Listen text for the bind, with the
   * privilege it needs when the port is a privileged one.
   */
  async open(sandboxId: string, podIp: string, mappings: readonly PortMapping__Output[]): Promise<void> {
    const wanted = mappings.filter((m) => m.host_port > 0)
    if (wanted.length === 0 || podIp === '') return
    for (const m of wanted) {
      // Checked before anything is bound: a name would be looked up, a bad port would throw later.
      if (m.host_ip !== '' && isIP(m.host_ip) === 0) {
        throw invalidArgument(`port mapping host_ip ${JSON.stringify(m.host_ip)} is not an IP address`)
      }
      for (const [what, port] of [
        ['host_port', m.host_port],
        ['container_port', m.container_port],
      ] as const) {
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          throw invalidArgument(`port mapping ${what} ${port} is out of range: want 1 to 65535`)
        }
      }
    }
    const opened: HostForward[] = []
    const pending = (async () => {
      await this.#closedAll
      for (const m of wanted) {
        // CRI's enum as the loader gives it (enums: String), in requests and in the stored config alike.
        const proto = PROTOCOLS[String(m.protocol)]
        if (!proto) {
          this.node.log.warn(
            `sandbox ${sandboxId}: host port ${m.host_port}/${String(m.protocol)} is not opened: only TCP and UDP host ports are forwarded`,
          )
          continue
        }
        const host = { address: m.host_ip || this.node.hostAddress, port: m.host_port }
        opened.push(await this.#forward(proto, host, { address: podIp, port: m.container_port }))
      }
      return opened
    })()
    this.#mappings.set(sandboxId, pending)
    try {
      await pending
    } catch (err) {
      this.#mappings.delete(sandboxId)
      await Promise.all(opened.map((f) => f.close()))
      if (!(err instanceof HostBindError)) throw err
      const text = `failed to setup network for sandbox ${JSON.stringify(sandboxId)}: plugin type="portmap" failed (add): ${explain(err)}`
      this.node.log.error(text)
      throw unknown(text)
    }
    for (const f of opened) this.node.log.debug(`sandbox ${sandboxId}: host ${f.host.address}:${f.host.port} forwards to ${podIp}`)
  }

  /** Closes a sandbox's mappings (it stopped or is gone); resolves once the host's ports are free. */
  async close(sandboxId: string): Promise<void> {
    const pending = this.#mappings.get(sandboxId)
    if (!pending) return this.#closing.get(sandboxId)
    this.#mappings.delete(sandboxId)
    const closing = (async () => {
      const forwards = await pending.catch(() => [])
      await Promise.all(forwards.map((f) => f.close()))
    })()
    const earlier = this.#closing.get(sandboxId)
    const all = Promise.all([earlier, closing]).then(() => {})
    this.#closing.set(sandboxId, all)
    try {
      await all
    } finally {
      if (this.#closing.get(sandboxId) === all) this.#closing.delete(sandboxId)
    }
  }

  /** Closes everything this part opened on the host (server shutdown, a replaced state). */
  closeAll(): Promise<void> {
    const mirrors = [...this.#mirrors]
    this.#mirrors.clear()
    const ids = new Set([...this.#mappings.keys(), ...this.#closing.keys()])
    this.#closedAll = Promise.all([
      ...[...ids].map((id) => this.close(id)),
      ...mirrors.map(async (m) => (await m)?.close()),
      ...this.#mirrorsClosing,
    ]).then(() => {})
    return this.#closedAll
  }

  /** The host address a simulated socket is also reachable on, if any (see the top of this file). */
  #hostAddressOf(socket: BoundSocket): string | undefined {
    if (socket.owner.pid === NODE.pid) return undefined
    const { address } = socket.local
    if (socket.key === HOST_NET) return address === '0.0.0.0' || address === '127.0.0.1' ? this.node.hostAddress : undefined
    const pod = podOf(socket.key)
    const ip = pod === undefined ? undefined : this.node.podIp(pod)
    if (ip === undefined || !isLoopback(ip)) return undefined
    return address === '0.0.0.0' || address === ip ? ip : undefined
  }

  #mirror(socket: BoundSocket): void {
    const address = this.#hostAddressOf(socket)
    if (address === undefined) return
    const host = { address, port: socket.local.port }
    // A host-network server is reached at the node's address on the host, at 127.0.0.1 inside the node.
    const target = socket.key === HOST_NET ? { address: '127.0.0.1', port: socket.local.port } : host
    const mirror = this.#closedAll
      .then(() => this.#forward(socket.proto, host, target))
      .catch((err: unknown) => {
        const why = err instanceof HostBindError ? explain(err) : String(err)
        this.node.log.warn(
          `a simulated ${socket.proto} server (${socket.owner.name}, ${socket.key}) is not reachable from the host: ${why}`,
        )
        return undefined
      })
    this.#mirrors.add(mirror)
    socket.onClose(() => {
      if (!this.#mirrors.delete(mirror)) return
      const closing = mirror.then((m) => m?.close())
      this.#mirrorsClosing.add(closing)
      void closing.finally(() => this.#mirrorsClosing.delete(closing))
    })
  }

  /** A host socket whose traffic enters the simulation from the node's network namespace towards `target`. */
  #forward(proto: 'tcp' | 'udp', host: HostAddress, target: HostAddress): Promise<HostForward> {
    const net = this.node.network.view(HOST_NET)
    return proto === 'tcp'
      ? forwardTcp(host, (signal) => net.connect({ ...target, owner: NODE, signal }), { warn: (m) => this.node.log.warn(m) })
      : forwardUdp(host, (signal) => net.bindUdp({ port: 0, owner: NODE, signal }), target, { warn: (m) => this.node.log.warn(m) })
  }
}

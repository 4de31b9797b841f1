// What each node of a cluster (--nodes N) is given, worked out before any is started so that bad
// input is refused whole: its name, socket, state file, a /24 of the pod CIDR (as Kubernetes' node
// IPAM gives each node a /24 of the cluster CIDR), and a loopback address of its own. Nodes share
// the host, so every address they open there must differ: 127/8 is all loopback on Linux, and each
// node's hostPorts, host-network servers and streaming server go on its own 127.0.<x>.<y>.
import { join, resolve } from 'node:path'
import { parseCidr } from '../model/cri/ipam.js'
import { isLoopback, toDotted, toNumber } from '../ipv4.js'
import { parseStreamAddress } from '../listen-address.js'

/** The prefix each node's pod range has: the default of kube-controller-manager's --node-cidr-mask-size. */
export const NODE_CIDR_BITS = 24

export interface NodePlan {
  index: number
  /** node-<i> */
  name: string
  socket: string
  /** DIR/node-<i>.json with a state directory; in memory without. */
  state?: string
  podCidr: string
  hostAddress: string
  /** HOST:PORT of its streaming server. */
  streamAddress: string
}

export interface ClusterInput {
  nodes: number
  socketDir: string
  podCidr: string
  stateDir?: string | undefined
  streamAddress: string
}

/** The first node's loopback address, 127.0.1.1: 127.0.0.0/24 (127.0.0.1) stays the host's own. */
const FIRST_HOST = toNumber('127.0.1.0')
/** Addresses per third octet used: .1 to .254 (no .0 or .255, which read as a network or broadcast). */
const PER_OCTET = 254
/** Nodes 127.0.1.1 … 127.0.255.254 give room for. */
export const MAX_NODES = 255 * PER_OCTET

export const nodeName = (i: number): string => `node-${i}`

/** Node i's loopback address: 127.0.<1 + i/254>.<1 + i%254>. */
export function hostAddressOf(i: number): string {
  return toDotted(FIRST_HOST + Math.floor(i / PER_OCTET) * 256 + 1 + (i % PER_OCTET))
}

/** Node i's /24 of the cluster's range; throws when `n` nodes do not fit in it. */
export function carvePodCidrs(clusterCidr: string, n: number): string[] {
  const cidr = parseCidr(clusterCidr)
  const fits = cidr.bits <= NODE_CIDR_BITS ? 2 ** (NODE_CIDR_BITS - cidr.bits) : 0
  if (n > fits) {
    const need = Math.max(8, NODE_CIDR_BITS - Math.ceil(Math.log2(n)))
    const span = 2 ** (32 - need)
    // The same range made larger, unless that is in 127/8, where a larger range would take the
    // host's 127.0.0.0/24 or the nodes' own addresses: then one in 10/8, which holds any /8 to /24.
    const widened = toDotted(Math.floor(cidr.base / span) * span)
    const suggested = isLoopback(widened) ? '10.0.0.0' : widened
    throw new Error(
      `--pod-cidr ${clusterCidr} holds ${fits} node range${fits === 1 ? '' : 's'} of /${NODE_CIDR_BITS} ` +
        `(each node gets a /${NODE_CIDR_BITS}, as Kubernetes gives each node of a cluster CIDR); ` +
        `${n} nodes need a /${need} or larger, such as ${suggested}/${need}`,
    )
  }
  const size = 2 ** (32 - NODE_CIDR_BITS)
  return Array.from({ length: n }, (_, i) => `${toDotted(cidr.base + i * size)}/${NODE_CIDR_BITS}`)
}

/** Every node's plan; throws a message naming the input to change when the cluster cannot be laid out. */
export function planCluster(input: ClusterInput): NodePlan[] {
  const { nodes: n } = input
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`nodes must be a whole number of at least 1, got ${n}`)
  if (n > MAX_NODES) throw new Error(`nodes must be at most ${MAX_NODES} (one loopback address 127.0.x.y each), got ${n}`)
  const podCidrs = carvePodCidrs(input.podCidr, n)
  const cluster = parseCidr(input.podCidr)
  const last = hostAddressOf(n - 1)
  if (cluster.base <= toNumber(last) && cluster.base + 2 ** (32 - cluster.bits) > FIRST_HOST + 1)
    throw new Error(
      `--pod-cidr ${input.podCidr} overlaps the nodes' loopback addresses 127.0.1.1 … ${last}; ` +
        'choose a range away from 127.0.0.0/16, such as 127.64.0.0/10 or 10.88.0.0/16',
    )
  const stream = parseStreamAddress(input.streamAddress)
  // On loopback each node streams on its own address; elsewhere (0.0.0.0, a host's IP) a fixed port
  // counts up from the one given, one per node.
  const loopback = isLoopback(stream.host) || stream.host === 'localhost'
  const dir = resolve(input.socketDir)
  return podCidrs.map((podCidr, i) => {
    const name = nodeName(i)
    const hostAddress = hostAddressOf(i)
    const host = loopback ? hostAddress : stream.host.includes(':') ? `[${stream.host}]` : stream.host
    const port = loopback || stream.port === 0 ? stream.port : stream.port + i
    if (port > 65535)
      throw new Error(
        `--stream-address port ${stream.port} leaves no port for ${name} (one port per node from it); choose a lower one or port 0`,
      )
    return {
      index: i,
      name,
      socket: join(dir, `${name}.sock`),
      ...(input.stateDir ? { state: join(resolve(input.stateDir), `${name}.json`) } : {}),
      podCidr,
      hostAddress,
      streamAddress: `${host}:${port}`,
    }
  })
}

/**
 * Why node `plan` did not start, naming it. Only Linux routes all of 127/8 to loopback: elsewhere
 * (macOS) 127.0.1.1 and the like must be added to lo0 before the nodes can listen on them.
 */
export function explainStartFailure(plan: NodePlan, err: Error): Error {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? (err as NodeJS.ErrnoException).code
  const own = plan.streamAddress.startsWith(`${plan.hostAddress}:`)
  const hint =
    code === 'EADDRNOTAVAIL' && own
      ? `; ${plan.hostAddress} is not an address of this host: --nodes needs every 127.0.x.y on loopback, as Linux has it ` +
        `(on macOS add them to lo0: sudo ifconfig lo0 alias ${plan.hostAddress}, and so on for each node)`
      : ''
  return new Error(`${plan.name}: ${err.message}${hint}`, { cause: err })
}

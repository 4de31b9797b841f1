// What Control.ListNodes tells of a node, and the library's cluster.list(): a leaf, so that the
// server, the cluster and the control service share it without importing each other.

/** One node of a server's process: a single server is one, a cluster (--nodes) has one per socket. */
export interface NodeSummary {
  /** node-<i> in a cluster; the host's name for a single server. */
  name: string
  /** The node's gRPC target: unix:///path/to/node-<i>.sock. */
  address: string
  socketPath: string
  /** The range its pod IPs come from (the state's: what UpdateRuntimeConfig set, if it did). */
  podCidr: string
  /** The loopback address its hostPorts and host-network servers are opened on. */
  hostAddress: string
  /** Where its streaming server (exec, attach, port-forward) listens: http://HOST:PORT. */
  streamUrl: string
}

/** How a node's Control service finds itself and the other nodes of its process. */
export interface NodeDirectory {
  /** This node's name. */
  readonly self: string
  /** Every node of the process, in order (a single server: itself). */
  list(): NodeSummary[]
}

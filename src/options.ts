// Options for one fake-containerd server. Their flags, environment variables and defaults are rows of
// FLAGS in flags.ts; the compiler holds this type and that table to each other. A module of its own
// (config.ts re-exports it) so that flags.ts can take these types without importing config.ts,
// which re-exports the table's DEFAULTS: the two would import each other.
import type { ContainerdVersion } from './containerd/profiles.js'
import type { FaultRule } from './faults/rule.js'
import type { LogFormat, LogLevel } from './log.js'
import type { SeedState } from './seed-state.js'

export type { LogFormat, LogLevel } from './log.js'
import type { PullPolicy } from './model/metadata/images.js'

export interface FakeContainerdOptions {
  /** Unix socket path. Default: /tmp/fake-containerd/containerd.sock (the library picks a fresh temp path). */
  socket?: string
  /** JSON state file; omit for an in-memory node. In a cluster (FakeClusterOptions), a directory holding node-<i>.json. */
  state?: string
  /**
   * With `state`: answer a change only once it is on disk (written, fsynced, renamed, directory
   * fsynced; concurrent calls share one write), so that a crash loses nothing acknowledged.
   * Default false: each group of calls waits for two fsyncs, whose cost follows the disk's fsync
   * latency (`node bench/run.mjs state-writes`: ~130 ms on the 105-pod batch's ~385 ms on a quiet
   * disk, far more on a busy one), so the 1.5× a default may cost is not assured.
   */
  stateSync?: boolean
  /** The pause image every sandbox runs. */
  sandboxImage?: string
  /** CIDR pod IPs come from. */
  podCidr?: string
  /** Runtime handlers RunPodSandbox accepts; the first is the default. */
  runtimeHandlers?: string[]
  /**
   * any: unknown references are synthesised; catalog: only catalog images can be pulled; registry:
   * catalog images from the catalog, every other reference from its registry (nothing synthesised).
   */
  pullPolicy?: PullPolicy
  /** With pull policy registry: containerd's hosts directory (DIR/<host>/hosts.toml). */
  registryConfigPath?: string
  /** With pull policy registry: a pull receiving no bytes for this many ms is cut off (0: never; default 5 minutes). */
  imagePullProgressTimeoutMs?: number
  logLevel?: LogLevel
  /** How log lines are written to stderr: text (containerd's logfmt) or json (one object a line). */
  logFormat?: LogFormat
  /** What Version reports as runtime_name. */
  runtimeName?: string
  /** What Version reports as runtime_version (default: the containerd profile's release). */
  runtimeVersion?: string
  /** The containerd generation posed as: version, plugins, which services exist (default 2.1). */
  containerdVersion?: ContainerdVersion
  /** Fault rules in force from the start (reset() keeps them; use() adds more at run time). */
  faults?: FaultRule[]
  /** Seed of the random numbers fault probabilities draw on: the same seed, the same run. A cluster's node i draws on seed + i. */
  seed?: number
  /** How many calls the journal keeps (default 10,000; in a cluster of N nodes, 10,000/N each, at least 100). */
  journalSize?: number
  /**
   * How many bytes the journal's entries may hold together (default 64 MiB; in a cluster of N nodes,
   * 64 MiB/N each, at least 256 KiB): past it the oldest go.
   * Each entry keeps a summary of its request and response (long strings, byte fields, lists cut).
   */
  journalBytes?: number
  /** HOST:PORT of the streaming server Exec, Attach and PortForward URLs point at (default 127.0.0.1, a free port). */
  streamAddress?: string
  /**
   * HOST:PORT of a live web view of the node (pods, containers and their processes, images, the
   * journal, fault rules): e.g. 127.0.0.1:8080, or port 0 for a free one. Off when unset; the
   * page's address is the server's webUrl.
   */
  web?: string
  /**
   * The node state to start from when there is no --state file yet: a JSON file or a shipped
   * scenario's name, or the state inline (a snapshot, or a scenario { state, faults }).
   */
  seedState?: string | SeedState
}

/** What a cluster takes beyond one server's options. */
interface ClusterOnly {
  /**
   * Serve this many independent nodes from one process (startFakeCluster, the CLI's --nodes): each
   * on its own socket DIR/node-<i>.sock, with its own state (then `state` is a directory of
   * node-<i>.json), a /24 of `podCidr`, a loopback address, journal, faults and clock.
   */
  nodes: number
  /** The directory of the nodes' sockets (default: a fresh temp one, removed on close; the CLI's: --socket's directory). */
  socketDir?: string
}

/**
 * startFakeCluster's options: one server's, read per node, without those that belong to one node
 * (its socket, a seed state, the web view of one node).
 */
export type FakeClusterOptions = Omit<FakeContainerdOptions, 'web' | 'seedState' | 'socket'> & ClusterOnly

/** What the command line and a --config file give: one server's options, and with `nodes` a cluster's. */
export type CommandLineOptions = FakeContainerdOptions & Partial<ClusterOnly>

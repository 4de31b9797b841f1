// Options for one fake-containerd server. Their flags, environment variables and defaults are rows of
// FLAGS in flags.ts; the compiler holds this type and that table to each other. A module of its own
// (config.ts re-exports it) so that flags.ts can take these types without importing config.ts,
// which re-exports the table's DEFAULTS: the two would import each other.
import type { FaultRule } from './faults/rule.js'
import type { PullPolicy } from './model/metadata/images.js'

export interface FakeContainerdOptions {
  /** Unix socket path. Default: /tmp/fake-containerd/containerd.sock (the library picks a fresh temp path). */
  socket?: string
  /** JSON state file; omit for an in-memory node. */
  state?: string
  /** The pause image every sandbox runs. */
  sandboxImage?: string
  /** CIDR pod IPs come from. */
  podCidr?: string
  /** Runtime handlers RunPodSandbox accepts; the first is the default. */
  runtimeHandlers?: string[]
  /** any: unknown references are synthesised; catalog: only catalog images can be pulled. */
  pullPolicy?: PullPolicy
  logLevel?: LogLevel
  /** What Version reports as runtime_name. */
  runtimeName?: string
  /** What Version reports as runtime_version. */
  runtimeVersion?: string
  /** Fault rules in force from the start (reset() keeps them; use() adds more at run time). */
  faults?: FaultRule[]
  /** Seed of the random numbers fault probabilities draw on: the same seed, the same run. */
  seed?: number
  /** How many calls the journal keeps (default 10,000). */
  journalSize?: number
  /** HOST:PORT of the streaming server Exec, Attach and PortForward URLs point at (default 127.0.0.1, a free port). */
  streamAddress?: string
  /** A node state JSON file (a snapshot or a scenario) to start from when there is no --state file yet. */
  seedState?: string
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug'

// Options for one fake-containerd server, their defaults, and the environment variables the CLI
// reads them from.
import type { FaultRule } from './faults/rule.js'
import type { PullPolicy } from './model/images.js'

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
  /** A node state JSON file (a snapshot or a scenario) to start from when there is no --state file yet. */
  seedState?: string
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug'

export const PACKAGE_VERSION = '0.1.0'

export const DEFAULTS = {
  socket: '/tmp/fake-containerd/containerd.sock',
  sandboxImage: 'registry.k8s.io/pause:3.10',
  podCidr: '10.88.0.0/16',
  runtimeHandlers: ['runc'],
  pullPolicy: 'any' as PullPolicy,
  logLevel: 'info' as LogLevel,
  runtimeName: 'containerd',
  runtimeVersion: `v2.1.0-fake-containerd-${PACKAGE_VERSION}`,
}

/** Environment variable for each CLI flag. */
export const ENV = {
  socket: 'FAKE_CONTAINERD_SOCKET',
  state: 'FAKE_CONTAINERD_STATE',
  sandboxImage: 'FAKE_CONTAINERD_SANDBOX_IMAGE',
  podCidr: 'FAKE_CONTAINERD_POD_CIDR',
  runtimeHandlers: 'FAKE_CONTAINERD_RUNTIME_HANDLERS',
  pullPolicy: 'FAKE_CONTAINERD_PULL_POLICY',
  logLevel: 'FAKE_CONTAINERD_LOG_LEVEL',
  runtimeName: 'FAKE_CONTAINERD_RUNTIME_NAME',
  runtimeVersion: 'FAKE_CONTAINERD_RUNTIME_VERSION',
  fault: 'FAKE_CONTAINERD_FAULT',
  faults: 'FAKE_CONTAINERD_FAULTS',
  seed: 'FAKE_CONTAINERD_SEED',
  seedState: 'FAKE_CONTAINERD_SEED_STATE',
  journalSize: 'FAKE_CONTAINERD_JOURNAL_SIZE',
} as const

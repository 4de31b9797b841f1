// The public API of the fake-containerd package.
export { startFakeContainerd, type FakeContainerd } from './server.js'
export { startFakeCluster, type FakeCluster, type NodeRef, type NodeTarget } from './cluster/cluster.js'
export type { NodeSummary } from './control/nodes.js'
export type { FakeClusterOptions, FakeContainerdOptions, LogFormat, LogLevel } from './config.js'
export { DEFAULTS, PACKAGE_VERSION } from './config.js'
export {
  criClients,
  containerdClients,
  controlClient,
  collect,
  type ControlClient,
  type CriClients,
  type ContainerdClients,
  type RuntimeClient,
  type ImageClient,
  type CallOptions,
} from './client.js'
export { ANNOTATION as SCRIPT_ANNOTATIONS } from './sim/program.js'
export type { ProtoGrpcType as CriProtoGrpcType } from './generated/api.js'
export { FaultEngine, type FiredFault } from './faults/engine.js'
export { presets } from './faults/presets.js'
export { parseFaultSpec, readFaultFile } from './faults/spec.js'
export type { FaultRule, CallFault, NodeFault, NodeFaultKind, Match, Schedule, Delay } from './faults/rule.js'
export { Journal, type JournalEntry, type JournalFilter } from './journal/journal.js'
export { SimClock } from './sim/clock.js'
export type { NodeState } from './store/schema.js'

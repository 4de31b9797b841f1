// fake-containerd for CommonJS: what `require('fake-containerd')` gives (built to dist/index.cjs).
//
// The library is ESM, and so are some of its dependencies; Node 20 cannot require() ESM. So this
// entry gives what CommonJS can have at once, the typed clients (built, as the jest helper's are,
// from ../service-descriptors.cts, which needs only grpc-js and proto-loader), and the rest through
// import(), which CommonJS can call:
//
//   const { startFakeContainerd, criClients } = require('fake-containerd')
//   const fake = await startFakeContainerd()           // loads the ESM library, starts a server
//   const cri = criClients(fake.address)
//   const { presets } = await require('fake-containerd').load()   // everything else the library exports
import { join } from 'node:path'
import { loadGroup } from './service-descriptors.cjs'
import { clientFactories } from './client-factories.cjs'
import { findPackageRoot } from './package-root.cjs'
import type { FakeClusterOptions, FakeContainerdOptions } from './config.js'
import type { FakeContainerd } from './server.js'
import type { FakeCluster } from './cluster/cluster.js'

export type { ChannelOptions, ContainerdClients, ControlClient, CriClients, ImageClient, RuntimeClient, CallOptions } from './client.js'
export type { FakeClusterOptions, FakeContainerdOptions, LogFormat, LogLevel } from './config.js'
export type { FakeContainerd } from './server.js'
export type { FakeCluster, NodeRef, NodeTarget } from './cluster/cluster.js'
export type { NodeSummary } from './control/nodes.js'
export type { FaultRule, CallFault, NodeFault, NodeFaultKind, Match, Schedule, Delay } from './faults/rule.js'
export type { JournalEntry, JournalFilter } from './journal/journal.js'

/** The whole library, as `import('fake-containerd')` gives it. */
export type Library = typeof import('./index.js')

/** Loads the ESM library (every export of `import('fake-containerd')`). */
export function load(): Promise<Library> {
  return import('./index.js')
}

/** Starts a server (the ESM library's startFakeContainerd, loaded on first use). */
export async function startFakeContainerd(options: FakeContainerdOptions = {}): Promise<FakeContainerd> {
  return (await load()).startFakeContainerd(options)
}

/** Starts many nodes in this process (the ESM library's startFakeCluster, loaded on first use). */
export async function startFakeCluster(options: FakeClusterOptions): Promise<FakeCluster> {
  return (await load()).startFakeCluster(options)
}

const protoDir = (): string => join(findPackageRoot(__dirname), 'proto')

export const { criClients, containerdClients, controlClient } = clientFactories((group) => loadGroup(group, protoDir()))
export { collect } from './client-factories.cjs'

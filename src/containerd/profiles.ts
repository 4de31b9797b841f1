// The containerd generation the server poses as (--containerd-version): the release its Version
// reports, the plugins Introspection lists, whether PluginInfo answers, and which services it serves
// (from the service descriptors' `since`: a service newer than the profile answers Unimplemented with
// grpc-go's "unknown service", as containerd 1.6 answers a 2.x ctr's Streaming). A leaf: flags.ts
// reads the generations from here.
import type { Plugin } from '../generated/containerd/services/introspection/v1/Plugin.js'
import { PACKAGE_VERSION } from '../version.js'

/** The generations a profile can name, oldest first. */
export const CONTAINERD_VERSIONS = ['1.6', '1.7', '2.1'] as const
export type ContainerdVersion = (typeof CONTAINERD_VERSIONS)[number]
export const DEFAULT_CONTAINERD_VERSION: ContainerdVersion = '2.1'

/** The release each generation reports (the fake's own version follows it in runtime_version). */
const RELEASES: Record<ContainerdVersion, string> = { '1.6': '1.6.20', '1.7': '1.7.34', '2.1': '2.1.0' }

/** Whether a service or plugin that first came with `since` exists in generation `version`. */
export const hasSince = (version: ContainerdVersion, since: ContainerdVersion | undefined): boolean =>
  since === undefined || CONTAINERD_VERSIONS.indexOf(since) <= CONTAINERD_VERSIONS.indexOf(version)

/**
 * Events the node publishes that a generation came to publish later: an older profile's subscribers
 * are never sent them. /content/create: core/metadata/content.go publishes it at each writer commit
 * from 2.0 on; 1.6 and 1.7 have no such event.
 */
const TOPICS_SINCE: Readonly<Record<string, ContainerdVersion>> = { '/content/create': '2.1' }

/** Whether generation `version` publishes the node's events of this topic. */
export const publishes = (version: ContainerdVersion, topic: string): boolean => hasSince(version, TOPICS_SINCE[topic])

/** runtime_version as Version and CRI report it when --runtime-version does not say. */
export const runtimeVersionOf = (version: ContainerdVersion): string => `v${RELEASES[version]}-fake-containerd-${PACKAGE_VERSION}`

const LINUX = [{ os: 'linux', architecture: 'amd64', variant: '', os_version: '', os_features: [] }]

/** A plugin: its type, id, requirements, whether it is Linux's, and the error it skipped itself with. */
type Row = [type: string, id: string, requires: string[], linux?: 'linux', skipped?: string]

/** The plugins of containerd 1.6.20 with CRI, as `ctr plugins ls -d` lists them (Debian's containerd). */
const PLUGINS_1_6: Row[] = [
  ['io.containerd.content.v1', 'content', []],
  ['io.containerd.snapshotter.v1', 'native', [], 'linux'],
  ['io.containerd.snapshotter.v1', 'overlayfs', [], 'linux'],
  ['io.containerd.metadata.v1', 'bolt', ['io.containerd.content.v1', 'io.containerd.snapshotter.v1']],
  ['io.containerd.differ.v1', 'walking', ['io.containerd.metadata.v1'], 'linux'],
  ['io.containerd.event.v1', 'exchange', []],
  ['io.containerd.gc.v1', 'scheduler', ['io.containerd.metadata.v1']],
  ['io.containerd.service.v1', 'introspection-service', []],
  ['io.containerd.service.v1', 'containers-service', ['io.containerd.event.v1', 'io.containerd.metadata.v1']],
  ['io.containerd.service.v1', 'content-service', ['io.containerd.event.v1', 'io.containerd.metadata.v1']],
  ['io.containerd.service.v1', 'diff-service', ['io.containerd.differ.v1']],
  ['io.containerd.service.v1', 'images-service', ['io.containerd.metadata.v1', 'io.containerd.gc.v1']],
  ['io.containerd.service.v1', 'leases-service', ['io.containerd.metadata.v1']],
  ['io.containerd.service.v1', 'namespaces-service', ['io.containerd.event.v1', 'io.containerd.metadata.v1']],
  ['io.containerd.service.v1', 'snapshots-service', ['io.containerd.event.v1', 'io.containerd.metadata.v1']],
  ['io.containerd.runtime.v1', 'linux', ['io.containerd.event.v1', 'io.containerd.metadata.v1'], 'linux'],
  ['io.containerd.runtime.v2', 'task', ['io.containerd.event.v1', 'io.containerd.metadata.v1'], 'linux'],
  ['io.containerd.monitor.v1', 'cgroups', ['io.containerd.event.v1'], 'linux'],
  [
    'io.containerd.service.v1',
    'tasks-service',
    [
      'io.containerd.event.v1',
      'io.containerd.runtime.v1',
      'io.containerd.runtime.v2',
      'io.containerd.metadata.v1',
      'io.containerd.monitor.v1',
    ],
  ],
  ['io.containerd.grpc.v1', 'introspection', ['io.containerd.service.v1']],
  ['io.containerd.internal.v1', 'restart', ['io.containerd.event.v1', 'io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'containers', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'content', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'diff', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'events', ['io.containerd.event.v1']],
  ['io.containerd.grpc.v1', 'healthcheck', []],
  ['io.containerd.grpc.v1', 'images', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'leases', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'namespaces', ['io.containerd.service.v1']],
  ['io.containerd.internal.v1', 'opt', []],
  ['io.containerd.grpc.v1', 'snapshots', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'tasks', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'version', []],
  ['io.containerd.grpc.v1', 'cri', ['io.containerd.event.v1', 'io.containerd.service.v1'], 'linux'],
]

/** How containerd reports a plugin that skipped itself: ErrSkipPlugin's text, code Unknown (introspection/local.go). */
const SKIPPED_TRACING = 'skip plugin: tracing endpoint not configured'

/**
 * 1.7 (v1.7.34 sources' registrations: plugins/{sandbox,streaming,transfer}, services/{sandbox,
 * streaming,transfer,warning}, leases/plugin, runtime/v2, pkg/nri/plugin, tracing/plugin): 1.6's
 * plugins with the deprecation warnings, the lease manager (the grpc leases service now requires it;
 * 1.6's leases-service is gone), runtime v2's "shim" alias, NRI, the tracing processor and tracer
 * (skipped: no endpoint configured), the sandbox store and its "local" controller, the streaming
 * manager, the local transfer service and their gRPC services, before CRI.
 */
const PLUGINS_1_7: Row[] = [
  ...PLUGINS_1_6.slice(0, 1),
  ['io.containerd.warning.v1', 'deprecations', []],
  ...PLUGINS_1_6.slice(1, -1).flatMap((row): Row[] => {
    const [type, id] = row
    if (type === 'io.containerd.service.v1' && id === 'leases-service') return []
    if (type === 'io.containerd.grpc.v1' && id === 'leases') return [['io.containerd.grpc.v1', 'leases', ['io.containerd.lease.v1']]]
    if (type === 'io.containerd.gc.v1')
      return [row, ['io.containerd.lease.v1', 'manager', ['io.containerd.metadata.v1', 'io.containerd.gc.v1']]]
    if (type === 'io.containerd.runtime.v2') return [row, ['io.containerd.runtime.v2', 'shim', []]]
    return [row]
  }),
  ['io.containerd.nri.v1', 'nri', []],
  ['io.containerd.tracing.processor.v1', 'otlp', [], undefined, SKIPPED_TRACING],
  ['io.containerd.internal.v1', 'tracing', ['io.containerd.tracing.processor.v1'], undefined, SKIPPED_TRACING],
  ['io.containerd.sandbox.store.v1', 'local', ['io.containerd.metadata.v1']],
  ['io.containerd.sandbox.controller.v1', 'local', ['io.containerd.runtime.v2', 'io.containerd.sandbox.store.v1']],
  ['io.containerd.streaming.v1', 'manager', ['io.containerd.metadata.v1']],
  ['io.containerd.transfer.v1', 'local', ['io.containerd.lease.v1', 'io.containerd.metadata.v1', 'io.containerd.differ.v1']],
  ['io.containerd.grpc.v1', 'sandbox-controllers', ['io.containerd.sandbox.controller.v1']],
  ['io.containerd.grpc.v1', 'sandboxes', ['io.containerd.sandbox.store.v1']],
  ['io.containerd.grpc.v1', 'streaming', ['io.containerd.streaming.v1']],
  ['io.containerd.grpc.v1', 'transfer', ['io.containerd.transfer.v1', 'io.containerd.streaming.v1']],
  ...PLUGINS_1_6.slice(-1),
]

/** The plugins a containerd 2.x with CRI reports, all loaded ("ok"). */
const PLUGINS_2_1: Row[] = [
  ['io.containerd.content.v1', 'content', []],
  ['io.containerd.event.v1', 'exchange', []],
  ['io.containerd.internal.v1', 'opt', []],
  ['io.containerd.warning.v1', 'deprecations', []],
  ['io.containerd.snapshotter.v1', 'native', [], 'linux'],
  ['io.containerd.snapshotter.v1', 'overlayfs', [], 'linux'],
  ['io.containerd.metadata.v1', 'bolt', ['io.containerd.content.v1', 'io.containerd.snapshotter.v1']],
  ['io.containerd.gc.v1', 'scheduler', ['io.containerd.metadata.v1']],
  ['io.containerd.differ.v1', 'walking', ['io.containerd.metadata.v1'], 'linux'],
  ['io.containerd.lease.v1', 'manager', ['io.containerd.metadata.v1']],
  ['io.containerd.monitor.task.v1', 'cgroups', [], 'linux'],
  ['io.containerd.sandbox.store.v1', 'local', ['io.containerd.metadata.v1']],
  ['io.containerd.streaming.v1', 'manager', ['io.containerd.metadata.v1']],
  [
    'io.containerd.transfer.v1',
    'local',
    ['io.containerd.lease.v1', 'io.containerd.metadata.v1', 'io.containerd.differ.v1', 'io.containerd.snapshotter.v1'],
  ],
  ['io.containerd.sandbox.controller.v1', 'shim', ['io.containerd.event.v1']],
  ['io.containerd.runtime.v2', 'task', ['io.containerd.event.v1', 'io.containerd.metadata.v1'], 'linux'],
  ['io.containerd.grpc.v1', 'containers', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'content', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'diff', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'events', ['io.containerd.event.v1']],
  ['io.containerd.grpc.v1', 'images', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'introspection', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'leases', ['io.containerd.lease.v1']],
  ['io.containerd.grpc.v1', 'namespaces', ['io.containerd.service.v1']],
  [
    'io.containerd.grpc.v1',
    'sandbox-controllers',
    ['io.containerd.podsandbox.controller.v1', 'io.containerd.sandbox.controller.v1', 'io.containerd.event.v1'],
  ],
  ['io.containerd.grpc.v1', 'sandboxes', ['io.containerd.sandbox.store.v1']],
  ['io.containerd.grpc.v1', 'snapshots', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'streaming', ['io.containerd.streaming.v1']],
  ['io.containerd.grpc.v1', 'tasks', ['io.containerd.service.v1']],
  ['io.containerd.grpc.v1', 'transfer', ['io.containerd.transfer.v1', 'io.containerd.streaming.v1']],
  ['io.containerd.grpc.v1', 'version', []],
  ['io.containerd.grpc.v1', 'healthcheck', []],
  ['io.containerd.cri.v1', 'images', ['io.containerd.event.v1', 'io.containerd.metadata.v1', 'io.containerd.lease.v1'], 'linux'],
  ['io.containerd.cri.v1', 'runtime', ['io.containerd.event.v1', 'io.containerd.metadata.v1'], 'linux'],
  ['io.containerd.podsandbox.controller.v1', 'podsandbox', ['io.containerd.event.v1', 'io.containerd.lease.v1'], 'linux'],
  ['io.containerd.grpc.v1', 'cri', ['io.containerd.cri.v1', 'io.containerd.podsandbox.controller.v1'], 'linux'],
]

const plugins = (rows: Row[]): Plugin[] =>
  rows.map(([type, id, requires, linux, skipped]) => ({
    type,
    id,
    requires,
    platforms: linux ? LINUX : [],
    exports: {},
    capabilities: [],
    init_err: skipped === undefined ? null : { code: 2, message: skipped, details: [] },
  }))

const PLUGINS: Record<ContainerdVersion, Plugin[]> = {
  '1.6': plugins(PLUGINS_1_6),
  '1.7': plugins(PLUGINS_1_7),
  '2.1': plugins(PLUGINS_2_1),
}

/** The plugins Introspection lists in generation `version`. */
export const pluginsOf = (version: ContainerdVersion): readonly Plugin[] => PLUGINS[version]

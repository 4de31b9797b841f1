// Version, Introspection and Health: what `ctr version` and `ctr plugins ls` show.
import type { HealthHandlers } from '../generated/grpc/health/v1/Health.js'
import { SERVICES, isHarness } from '../service-descriptors.cjs'
import type { IntrospectionHandlers } from '../generated/containerd/services/introspection/v1/Introspection.js'
import type { Plugin } from '../generated/containerd/services/introspection/v1/Plugin.js'
import type { VersionHandlers } from '../generated/containerd/services/version/v1/Version.js'
import { RuntimeError } from '../model/errors.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'
import { parseFilters } from './filters.js'

const LINUX = [{ os: 'linux', architecture: 'amd64', variant: '', os_version: '', os_features: [] }]

/** The plugins a containerd 2.x with CRI reports, all loaded ("ok"). */
const PLUGINS: Plugin[] = [
  ['io.containerd.content.v1', 'content', []],
  ['io.containerd.event.v1', 'exchange', []],
  ['io.containerd.internal.v1', 'opt', []],
  ['io.containerd.warning.v1', 'deprecations', []],
  ['io.containerd.snapshotter.v1', 'native', [], LINUX],
  ['io.containerd.snapshotter.v1', 'overlayfs', [], LINUX],
  ['io.containerd.metadata.v1', 'bolt', ['io.containerd.content.v1', 'io.containerd.snapshotter.v1']],
  ['io.containerd.gc.v1', 'scheduler', ['io.containerd.metadata.v1']],
  ['io.containerd.differ.v1', 'walking', ['io.containerd.metadata.v1'], LINUX],
  ['io.containerd.lease.v1', 'manager', ['io.containerd.metadata.v1']],
  ['io.containerd.monitor.task.v1', 'cgroups', [], LINUX],
  ['io.containerd.sandbox.store.v1', 'local', ['io.containerd.metadata.v1']],
  ['io.containerd.streaming.v1', 'manager', ['io.containerd.metadata.v1']],
  [
    'io.containerd.transfer.v1',
    'local',
    ['io.containerd.lease.v1', 'io.containerd.metadata.v1', 'io.containerd.differ.v1', 'io.containerd.snapshotter.v1'],
  ],
  ['io.containerd.sandbox.controller.v1', 'shim', ['io.containerd.event.v1']],
  ['io.containerd.runtime.v2', 'task', ['io.containerd.event.v1', 'io.containerd.metadata.v1'], LINUX],
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
  ['io.containerd.cri.v1', 'images', ['io.containerd.event.v1', 'io.containerd.metadata.v1', 'io.containerd.lease.v1'], LINUX],
  ['io.containerd.cri.v1', 'runtime', ['io.containerd.event.v1', 'io.containerd.metadata.v1'], LINUX],
  ['io.containerd.podsandbox.controller.v1', 'podsandbox', ['io.containerd.event.v1', 'io.containerd.lease.v1'], LINUX],
  ['io.containerd.grpc.v1', 'cri', ['io.containerd.cri.v1', 'io.containerd.podsandbox.controller.v1'], LINUX],
].map(([type, id, requires, platforms]) => ({
  type: type as string,
  id: id as string,
  requires: requires as string[],
  platforms: (platforms as typeof LINUX | undefined) ?? [],
  exports: {},
  capabilities: [],
  init_err: null,
}))

export interface VersionInfo {
  version: string
  revision: string
}

export function versionService(info: VersionInfo): Implementation<VersionHandlers> {
  return { Version: () => ({ version: info.version, revision: info.revision }) }
}

export function introspectionService(node: Node): Implementation<IntrospectionHandlers> {
  return {
    Plugins: (req) => {
      // Filters match on type and id, as containerd's introspection filters do.
      const match = parseFilters(req.filters)
      return { plugins: PLUGINS.filter((p) => match((path) => (path[0] === 'type' ? p.type : path[0] === 'id' ? p.id : undefined))) }
    },
    Server: () => ({ uuid: node.state.uuid, pid: process.pid, pidns: 0, deprecations: [] }),
    PluginInfo: (req) => {
      const plugin = PLUGINS.find((p) => p.type === req.type && p.id === req.id)
      if (!plugin) throw new RuntimeError('NotFound', `plugin ${req.type}.${req.id}: not found`)
      return { plugin, extra: null }
    },
  }
}

/** How often Watch looks at the fault rules again: a rule can turn on or off by time alone (from, until). */
const WATCH_INTERVAL_MS = 200

/**
 * gRPC health per service: "" (the whole server) and every service it serves answer SERVING, or
 * NOT_SERVING while a runtimeNotReady fault is on; the harness's control service stays SERVING, so
 * a test can still turn the fault off. Any other name is unknown, as grpc-go's health server says.
 */
export function healthService(node: Node): Implementation<HealthHandlers> {
  const runtimeServices = new Set<string>(['', ...SERVICES.filter((s) => !isHarness(s)).map((s) => s.name)])
  const harnessServices = new Set<string>(SERVICES.filter((s) => isHarness(s)).map((s) => s.name))
  const status = (service: string): 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' => {
    if (harnessServices.has(service)) return 'SERVING'
    if (!runtimeServices.has(service)) return 'SERVICE_UNKNOWN'
    return node.faults.condition('runtimeNotReady') ? 'NOT_SERVING' : 'SERVING'
  }
  return {
    Check: (req) => {
      const now = status(req.service)
      if (now === 'SERVICE_UNKNOWN') throw new RuntimeError('NotFound', 'unknown service')
      return { status: now }
    },
    // Sends the status now and at every change, until the client goes (grpc-go's Watch; an unknown
    // service is SERVICE_UNKNOWN, not an error, since it may yet appear).
    Watch: async (req, ctx, send) => {
      let last = status(req.service)
      send({ status: last })
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const now = status(req.service)
          if (now !== last) send({ status: (last = now) })
        }, WATCH_INTERVAL_MS)
        ctx.signal.addEventListener('abort', () => (clearInterval(timer), resolve()), { once: true })
      })
    },
  }
}

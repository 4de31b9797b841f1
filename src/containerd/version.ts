// Version, Introspection and Health: what `ctr version` and `ctr plugins ls` show.
import type { HealthHandlers } from '../generated/grpc/health/v1/Health.js'
import { SERVICES, isHarness } from '../service-descriptors.cjs'
import type { IntrospectionHandlers } from '../generated/containerd/services/introspection/v1/Introspection.js'
import type { VersionHandlers } from '../generated/containerd/services/version/v1/Version.js'
import { RuntimeError } from '../model/errors.js'
import { shimInfo, type AnyValue } from '../model/runtime/shim-info.js'
import { decodeMessage, encodeMessage, goTypeName, knownMessage, typeNameOf } from '../proto/load.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'
import { parseFilters } from './filters.js'
import { hasSince, pluginsOf, type ContainerdVersion } from './profiles.js'

export interface VersionInfo {
  version: string
  revision: string
}

export function versionService(info: VersionInfo): Implementation<VersionHandlers> {
  return { Version: () => ({ version: info.version, revision: info.revision }) }
}

/** The Any containerd's client sends for the runtime's info, and the one it gets back. */
const RUNTIME_REQUEST = 'containerd.types.RuntimeRequest'
const RUNTIME_INFO = 'containerd.types.RuntimeInfo'

export function introspectionService(node: Node, containerd: ContainerdVersion, info: VersionInfo): Implementation<IntrospectionHandlers> {
  const plugins = pluginsOf(containerd)
  return {
    Plugins: (req) => {
      // Filters match on type and id, as containerd's introspection filters do.
      const match = parseFilters(req.filters)
      return { plugins: plugins.filter((p) => match((path) => (path[0] === 'type' ? p.type : path[0] === 'id' ? p.id : undefined))) }
    },
    Server: () => ({ uuid: node.state.uuid, pid: process.pid, pidns: 0, deprecations: [] }),
    PluginInfo: (req) => {
      // 1.6's Introspection has no such method (grpc-go's answer); 1.7's returns errdefs.ErrNotImplemented.
      if (!hasSince(containerd, '1.7'))
        throw new RuntimeError('Unimplemented', 'unknown method PluginInfo for service containerd.services.introspection.v1.Introspection')
      if (!hasSince(containerd, '2.1')) throw new RuntimeError('Unimplemented', 'not implemented')
      // containerd's introspection service: the options decoded first (typeurl.UnmarshalAny, whatever
      // their type), then the plugin found, then (with options) its extra information asked of it;
      // only the runtime's task manager has any, and it takes a RuntimeRequest only.
      const options = req.options
      let request: Record<string, unknown> | undefined
      if (options) {
        const undecodable = (why: string): RuntimeError => new RuntimeError('Unknown', `failed to unmarshal plugin info Options: ${why}`)
        if (!knownMessage(typeNameOf(options.type_url))) throw undecodable(`type with url ${options.type_url}: not found`)
        try {
          request = decodeMessage(typeNameOf(options.type_url), options.value)
        } catch (err) {
          throw undecodable((err as Error).message)
        }
      }
      const plugin = plugins.find((p) => p.type === req.type && p.id === req.id)
      if (!plugin) throw new RuntimeError('NotFound', `plugin ${req.type}.${req.id} not found: not found`)
      if (!options || !request) return { plugin, extra: null }
      if (plugin.init_err)
        throw new RuntimeError('FailedPrecondition', 'cannot get extra info, plugin not successfully loaded: failed precondition')
      if (plugin.type !== 'io.containerd.runtime.v2' || plugin.id !== 'task')
        throw new RuntimeError('Unimplemented', 'plugin does not provided extra information: not implemented')
      // The task manager's type switch names the Go type it was handed (%T).
      if (typeNameOf(options.type_url) !== RUNTIME_REQUEST)
        throw new RuntimeError('Unimplemented', `unknown request type ${goTypeName(typeNameOf(options.type_url))}: not implemented`)
      const { runtime_path, options: runtimeOptions } = request as { runtime_path: string; options: AnyValue | null }
      const answer = shimInfo(runtime_path, runtimeOptions ?? undefined, { version: info.version, revision: info.revision })
      return { plugin, extra: { type_url: RUNTIME_INFO, value: encodeMessage(RUNTIME_INFO, { ...answer }) } }
    },
  }
}

/** How often Watch looks at the fault rules again: a rule can turn on or off by time alone (from, until). */
const WATCH_INTERVAL_MS = 200

/**
 * gRPC health per service: "" (the whole server) and every service it serves answer SERVING, or
 * NOT_SERVING while a runtimeNotReady fault is on; the harness's control service stays SERVING, so
 * a test can still turn the fault off. Any other name (a service the profile's generation lacks too)
 * is unknown, as grpc-go's health server says.
 */
export function healthService(node: Node, containerd: ContainerdVersion): Implementation<HealthHandlers> {
  const served = SERVICES.filter((s) => !isHarness(s) && hasSince(containerd, 'since' in s ? s.since : undefined))
  const runtimeServices = new Set<string>(['', ...served.map((s) => s.name)])
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

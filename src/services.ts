// Every gRPC service the server speaks, in one table: name, wire definition, implementation. The
// services, their names and proto files are src/service-descriptors.cts's; this file adds each
// one's implementation by key. The implementation objects are the lists of RPCs; nothing else names them.
import type { ServiceDefinition } from '@grpc/grpc-js'
import { containersService } from './containerd/containers.js'
import { contentService } from './containerd/content.js'
import { diffService } from './containerd/diff.js'
import { eventsService } from './containerd/events.js'
import { imagesService } from './containerd/images.js'
import { leasesService } from './containerd/leases.js'
import { snapshotsService } from './containerd/snapshots.js'
import { tasksService } from './containerd/tasks.js'
import { namespacesService } from './containerd/namespaces.js'
import { sandboxControllerService, sandboxStoreService } from './containerd/sandbox.js'
import { streamingService } from './containerd/streaming.js'
import { transferService } from './containerd/transfer.js'
import { healthService, introspectionService, versionService } from './containerd/version.js'
import { imageService } from './cri/image-service.js'
import type { RuntimeInfo } from './cri/info.js'
import { runtimeService, type StreamUrls } from './cri/runtime-service.js'
import type { Node } from './model/node.js'
import { servicePackage } from './proto/load.js'
import { SERVICES, isHarness, serviceConstructor, type HandlersOf, type ServiceKey } from './service-descriptors.cjs'
import { controlService, type ControlTargets } from './control/service.js'
import type { Implementation } from './rpc/adapter.js'
import { hasSince, type ContainerdVersion } from './containerd/profiles.js'
import { RuntimeError } from './model/errors.js'

export interface ServiceEntry {
  name: string
  definition: ServiceDefinition
  /** An Implementation<H> of the definition's handlers; typed where the factory is. */
  impl: unknown
  /** The test harness's own service: its calls are neither journaled nor open to faults. */
  harness?: boolean
}

/** What Version reports, and the containerd generation the server poses as. */
export interface VersionTargets {
  version: string
  revision: string
  containerd: ContainerdVersion
}

interface Targets {
  node: Node
  info: RuntimeInfo
  version: VersionTargets
  control: ControlTargets
  streams: StreamUrls
}

/** Each service's implementation, by its descriptor's key: a descriptor without one does not compile. */
const IMPLEMENTATIONS: { [K in ServiceKey]: (t: Targets) => Implementation<HandlersOf<K>> } = {
  runtime: (t) => runtimeService(t.node, t.info, t.streams),
  image: (t) => imageService(t.node),
  version: (t) => versionService(t.version),
  introspection: (t) => introspectionService(t.node, t.version.containerd, t.version),
  health: (t) => healthService(t.node, t.version.containerd),
  namespaces: (t) => namespacesService(t.node),
  containers: (t) => containersService(t.node),
  images: (t) => settledFirst(t.node, imagesService(t.node)),
  events: (t) => eventsService(t.node, t.version.containerd),
  tasks: (t) => tasksService(t.node),
  content: (t) => settledFirst(t.node, contentService(t.node)),
  snapshots: (t) => settledFirst(t.node, snapshotsService(t.node)),
  diff: (t) => settledFirst(t.node, diffService(t.node)),
  leases: (t) => settledFirst(t.node, leasesService(t.node)),
  streaming: (t) => streamingService(t.node),
  transfer: (t) => settledFirst(t.node, transferService(t.node)),
  sandboxStore: (t) => sandboxStoreService(t.node),
  sandboxController: (t) => sandboxControllerService(t.node),
  control: (t) => controlService(t.control),
}

export function services(
  node: Node,
  info: RuntimeInfo,
  version: VersionTargets,
  control: ControlTargets,
  streams: StreamUrls,
): ServiceEntry[] {
  const targets: Targets = { node, info, version, control, streams }
  return SERVICES.map((s) => {
    const definition = serviceConstructor(servicePackage(s.group), s.name).service
    const served = hasSince(version.containerd, 'since' in s ? s.since : undefined)
    return {
      name: s.name,
      definition,
      impl: served ? IMPLEMENTATIONS[s.key](targets) : unknownService(s.name, definition),
      harness: isHarness(s),
    }
  })
}

/**
 * A service whose answers a collection changes (content, snapshots, leases, and those that read or
 * write them): each call first runs the collection removals asked for (Node.gcSoon), so a client
 * sees what it would had the collection run at each removal.
 */
function settledFirst<I extends object>(node: Node, impl: I): I {
  const out: Record<string, unknown> = {}
  for (const [method, handler] of Object.entries(impl) as [string, (...args: unknown[]) => unknown][]) {
    out[method] = (...args: unknown[]) => {
      node.settleGc()
      return handler(...args)
    }
  }
  return out as I
}

/** A service the profile's generation did not have: every method answers as grpc-go does for an unregistered service. */
function unknownService(name: string, definition: ServiceDefinition): Record<string, () => never> {
  const refuse = (): never => {
    throw new RuntimeError('Unimplemented', `unknown service ${name}`)
  }
  return Object.fromEntries(Object.keys(definition).map((method) => [method, refuse]))
}

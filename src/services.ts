// Every gRPC service the server speaks, in one table: name, wire definition, implementation.
// The implementation objects are the lists of RPCs; nothing else names them.
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
import { healthService, introspectionService, versionService } from './containerd/version.js'
import { imageService } from './cri/image-service.js'
import type { RuntimeInfo } from './cri/info.js'
import { runtimeService } from './cri/runtime-service.js'
import type { Node } from './model/node.js'
import { containerdProto, controlProto, criProto } from './proto/load.js'
import { controlService, type ControlTargets } from './control/service.js'
import type { Implementation } from './rpc/adapter.js'

export interface ServiceEntry {
  name: string
  definition: ServiceDefinition
  /** An Implementation<H> of the definition's handlers; typed where the entry is made. */
  impl: unknown
  /** The test harness's own service: its calls are neither journaled nor open to faults. */
  harness?: boolean
}

const entry = <H>(name: string, definition: ServiceDefinition, impl: Implementation<H>, harness = false): ServiceEntry => ({
  name,
  definition,
  impl,
  harness,
})

export function services(
  node: Node,
  info: RuntimeInfo,
  version: { version: string; revision: string },
  control: Omit<ControlTargets, 'node'>,
): ServiceEntry[] {
  const cri = criProto().runtime.v1
  const ctrd = containerdProto().containerd.services
  return [
    entry('runtime.v1.RuntimeService', cri.RuntimeService.service, runtimeService(node, info)),
    entry('runtime.v1.ImageService', cri.ImageService.service, imageService(node)),
    entry('containerd.services.version.v1.Version', ctrd.version.v1.Version.service, versionService(version)),
    entry('containerd.services.introspection.v1.Introspection', ctrd.introspection.v1.Introspection.service, introspectionService(node)),
    entry('grpc.health.v1.Health', containerdProto().grpc.health.v1.Health.service, healthService()),
    entry('containerd.services.namespaces.v1.Namespaces', ctrd.namespaces.v1.Namespaces.service, namespacesService(node)),
    entry('containerd.services.containers.v1.Containers', ctrd.containers.v1.Containers.service, containersService(node)),
    entry('containerd.services.images.v1.Images', ctrd.images.v1.Images.service, imagesService(node)),
    entry('containerd.services.events.v1.Events', ctrd.events.v1.Events.service, eventsService(node)),
    entry('containerd.services.tasks.v1.Tasks', ctrd.tasks.v1.Tasks.service, tasksService(node)),
    entry('containerd.services.content.v1.Content', ctrd.content.v1.Content.service, contentService(node)),
    entry('containerd.services.snapshots.v1.Snapshots', ctrd.snapshots.v1.Snapshots.service, snapshotsService(node)),
    entry('containerd.services.diff.v1.Diff', ctrd.diff.v1.Diff.service, diffService(node)),
    entry('containerd.services.leases.v1.Leases', ctrd.leases.v1.Leases.service, leasesService(node)),
    entry(
      'fakecontainerd.control.v1.Control',
      controlProto().fakecontainerd.control.v1.Control.service,
      controlService({ node, ...control }),
      true,
    ),
  ]
}

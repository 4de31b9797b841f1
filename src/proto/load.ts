// Loads the wire definitions in proto/ once per process (every server in a test run shares them).
// Keep the options equal to those in scripts/gen-types.mjs, which generates src/generated/.
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import protobuf from 'protobufjs'
import { packagePath } from '../paths.js'
import type { ProtoGrpcType as CriProto } from '../generated/api.js'
import type { ProtoGrpcType as ControlProto } from '../generated/control.js'
import type { ProtoGrpcType as ContainersProto } from '../generated/containers.js'
import type { ProtoGrpcType as ContentProto } from '../generated/content.js'
import type { ProtoGrpcType as DiffProto } from '../generated/diff.js'
import type { ProtoGrpcType as EventsProto } from '../generated/events.js'
import type { ProtoGrpcType as HealthProto } from '../generated/health.js'
import type { ProtoGrpcType as ImagesProto } from '../generated/images.js'
import type { ProtoGrpcType as IntrospectionProto } from '../generated/introspection.js'
import type { ProtoGrpcType as LeasesProto } from '../generated/leases.js'
import type { ProtoGrpcType as NamespacesProto } from '../generated/namespace.js'
import type { ProtoGrpcType as SnapshotsProto } from '../generated/snapshots.js'
import type { ProtoGrpcType as TasksProto } from '../generated/tasks.js'
import type { ProtoGrpcType as VersionProto } from '../generated/version.js'

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [packagePath('proto')],
}

const CONTAINERD_SERVICES = [
  'containerd/services/containers/v1/containers.proto',
  'containerd/services/content/v1/content.proto',
  'containerd/services/diff/v1/diff.proto',
  'containerd/services/events/v1/events.proto',
  'containerd/services/images/v1/images.proto',
  'containerd/services/introspection/v1/introspection.proto',
  'containerd/services/leases/v1/leases.proto',
  'containerd/services/namespaces/v1/namespace.proto',
  'containerd/services/snapshots/v1/snapshots.proto',
  'containerd/services/tasks/v1/tasks.proto',
  'containerd/services/version/v1/version.proto',
  'grpc/health/v1/health.proto',
]

/** Payloads that travel as Any (events in envelopes, task metrics); these files define them. */
const PAYLOAD_FILES = [
  'containerd/events/container.proto',
  'containerd/events/content.proto',
  'containerd/events/image.proto',
  'containerd/events/namespace.proto',
  'containerd/events/snapshot.proto',
  'containerd/events/task.proto',
  'containerd/types/metrics.proto',
  'containerd/runc/options/process.proto',
  'cgroups/v2/metrics.proto',
]

export type ContainerdProto = ContainersProto &
  ContentProto &
  DiffProto &
  EventsProto &
  ImagesProto &
  IntrospectionProto &
  LeasesProto &
  NamespacesProto &
  SnapshotsProto &
  TasksProto &
  VersionProto &
  HealthProto

let control: ControlProto | undefined

export function controlProto(): ControlProto {
  control ??= grpc.loadPackageDefinition(protoLoader.loadSync('fakecontainerd/control/v1/control.proto', LOADER_OPTIONS)) as unknown as ControlProto
  return control
}

let cri: CriProto | undefined
let containerd: ContainerdProto | undefined
let messages: protobuf.Root | undefined

export function criProto(): CriProto {
  cri ??= grpc.loadPackageDefinition(protoLoader.loadSync('cri/runtime/v1/api.proto', LOADER_OPTIONS)) as unknown as CriProto
  return cri
}

export function containerdProto(): ContainerdProto {
  containerd ??= grpc.loadPackageDefinition(protoLoader.loadSync(CONTAINERD_SERVICES, LOADER_OPTIONS)) as unknown as ContainerdProto
  return containerd
}

function payloadType(typeName: string): protobuf.Type {
  if (!messages) {
    const root = new protobuf.Root()
    root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : packagePath('proto', target))
    root.loadSync(PAYLOAD_FILES, { keepCase: true })
    messages = root
  }
  return messages.lookupType(typeName)
}

/** Encodes a message (given with proto field names) as the bytes of an Any of that type. */
export function encodeMessage(typeName: string, value: Record<string, unknown>): Buffer {
  const type = payloadType(typeName)
  return Buffer.from(type.encode(type.fromObject(value)).finish())
}

/** Decodes the bytes of an Any of a payload type (proto field names; 64-bit numbers as strings). */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = payloadType(typeName)
  return type.toObject(type.decode(bytes), { longs: String, defaults: true }) as Record<string, unknown>
}

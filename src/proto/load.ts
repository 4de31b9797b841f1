// Loads the wire definitions in proto/ once per process (every server in a test run shares them).
// The services' files and the loader options come from src/service-descriptors.cts.
import type * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs'
import { packagePath } from '../paths.js'
import { loadGroup, type ServiceGroup } from '../service-descriptors.cjs'

/** The package of one group's services (their proto files, from src/service-descriptors.cts), loaded once. */
export function servicePackage(group: ServiceGroup): grpc.GrpcObject {
  return loadGroup(group, packagePath('proto'))
}

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

let messages: protobuf.Root | undefined

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

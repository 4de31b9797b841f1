// Loads the wire definitions in proto/ once per process (every server in a test run shares them).
// The services' files and the loader options come from src/service-descriptors.cts.
import type * as grpc from '@grpc/grpc-js'
import type { PackageDefinition } from '@grpc/proto-loader'
import { ReflectionService } from '@grpc/reflection'
import protobuf from 'protobufjs'
import { packagePath } from '../paths.js'
import { SERVICES, groupDefinition, loadGroup, type ServiceGroup } from '../service-descriptors.cjs'

/** The package of one group's services (their proto files, from src/service-descriptors.cts), loaded once. */
export function servicePackage(group: ServiceGroup): grpc.GrpcObject {
  return loadGroup(group, packagePath('proto'))
}

type Registration = { definition: grpc.ServiceDefinition; impl: grpc.UntypedServiceImplementation }

/** What a ReflectionService adds to a server (v1 and v1alpha), caught instead of added. */
function registrations(service: ReflectionService): Registration[] {
  const out: Registration[] = []
  service.addToServer({ addService: (definition, impl) => void out.push({ definition, impl }) })
  return out
}

let shapes: grpc.ServiceDefinition[] | undefined
let handlers: Map<string, grpc.UntypedHandleCall> | undefined

/**
 * Adds server reflection (grpc.reflection.v1 and v1alpha) over every service the server speaks, so
 * grpcurl, evans and Postman can list and call them. Indexing every descriptor takes a third of a
 * second, so it is done on the first reflection call, not when a server starts (a test starts many).
 */
export function addReflection(server: Pick<grpc.Server, 'addService'>): void {
  shapes ??= registrations(new ReflectionService({})).map((r) => r.definition)
  for (const definition of shapes) {
    const impl: grpc.UntypedServiceImplementation = {}
    for (const [name, method] of Object.entries(definition)) {
      impl[name] = ((call: grpc.ServerDuplexStream<unknown, unknown>) => {
        handlers ??= indexHandlers()
        ;(handlers.get(method.path) as grpc.handleBidiStreamingCall<unknown, unknown>)(call)
      }) as grpc.UntypedHandleCall
    }
    server.addService(definition, impl)
  }
}

/** The real reflection handlers, by method path, over every group's proto files. */
function indexHandlers(): Map<string, grpc.UntypedHandleCall> {
  const all: PackageDefinition = {}
  for (const group of new Set(SERVICES.map((s) => s.group))) Object.assign(all, groupDefinition(group, packagePath('proto')))
  const out = new Map<string, grpc.UntypedHandleCall>()
  for (const { definition, impl } of registrations(new ReflectionService(all))) {
    for (const [name, method] of Object.entries(definition)) out.set(method.path, impl[name] as grpc.UntypedHandleCall)
  }
  return out
}

/** Payloads that travel as Any (events in envelopes, task metrics, Transfer's objects and stream messages); these files define them. */
const PAYLOAD_FILES = [
  'containerd/events/container.proto',
  'containerd/events/content.proto',
  'containerd/events/image.proto',
  'containerd/events/namespace.proto',
  'containerd/events/sandbox.proto',
  'containerd/events/snapshot.proto',
  'containerd/events/task.proto',
  'containerd/types/metrics.proto',
  'containerd/types/introspection.proto',
  'containerd/services/streaming/v1/streaming.proto',
  'containerd/types/transfer/imagestore.proto',
  'containerd/types/transfer/importexport.proto',
  'containerd/types/transfer/progress.proto',
  'containerd/types/transfer/registry.proto',
  'containerd/types/transfer/streaming.proto',
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

/** Whether a type is one of the payload types (as typeurl knows the types registered with it). */
export function knownMessage(typeName: string): boolean {
  try {
    payloadType(typeName)
    return true
  } catch {
    return false
  }
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

// Which methods' requests may carry a credential, read from the proto types: a field named as
// SECRET_FIELDS names one (CRI's AuthConfig in PullImage, Transfer's AuthResponse), at any depth, or a
// google.protobuf.Any (it may hold any message: Transfer's OCIRegistry carries the resolver's headers,
// Authorization among them). The journal summarizes (redacts) such a request when the call arrives,
// instead of keeping its bytes to decode when read, so that no credential stays in memory in clear.
import type * as grpc from '@grpc/grpc-js'
import protobuf from 'protobufjs'
import descriptor from 'protobufjs/ext/descriptor/index.js'
import { SECRET_FIELDS } from './journal.js'

const ANY = '.google.protobuf.Any'

/** Whether a message type has a credential field or an Any, itself or in a message it holds. */
function carriesSecrets(type: protobuf.Type, seen = new Set<protobuf.Type>()): boolean {
  if (seen.has(type)) return false
  seen.add(type)
  for (const field of type.fieldsArray) {
    if (SECRET_FIELDS.has(field.name)) return true
    const inner = field.resolve().resolvedType
    if (inner instanceof protobuf.Type && (inner.fullName === ANY || carriesSecrets(inner, seen))) return true
  }
  return false
}

/** The methods carrying secrets, from the file descriptors proto-loader attached to the methods' types. */
function fromDescriptors(serviceName: string, definition: grpc.ServiceDefinition): string[] {
  // Each type carries the descriptors of its own file and those it imports; a request type from
  // another file (google.protobuf.Empty) does not carry the service's, so all are gathered, once each.
  const files = new Map<string, unknown>()
  // The types of one file share its descriptors' buffers: each is decoded once.
  const seen = new Set<Buffer>()
  for (const method of Object.values(definition) as { requestType?: Typed; responseType?: Typed }[]) {
    for (const type of [method.requestType, method.responseType]) {
      for (const bytes of type?.fileDescriptorProtos ?? []) {
        if (seen.has(bytes)) continue
        seen.add(bytes)
        const file = descriptor.FileDescriptorProto.decode(bytes) as unknown as { name: string }
        if (!files.has(file.name)) files.set(file.name, file)
      }
    }
  }
  // protobufjs/ext/descriptor adds Root.fromDescriptor; its typings do not say so.
  const fromDescriptor = (protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }).fromDescriptor
  const root = fromDescriptor({ file: [...files.values()] })
  const out: string[] = []
  for (const method of Object.values(root.lookupService(serviceName).methods)) {
    method.resolve()
    if (carriesSecrets(method.resolvedRequestType!)) out.push(method.name)
  }
  return out
}

/** What proto-loader attaches to a method's request and response types. */
type Typed = { fileDescriptorProtos?: Buffer[] }

/** By service definition: served definitions are loaded once per process, so every server shares the answer. */
const bySecret = new WeakMap<grpc.ServiceDefinition, ReadonlySet<string>>()

/**
 * The methods of a service whose requests may carry a credential. Built from the descriptors
 * proto-loader gave the definition (tens of milliseconds for CRI's file), once per definition:
 * the adapter asks on a service's first call, not when a server starts.
 */
export function methodsCarryingSecrets(serviceName: string, definition: grpc.ServiceDefinition): ReadonlySet<string> {
  let out = bySecret.get(definition)
  if (out) return out
  const found = new Set<string>()
  try {
    for (const name of fromDescriptors(serviceName, definition)) found.add(name)
  } catch {
    // Descriptors that do not describe the service (not proto-loader's): no way to tell, so every request may.
    for (const name of Object.keys(definition)) found.add(name)
  }
  out = found
  bySecret.set(definition, out)
  return out
}

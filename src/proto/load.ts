// Loads the wire definitions in proto/ once per process (every server in a test run shares them).
// The services' files and the loader options come from src/service-descriptors.cts.
import type * as grpc from '@grpc/grpc-js'
import type { PackageDefinition } from '@grpc/proto-loader'
import { ReflectionService } from '@grpc/reflection'
import { isUtf8 } from 'node:buffer'
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
  'containerd/runc/options/oci.proto',
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

/**
 * The message name an Any's type URL names: typeurl (Go) finds `type.googleapis.com/x.Y`, as Go's
 * anypb.New and Python's Any.Pack write it, as well as containerd's own bare `x.Y`.
 */
export const typeNameOf = (typeUrl: string): string => typeUrl.slice(typeUrl.lastIndexOf('/') + 1)

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

/**
 * Decodes the bytes of an Any of a payload type (proto field names; 64-bit numbers as strings).
 * Bytes Go's proto.Unmarshal refuses are refused first, with its words: protobufjs alone cuts a
 * string or bytes field that runs past the end short instead of failing.
 */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = payloadType(typeName)
  checkWire(type, bytes)
  return type.toObject(type.decode(bytes), { longs: String, defaults: true }) as Record<string, unknown>
}

/** The Go packages (go_package) of the payload packages whose last segment is not their name. */
const GO_PACKAGE: Readonly<Record<string, string>> = {
  'containerd.runc.v1': 'options',
  'containerd.services.streaming.v1': 'streaming',
  'io.containerd.cgroups.v2': 'stats',
}

/** A payload type as Go's %T prints a pointer to it: containerd.types.RuntimeInfo → *types.RuntimeInfo. */
export function goTypeName(typeName: string): string {
  const dot = typeName.lastIndexOf('.')
  const pkg = typeName.slice(0, dot)
  return `*${GO_PACKAGE[pkg] ?? pkg.slice(pkg.lastIndexOf('.') + 1)}.${typeName.slice(dot + 1)}`
}

/** Go's proto.Unmarshal errors (google.golang.org/protobuf; its "proto: " prefix included). */
const WIRE_ERROR = 'proto: cannot parse invalid wire-format data'
const MAX_FIELD_NUMBER = 2 ** 29 - 1
/** What containerd 2.1 answers for a proto3 string that is not UTF-8 (checked against the daemon: no prefix, no field name). */
const UTF8_ERROR = 'string field contains invalid UTF-8'

/**
 * Walks `bytes` as the wire format of `type` as Go's decoder does: every tag, varint and length
 * within its message, groups closed, no field number 0, strings UTF-8 (proto3), nested messages
 * and map entries walked the same way. A field of another wire type than its own Go keeps as an
 * unknown field, so only the framing of those is checked.
 */
function checkWire(type: protobuf.Type, bytes: Uint8Array, start = 0, end = bytes.length): void {
  walkWire(bytes, start, end, (number, wire, s, e) => {
    const field = type.fieldsById[number]
    if (!field || wire !== 2) return
    field.resolve()
    if (field instanceof protobuf.MapField) {
      // An entry: key 1, value 2.
      walkWire(bytes, s, e, (n, w, ks, ke) => {
        if (w !== 2) return
        if (n === 1) checkValue(field.keyType, null, bytes, ks, ke)
        if (n === 2) checkValue(field.type, field.resolvedType, bytes, ks, ke)
      })
    } else checkValue(field.type, field.resolvedType, bytes, s, e)
  })
}

/** A length-delimited value of a field: a message walked, a string UTF-8. */
function checkValue(
  kind: string,
  resolved: protobuf.ReflectionObject | null,
  bytes: Uint8Array,
  start: number,
  end: number,
): void {
  if (resolved instanceof protobuf.Type) checkWire(resolved, bytes, start, end)
  else if (kind === 'string' && !isUtf8(bytes.subarray(start, end))) throw new Error(UTF8_ERROR)
}

/** Calls `each` with every field of a message's wire bytes (for a length-delimited one, its value's range); throws Go's error where the framing breaks. */
function walkWire(bytes: Uint8Array, start: number, end: number, each: (number: number, wire: number, s: number, e: number) => void): void {
  let pos = start
  const fail = (): never => {
    throw new Error(WIRE_ERROR)
  }
  const varint = (): number => {
    let value = 0
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= end) fail()
      const b = bytes[pos++] as number
      // A tenth byte carries bit 63 alone: more is an overflow (protowire.ConsumeVarint).
      if (shift === 63 && b > 1) fail()
      if (shift < 53) value += (b & 0x7f) * 2 ** shift
      if (b < 0x80) return value
    }
    return fail()
  }
  const tag = (): [number, number] => {
    const t = varint()
    const number = Math.floor(t / 8)
    // protowire's valid field numbers: 1 to 2^29 - 1.
    if (number === 0 || number > MAX_FIELD_NUMBER) fail()
    return [number, t % 8]
  }
  /** Skips a value; the start of a length-delimited one's bytes. */
  const skip = (number: number, wire: number): number => {
    if (wire === 0) varint()
    else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4
      if (pos > end) fail()
    } else if (wire === 2) {
      const len = varint()
      if (len > end - pos) fail()
      pos += len
      return pos - len
    } else if (wire === 3) {
      // A group runs to the end tag of its own number.
      for (;;) {
        const [n, w] = tag()
        if (w === 4) {
          if (n !== number) fail()
          break
        }
        skip(n, w)
      }
    } else fail()
    return pos
  }
  while (pos < end) {
    const [number, wire] = tag()
    if (wire === 4) fail()
    const from = pos
    const value = skip(number, wire)
    each(number, wire, wire === 2 ? value : from, pos)
  }
}

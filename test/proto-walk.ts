// Walks what the server serves, from the same source the server builds its handlers from
// (service-descriptors.cts SERVICES and the proto definitions it loads): every service, every
// method, and the descriptor of each request type. Tests that try every RPC (long-strings, fuzz)
// share it, so a method the protos gain is tried at once and no list of names is kept by hand.
import type * as grpc from '@grpc/grpc-js'
import type { EnumTypeDefinition, MessageTypeDefinition, PackageDefinition } from '@grpc/proto-loader'
import { packagePath } from '../src/paths.js'
import { SERVICES, groupDefinition, loadGroup, serviceConstructor, type ServiceDescriptor } from '../src/service-descriptors.cjs'

/** A field as proto-loader describes it (google.protobuf.FieldDescriptorProto, as an object). */
export interface FieldProto {
  name: string
  number: number
  type: string
  label: string
  typeName: string
  oneofIndex?: number
}
/** A message type as proto-loader describes it (google.protobuf.DescriptorProto, as an object). */
export interface TypeProto {
  field: FieldProto[]
  options?: { mapEntry?: boolean } | null
}

/** The descriptor of a message type by its full name (with or without the leading dot). */
export function messageType(definition: PackageDefinition, typeName: string): TypeProto | undefined {
  const message = definition[typeName.replace(/^\./, '')] as MessageTypeDefinition<unknown, unknown> | undefined
  return message?.format === 'Protocol Buffer 3 DescriptorProto' ? (message.type as unknown as TypeProto) : undefined
}

/** The value names of an enum type by its full name. */
export function enumValues(definition: PackageDefinition, typeName: string): string[] {
  const e = definition[typeName.replace(/^\./, '')] as EnumTypeDefinition | undefined
  return ((e?.type as unknown as { value?: { name: string }[] } | undefined)?.value ?? []).map((v) => v.name)
}

export interface ServedMethod {
  /** e.g. Version */
  readonly name: string
  /** The wire path, e.g. /runtime.v1.RuntimeService/Version */
  readonly path: string
  /** Its grpc-js definition (requestSerialize and requestDeserialize are the server's). */
  readonly def: grpc.MethodDefinition<unknown, unknown>
  /** The full name of its request type, e.g. runtime.v1.VersionRequest. */
  readonly requestType: string
}

export interface ServedService {
  readonly service: ServiceDescriptor
  /** The proto definitions of its group, as proto-loader read them. */
  readonly definition: PackageDefinition
  /** Its client constructor. */
  readonly Client: grpc.ServiceClientConstructor
  readonly methods: readonly ServedMethod[]
}

/** Every service the server serves (the harness's Control too), with every method. */
export function servedServices(): ServedService[] {
  return SERVICES.map((s) => {
    const definition = groupDefinition(s.group, packagePath('proto'))
    const Client = serviceConstructor(loadGroup(s.group, packagePath('proto')), s.name)
    const methods = Object.entries(Client.service).map(([name, def]) => {
      // The request type's full name: in the service's package, else wherever it is (google.protobuf.Empty).
      const short = (definition[s.name] as Record<string, { requestType: { type: { name: string } } }>)[name]!.requestType.type.name
      const pkg = s.name.slice(0, s.name.lastIndexOf('.'))
      const requestType =
        `${pkg}.${short}` in definition ? `${pkg}.${short}` : Object.keys(definition).find((k) => k.endsWith(`.${short}`))!
      return { name, path: def.path, def: def as grpc.MethodDefinition<unknown, unknown>, requestType }
    })
    return { service: s, definition, Client, methods }
  })
}

// Every gRPC service the server speaks, once: its client key, the proto file it comes from and its
// full name, with its generated types. The server's table (services.ts adds each one's
// implementation by key), the proto loader (proto/load.ts), the typed clients (client.ts) and the
// jest helper (testing/jest.cts) are all built from this list, so a service added here is served,
// loaded and given a client everywhere at once.
//
// CommonJS (built to dist/service-descriptors.cjs) so that the jest helper can require() it: Node 20
// cannot require() the ESM build, and the ESM modules import it as well. It needs only grpc-js and
// proto-loader at run time, never the ESM library.
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ImageServiceDefinition, ImageServiceHandlers } from './generated/runtime/v1/ImageService.js'
import type { RuntimeServiceDefinition, RuntimeServiceHandlers } from './generated/runtime/v1/RuntimeService.js'
import type { ControlDefinition, ControlHandlers } from './generated/fakecontainerd/control/v1/Control.js'
import type { ContainersDefinition, ContainersHandlers } from './generated/containerd/services/containers/v1/Containers.js'
import type { ContentDefinition, ContentHandlers } from './generated/containerd/services/content/v1/Content.js'
import type { DiffDefinition, DiffHandlers } from './generated/containerd/services/diff/v1/Diff.js'
import type { EventsDefinition, EventsHandlers } from './generated/containerd/services/events/v1/Events.js'
import type { ImagesDefinition, ImagesHandlers } from './generated/containerd/services/images/v1/Images.js'
import type { IntrospectionDefinition, IntrospectionHandlers } from './generated/containerd/services/introspection/v1/Introspection.js'
import type { LeasesDefinition, LeasesHandlers } from './generated/containerd/services/leases/v1/Leases.js'
import type { NamespacesDefinition, NamespacesHandlers } from './generated/containerd/services/namespaces/v1/Namespaces.js'
import type { SnapshotsDefinition, SnapshotsHandlers } from './generated/containerd/services/snapshots/v1/Snapshots.js'
import type { TasksDefinition, TasksHandlers } from './generated/containerd/services/tasks/v1/Tasks.js'
import type { VersionDefinition, VersionHandlers } from './generated/containerd/services/version/v1/Version.js'
import type { StreamingDefinition, StreamingHandlers } from './generated/containerd/services/streaming/v1/Streaming.js'
import type { TransferDefinition, TransferHandlers } from './generated/containerd/services/transfer/v1/Transfer.js'
import type {
  StoreDefinition as SandboxStoreDefinition,
  StoreHandlers as SandboxStoreHandlers,
} from './generated/containerd/services/sandbox/v1/Store.js'
import type {
  ControllerDefinition as SandboxControllerDefinition,
  ControllerHandlers as SandboxControllerHandlers,
} from './generated/containerd/services/sandbox/v1/Controller.js'
import type { HealthDefinition, HealthHandlers } from './generated/grpc/health/v1/Health.js'

/**
 * Which client a service belongs to: criClients() (CRI), containerdClients() (containerd's API, with
 * a namespace on every call) or controlClient() (the harness's own service).
 */
export type ServiceGroup = 'cri' | 'containerd' | 'control'

interface Descriptor {
  readonly group: ServiceGroup
  /** The client's property name, e.g. `tasks` in containerdClients(address).tasks. */
  readonly key: string
  /** The proto file that defines it, under proto/. */
  readonly file: string
  /** Its full name, e.g. containerd.services.tasks.v1.Tasks. */
  readonly name: string
  /** The test harness's own service: its calls are neither journaled nor open to faults. */
  readonly harness?: boolean
  /** The containerd generation that first served it (a --containerd-version profile older than that does not). */
  readonly since?: '1.7' | '2.1'
}

/** A descriptor carries its generated definition and handler types (a type only; never set). */
interface Typed<D, H> {
  readonly types?: { definition: D; handlers: H }
}

const service =
  <D, H>() =>
  <const T extends Descriptor>(d: T): T & Typed<D, H> =>
    d

/** In the order the server adds them. */
export const SERVICES = [
  service<RuntimeServiceDefinition, RuntimeServiceHandlers>()({
    group: 'cri',
    key: 'runtime',
    file: 'cri/runtime/v1/api.proto',
    name: 'runtime.v1.RuntimeService',
  }),
  service<ImageServiceDefinition, ImageServiceHandlers>()({
    group: 'cri',
    key: 'image',
    file: 'cri/runtime/v1/api.proto',
    name: 'runtime.v1.ImageService',
  }),
  service<VersionDefinition, VersionHandlers>()({
    group: 'containerd',
    key: 'version',
    file: 'containerd/services/version/v1/version.proto',
    name: 'containerd.services.version.v1.Version',
  }),
  service<IntrospectionDefinition, IntrospectionHandlers>()({
    group: 'containerd',
    key: 'introspection',
    file: 'containerd/services/introspection/v1/introspection.proto',
    name: 'containerd.services.introspection.v1.Introspection',
  }),
  service<HealthDefinition, HealthHandlers>()({
    group: 'containerd',
    key: 'health',
    file: 'grpc/health/v1/health.proto',
    name: 'grpc.health.v1.Health',
  }),
  service<NamespacesDefinition, NamespacesHandlers>()({
    group: 'containerd',
    key: 'namespaces',
    file: 'containerd/services/namespaces/v1/namespace.proto',
    name: 'containerd.services.namespaces.v1.Namespaces',
  }),
  service<ContainersDefinition, ContainersHandlers>()({
    group: 'containerd',
    key: 'containers',
    file: 'containerd/services/containers/v1/containers.proto',
    name: 'containerd.services.containers.v1.Containers',
  }),
  service<ImagesDefinition, ImagesHandlers>()({
    group: 'containerd',
    key: 'images',
    file: 'containerd/services/images/v1/images.proto',
    name: 'containerd.services.images.v1.Images',
  }),
  service<EventsDefinition, EventsHandlers>()({
    group: 'containerd',
    key: 'events',
    file: 'containerd/services/events/v1/events.proto',
    name: 'containerd.services.events.v1.Events',
  }),
  service<TasksDefinition, TasksHandlers>()({
    group: 'containerd',
    key: 'tasks',
    file: 'containerd/services/tasks/v1/tasks.proto',
    name: 'containerd.services.tasks.v1.Tasks',
  }),
  service<ContentDefinition, ContentHandlers>()({
    group: 'containerd',
    key: 'content',
    file: 'containerd/services/content/v1/content.proto',
    name: 'containerd.services.content.v1.Content',
  }),
  service<SnapshotsDefinition, SnapshotsHandlers>()({
    group: 'containerd',
    key: 'snapshots',
    file: 'containerd/services/snapshots/v1/snapshots.proto',
    name: 'containerd.services.snapshots.v1.Snapshots',
  }),
  service<DiffDefinition, DiffHandlers>()({
    group: 'containerd',
    key: 'diff',
    file: 'containerd/services/diff/v1/diff.proto',
    name: 'containerd.services.diff.v1.Diff',
  }),
  service<LeasesDefinition, LeasesHandlers>()({
    group: 'containerd',
    key: 'leases',
    file: 'containerd/services/leases/v1/leases.proto',
    name: 'containerd.services.leases.v1.Leases',
  }),
  service<StreamingDefinition, StreamingHandlers>()({
    group: 'containerd',
    key: 'streaming',
    since: '1.7',
    file: 'containerd/services/streaming/v1/streaming.proto',
    name: 'containerd.services.streaming.v1.Streaming',
  }),
  service<TransferDefinition, TransferHandlers>()({
    group: 'containerd',
    key: 'transfer',
    since: '1.7',
    file: 'containerd/services/transfer/v1/transfer.proto',
    name: 'containerd.services.transfer.v1.Transfer',
  }),
  service<SandboxStoreDefinition, SandboxStoreHandlers>()({
    group: 'containerd',
    key: 'sandboxStore',
    since: '1.7',
    file: 'containerd/services/sandbox/v1/sandbox.proto',
    name: 'containerd.services.sandbox.v1.Store',
  }),
  service<SandboxControllerDefinition, SandboxControllerHandlers>()({
    group: 'containerd',
    key: 'sandboxController',
    since: '1.7',
    file: 'containerd/services/sandbox/v1/sandbox.proto',
    name: 'containerd.services.sandbox.v1.Controller',
  }),
  service<ControlDefinition, ControlHandlers>()({
    group: 'control',
    key: 'control',
    file: 'fakecontainerd/control/v1/control.proto',
    name: 'fakecontainerd.control.v1.Control',
    harness: true,
  }),
] as const

/** The test harness's own service (its calls are neither journaled nor open to faults)? */
export const isHarness = (s: (typeof SERVICES)[number]): boolean => 'harness' in s && s.harness === true

export type ServiceDescriptor = (typeof SERVICES)[number]
export type ServiceKey = ServiceDescriptor['key']
/** The keys of one group's services. */
export type GroupKey<G extends ServiceGroup> = Extract<ServiceDescriptor, { group: G }>['key']
type Types<K extends ServiceKey> = NonNullable<Extract<ServiceDescriptor, { key: K }>['types']>
/** The generated handlers type of a service: what its implementation provides. */
export type HandlersOf<K extends ServiceKey> = Types<K>['handlers']

export interface CallOptions {
  /** Extra request metadata, e.g. { 'containerd-namespace': 'default' }. */
  metadata?: Record<string, string>
  /** Absolute deadline, or milliseconds from now. */
  deadline?: Date | number
}

/** A promise-returning client for a service, derived from its generated definition and handlers. */
export type PromiseClient<D, H> = {
  [K in keyof D as string extends K ? never : K]: D[K] extends MethodDefinition<infer Req, infer _Res, infer _ReqOut, infer ResOut>
    ? K extends keyof H
      ? H[K] extends grpc.handleServerStreamingCall<infer _SReq, infer _SRes>
        ? (request: Req, options?: CallOptions) => grpc.ClientReadableStream<ResOut>
        : H[K] extends grpc.handleBidiStreamingCall<infer _BReq, infer _BRes>
          ? (options?: CallOptions) => grpc.ClientDuplexStream<Req, ResOut>
          : (request: Req, options?: CallOptions) => Promise<ResOut>
      : never
    : never
}

/** The typed client of a service. */
export type ClientOf<K extends ServiceKey> = PromiseClient<Types<K>['definition'], Types<K>['handlers']>

/** One group's clients by key, and close() for all of their channels. */
export type GroupClients<G extends ServiceGroup> = { [K in GroupKey<G> | 'close']: K extends ServiceKey ? ClientOf<K> : () => void }

/** The options the server and every client load protos with (scripts/gen-types.mjs generates with the same). */
function loaderOptions(protoDir: string): protoLoader.Options {
  return { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir] }
}

/** The proto files of one group's services. */
function serviceFiles(group: ServiceGroup): string[] {
  return [...new Set(SERVICES.filter((s) => s.group === group).map((s) => s.file))]
}

const definitions = new Map<string, protoLoader.PackageDefinition>()
const loaded = new Map<string, grpc.GrpcObject>()

/** One group's proto files from protoDir as proto-loader reads them (what reflection describes), once per module instance. */
export function groupDefinition(group: ServiceGroup, protoDir: string): protoLoader.PackageDefinition {
  const key = `${group}\0${protoDir}`
  let definition = definitions.get(key)
  if (!definition) {
    definition = protoLoader.loadSync(serviceFiles(group), loaderOptions(protoDir))
    definitions.set(key, definition)
  }
  return definition
}

/** Loads one group's proto files from protoDir, once per module instance. */
export function loadGroup(group: ServiceGroup, protoDir: string): grpc.GrpcObject {
  const key = `${group}\0${protoDir}`
  let pkg = loaded.get(key)
  if (!pkg) {
    pkg = grpc.loadPackageDefinition(groupDefinition(group, protoDir))
    loaded.set(key, pkg)
  }
  return pkg
}

/** A service's client constructor (with its definition as .service) in a loaded package. */
export function serviceConstructor(pkg: grpc.GrpcObject, name: string): grpc.ServiceClientConstructor {
  let node: unknown = pkg
  for (const part of name.split('.')) node = (node as Record<string, unknown> | undefined)?.[part]
  if (typeof node !== 'function') throw new Error(`fake-containerd: ${name} is not in the loaded protos`)
  return node as grpc.ServiceClientConstructor
}

type RawMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback?: (err: grpc.ServiceError | null, res: unknown) => void,
) => unknown

/** Unary methods return promises; streaming methods return the grpc-js stream (an async iterable). */
function promiseClient<C>(client: grpc.Client, definition: grpc.ServiceDefinition, defaults: Record<string, string> = {}): C {
  const out: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(definition)) {
    const raw = (client as unknown as Record<string, RawMethod>)[name]?.bind(client) as RawMethod
    const prepare = (options: CallOptions | undefined): [grpc.Metadata, grpc.CallOptions] => {
      const metadata = new grpc.Metadata()
      for (const [k, v] of Object.entries({ ...defaults, ...options?.metadata })) metadata.set(k, v)
      const deadline = options?.deadline
      return [metadata, deadline === undefined ? {} : { deadline: typeof deadline === 'number' ? Date.now() + deadline : deadline }]
    }
    out[name] = def.requestStream
      ? (options?: CallOptions) => (raw as unknown as (m: grpc.Metadata, o: grpc.CallOptions) => unknown)(...prepare(options))
      : def.responseStream
        ? (request: unknown, options?: CallOptions) => raw(request, ...prepare(options))
        : (request: unknown, options?: CallOptions) =>
            new Promise((resolve, reject) => raw(request, ...prepare(options), (err, res) => (err ? reject(err) : resolve(res))))
  }
  return out as C
}

/**
 * The message size limits of containerd's server and of the kubelet's CRI client (16 MiB each way:
 * containerd's defaults.DefaultMaxRecvMsgSize/DefaultMaxSendMsgSize), instead of grpc's 4 MiB for
 * what is received: a listing of some 20,000 containers is bigger than that.
 */
export const MESSAGE_LIMITS = {
  'grpc.max_receive_message_length': 16 << 20,
  'grpc.max_send_message_length': 16 << 20,
} as const satisfies grpc.ChannelOptions

/**
 * Connects a client for every service of a group to address (its constructors from pkg, a package
 * loadGroup() gave), each call sending the defaults as metadata; close() closes their channels.
 */
export function groupClients<G extends ServiceGroup>(
  pkg: grpc.GrpcObject,
  group: G,
  address: string,
  defaults: Record<string, string> = {},
  channelOptions: grpc.ChannelOptions = {},
): GroupClients<G> {
  const channels: grpc.Client[] = []
  const out: Record<string, unknown> = {}
  const options = { ...MESSAGE_LIMITS, ...channelOptions }
  for (const s of SERVICES) {
    if (s.group !== group) continue
    const Ctor = serviceConstructor(pkg, s.name)
    const channel = new Ctor(address, grpc.credentials.createInsecure(), options)
    channels.push(channel)
    out[s.key] = promiseClient(channel, Ctor.service, defaults)
  }
  out.close = () => channels.forEach((c) => c.close())
  return out as GroupClients<G>
}

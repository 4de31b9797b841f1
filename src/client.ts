// Typed clients for users' tests. Unary RPCs return promises; server-streaming RPCs return the
// grpc-js stream, which is an async iterable of messages:
//
//   const cri = criClients(fake.address)
//   const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
//   for await (const event of cri.runtime.GetContainerEvents({})) { … }
import * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ImageServiceDefinition, ImageServiceHandlers } from './generated/runtime/v1/ImageService.js'
import type { RuntimeServiceDefinition, RuntimeServiceHandlers } from './generated/runtime/v1/RuntimeService.js'
import { containerdProto, controlProto, criProto } from './proto/load.js'
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
import type { HealthDefinition, HealthHandlers } from './generated/grpc/health/v1/Health.js'

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

export type RuntimeClient = PromiseClient<RuntimeServiceDefinition, RuntimeServiceHandlers>
export type ImageClient = PromiseClient<ImageServiceDefinition, ImageServiceHandlers>

export interface CriClients {
  runtime: RuntimeClient
  image: ImageClient
  close(): void
}

type RawMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback?: (err: grpc.ServiceError | null, res: unknown) => void,
) => unknown

function promiseClient<D, H>(
  client: grpc.Client,
  definition: grpc.ServiceDefinition,
  defaults: Record<string, string> = {},
): PromiseClient<D, H> {
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
  return out as PromiseClient<D, H>
}

/** Connects to a server address such as "unix:///tmp/fake-containerd/containerd.sock". */
export function criClients(address: string): CriClients {
  const { RuntimeService, ImageService } = criProto().runtime.v1
  const runtime = new RuntimeService(address, grpc.credentials.createInsecure())
  const image = new ImageService(address, grpc.credentials.createInsecure())
  return {
    runtime: promiseClient<RuntimeServiceDefinition, RuntimeServiceHandlers>(runtime, RuntimeService.service),
    image: promiseClient<ImageServiceDefinition, ImageServiceHandlers>(image, ImageService.service),
    close: () => {
      runtime.close()
      image.close()
    },
  }
}

/** Reads a finite server stream to its end. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const message of stream) out.push(message)
  return out
}

/** Typed clients for every containerd service, sending `containerd-namespace: <namespace>` on each call. */
export function containerdClients(address: string, namespace = 'default') {
  const p = containerdProto()
  const s = p.containerd.services
  const defaults = { 'containerd-namespace': namespace }
  const clients: grpc.Client[] = []
  const make = <D, H>(
    Ctor: new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client,
    definition: grpc.ServiceDefinition,
  ) => {
    const c = new Ctor(address, grpc.credentials.createInsecure())
    clients.push(c)
    return promiseClient<D, H>(c, definition, defaults)
  }
  return {
    version: make<VersionDefinition, VersionHandlers>(s.version.v1.Version, s.version.v1.Version.service),
    introspection: make<IntrospectionDefinition, IntrospectionHandlers>(
      s.introspection.v1.Introspection,
      s.introspection.v1.Introspection.service,
    ),
    namespaces: make<NamespacesDefinition, NamespacesHandlers>(s.namespaces.v1.Namespaces, s.namespaces.v1.Namespaces.service),
    containers: make<ContainersDefinition, ContainersHandlers>(s.containers.v1.Containers, s.containers.v1.Containers.service),
    images: make<ImagesDefinition, ImagesHandlers>(s.images.v1.Images, s.images.v1.Images.service),
    content: make<ContentDefinition, ContentHandlers>(s.content.v1.Content, s.content.v1.Content.service),
    snapshots: make<SnapshotsDefinition, SnapshotsHandlers>(s.snapshots.v1.Snapshots, s.snapshots.v1.Snapshots.service),
    diff: make<DiffDefinition, DiffHandlers>(s.diff.v1.Diff, s.diff.v1.Diff.service),
    leases: make<LeasesDefinition, LeasesHandlers>(s.leases.v1.Leases, s.leases.v1.Leases.service),
    events: make<EventsDefinition, EventsHandlers>(s.events.v1.Events, s.events.v1.Events.service),
    tasks: make<TasksDefinition, TasksHandlers>(s.tasks.v1.Tasks, s.tasks.v1.Tasks.service),
    health: make<HealthDefinition, HealthHandlers>(p.grpc.health.v1.Health, p.grpc.health.v1.Health.service),
    close: () => clients.forEach((c) => c.close()),
  }
}

export type ContainerdClients = ReturnType<typeof containerdClients>

/** A typed client for fake-containerd's own control service (faults, journal, state, clock). */
export function controlClient(address: string) {
  const { Control } = controlProto().fakecontainerd.control.v1
  const c = new Control(address, grpc.credentials.createInsecure())
  return Object.assign(promiseClient<ControlDefinition, ControlHandlers>(c, Control.service), { close: () => c.close() })
}

export type ControlClient = ReturnType<typeof controlClient>

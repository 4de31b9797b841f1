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
import { criProto } from './proto/load.js'

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

function promiseClient<D, H>(client: grpc.Client, definition: grpc.ServiceDefinition): PromiseClient<D, H> {
  const out: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(definition)) {
    const raw = (client as unknown as Record<string, RawMethod>)[name]?.bind(client) as RawMethod
    const prepare = (options: CallOptions | undefined): [grpc.Metadata, grpc.CallOptions] => {
      const metadata = new grpc.Metadata()
      for (const [k, v] of Object.entries(options?.metadata ?? {})) metadata.set(k, v)
      const deadline = options?.deadline
      return [metadata, deadline === undefined ? {} : { deadline: typeof deadline === 'number' ? Date.now() + deadline : deadline }]
    }
    out[name] = def.responseStream
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

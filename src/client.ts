// Typed clients for users' tests. Unary RPCs return promises; server-streaming RPCs return the
// grpc-js stream, which is an async iterable of messages:
//
//   const cri = criClients(fake.address)
//   const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
//   for await (const event of cri.runtime.GetContainerEvents({})) { … }
//
// Each group's clients, one per service by its key, come from src/service-descriptors.cts, which
// the jest helper builds its clients from too.
import { groupClients, type ClientOf, type GroupClients } from './service-descriptors.cjs'
import { servicePackage } from './proto/load.js'

export type { CallOptions, PromiseClient } from './service-descriptors.cjs'

export type RuntimeClient = ClientOf<'runtime'>
export type ImageClient = ClientOf<'image'>

export interface CriClients {
  runtime: RuntimeClient
  image: ImageClient
  close(): void
}

/** Connects to a server address such as "unix:///tmp/fake-containerd/containerd.sock". */
export function criClients(address: string): CriClients {
  return groupClients(servicePackage('cri'), 'cri', address)
}

/** Reads a finite server stream to its end. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const message of stream) out.push(message)
  return out
}

/** Typed clients for every containerd service, sending `containerd-namespace: <namespace>` on each call. */
export function containerdClients(address: string, namespace = 'default'): ContainerdClients {
  return groupClients(servicePackage('containerd'), 'containerd', address, { 'containerd-namespace': namespace })
}

export type ContainerdClients = GroupClients<'containerd'>

/** A typed client for fake-containerd's own control service (faults, journal, state, clock). */
export function controlClient(address: string): ControlClient {
  const { control, close } = groupClients(servicePackage('control'), 'control', address)
  return Object.assign(control, { close })
}

export type ControlClient = ClientOf<'control'> & { close: () => void }

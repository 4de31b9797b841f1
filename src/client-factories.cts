// The typed client factories, once, for both module systems: client.ts (ESM) makes them from the
// proto loader's cached packages, index.cts (CommonJS) from the package's proto/ directory.
// CommonJS so that the CommonJS entry can require() it; it needs only grpc-js and proto-loader.
import type * as grpc from '@grpc/grpc-js'
import { groupClients, type ClientOf, type GroupClients, type ServiceGroup } from './service-descriptors.cjs'

export type RuntimeClient = ClientOf<'runtime'>
export type ImageClient = ClientOf<'image'>

export interface CriClients {
  runtime: RuntimeClient
  image: ImageClient
  close(): void
}

export type ContainerdClients = GroupClients<'containerd'>
export type ControlClient = ClientOf<'control'> & { close: () => void }

export interface ClientFactories {
  /** Connects to a server address such as "unix:///tmp/fake-containerd/containerd.sock". */
  criClients(address: string): CriClients
  /** Typed clients for every containerd service, sending `containerd-namespace: <namespace>` on each call. */
  containerdClients(address: string, namespace?: string): ContainerdClients
  /** A typed client for fake-containerd's own control service (faults, journal, state, clock). */
  controlClient(address: string): ControlClient
}

/** The factories, each group's services loaded by `load`. */
export function clientFactories(load: (group: ServiceGroup) => grpc.GrpcObject): ClientFactories {
  return {
    criClients: (address) => groupClients(load('cri'), 'cri', address),
    containerdClients: (address, namespace = 'default') =>
      groupClients(load('containerd'), 'containerd', address, { 'containerd-namespace': namespace }),
    controlClient: (address) => {
      const { control, close } = groupClients(load('control'), 'control', address)
      return Object.assign(control, { close })
    },
  }
}

/** Reads a finite server stream to its end. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const message of stream) out.push(message)
  return out
}

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

/**
 * grpc-js channel options for the clients' channels, over the defaults: 16 MiB messages each way,
 * as the kubelet's and containerd's clients have (MESSAGE_LIMITS).
 */
export type ChannelOptions = grpc.ChannelOptions

export interface ClientFactories {
  /** Connects to a server address such as "unix:///tmp/fake-containerd/containerd.sock". */
  criClients(address: string, options?: ChannelOptions): CriClients
  /** Typed clients for every containerd service, sending `containerd-namespace: <namespace>` on each call. */
  containerdClients(address: string, namespace?: string, options?: ChannelOptions): ContainerdClients
  /** A typed client for fake-containerd's own control service (faults, journal, state, clock). */
  controlClient(address: string, options?: ChannelOptions): ControlClient
}

/** The factories, each group's services loaded by `load`. */
export function clientFactories(load: (group: ServiceGroup) => grpc.GrpcObject): ClientFactories {
  return {
    criClients: (address, options) => groupClients(load('cri'), 'cri', address, {}, options),
    containerdClients: (address, namespace = 'default', options) =>
      groupClients(load('containerd'), 'containerd', address, { 'containerd-namespace': namespace }, options),
    controlClient: (address, options) => {
      const { control, close } = groupClients(load('control'), 'control', address, {}, options)
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

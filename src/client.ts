// Typed clients for users' tests. Unary RPCs return promises; server-streaming RPCs return the
// grpc-js stream, which is an async iterable of messages:
//
//   const cri = criClients(fake.address)
//   const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
//   for await (const event of cri.runtime.GetContainerEvents({})) { … }
//
// Each group's clients, one per service by its key, come from src/service-descriptors.cts, which
// the jest helper and the CommonJS entry build their clients from too (src/client-factories.cts).
import { clientFactories } from './client-factories.cjs'
import { servicePackage } from './proto/load.js'

export type { CallOptions, PromiseClient } from './service-descriptors.cjs'
export type { ChannelOptions, ContainerdClients, ControlClient, CriClients, ImageClient, RuntimeClient } from './client-factories.cjs'
export { collect } from './client-factories.cjs'

export const { criClients, containerdClients, controlClient } = clientFactories(servicePackage)

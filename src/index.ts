// The public API of the fake-containerd package.
export { startFakeContainerd, type FakeContainerd } from './server.js'
export type { FakeContainerdOptions, LogLevel } from './config.js'
export { DEFAULTS, PACKAGE_VERSION } from './config.js'
export {
  criClients,
  containerdClients,
  collect,
  type CriClients,
  type ContainerdClients,
  type RuntimeClient,
  type ImageClient,
  type CallOptions,
} from './client.js'
export { ANNOTATION as SCRIPT_ANNOTATIONS } from './sim/program.js'
export type { ProtoGrpcType as CriProtoGrpcType } from './generated/api.js'

// The public API of the fake-containerd package.
export { startFakeContainerd, type FakeContainerd } from './server.js'
export type { FakeContainerdOptions, LogLevel } from './config.js'
export { DEFAULTS, PACKAGE_VERSION } from './config.js'
export { criClients, type CriClients } from './client.js'
export { ANNOTATION as SCRIPT_ANNOTATIONS } from './sim/program.js'
export type { ProtoGrpcType as CriProtoGrpcType } from './generated/api.js'
export type { RuntimeServiceClient } from './generated/runtime/v1/RuntimeService.js'
export type { ImageServiceClient } from './generated/runtime/v1/ImageService.js'

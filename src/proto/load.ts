// Loads the wire definitions in proto/ once per process (every server in a test run shares them).
// Keep the options equal to those in scripts/gen-types.mjs, which generates src/generated/.
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { packagePath } from '../paths.js'
import type { ProtoGrpcType as CriProto } from '../generated/api.js'

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [packagePath('proto')],
}

let cri: CriProto | undefined

export function criProto(): CriProto {
  cri ??= grpc.loadPackageDefinition(protoLoader.loadSync('cri/runtime/v1/api.proto', LOADER_OPTIONS)) as unknown as CriProto
  return cri
}

// Typed CRI clients for users' tests: `const { runtime, image } = criClients(fake.address)`.
import * as grpc from '@grpc/grpc-js'
import type { ImageServiceClient } from './generated/runtime/v1/ImageService.js'
import type { RuntimeServiceClient } from './generated/runtime/v1/RuntimeService.js'
import { criProto } from './proto/load.js'

export interface CriClients {
  runtime: RuntimeServiceClient
  image: ImageServiceClient
  close(): void
}

/** Connects to a server address such as "unix:///tmp/fake-containerd/containerd.sock". */
export function criClients(address: string): CriClients {
  const { RuntimeService, ImageService } = criProto().runtime.v1
  const runtime = new RuntimeService(address, grpc.credentials.createInsecure())
  const image = new ImageService(address, grpc.credentials.createInsecure())
  return {
    runtime,
    image,
    close: () => {
      runtime.close()
      image.close()
    },
  }
}

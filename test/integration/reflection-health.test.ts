// What generic gRPC tools see: server reflection (grpcurl, evans, Postman list and describe the
// services with it) and health per service, which follows a runtime-not-ready fault.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import descriptor from 'protobufjs/ext/descriptor/index.js'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import { presets } from '../../src/faults/presets.js'
import { SERVICES } from '../../src/service-descriptors.cjs'
import { eventually, grpcError, harness, type Harness } from '../helpers.js'

let h: Harness
let ctr: ContainerdClients
beforeEach(async () => {
  h = await harness()
  ctr = containerdClients(h.fake.address)
})
afterEach(async () => {
  ctr.close()
  await h.close()
})

// The reflection protocol as a client loads it: the proto files @grpc/reflection ships.
const reflectionProtos = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto')

interface ReflectionAnswer {
  list_services_response?: { service: { name: string }[] }
  file_descriptor_response?: { file_descriptor_proto: Buffer[] }
  error_response?: { error_code: number; error_message: string }
}

/** One request on a reflection stream of `version` (v1 or v1alpha), and its answer. */
async function reflect(version: 'v1' | 'v1alpha', request: Record<string, string>): Promise<ReflectionAnswer> {
  const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
    keepCase: true,
    includeDirs: [reflectionProtos],
  })
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> }
  }
  const Client = pkg.grpc.reflection[version]!.ServerReflection
  const client = new Client(h.fake.address, grpc.credentials.createInsecure())
  try {
    const call = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionAnswer> }).ServerReflectionInfo()
    const answer = new Promise<ReflectionAnswer>((resolve, reject) => {
      call.once('data', resolve)
      call.once('error', reject)
    })
    call.write(request)
    const result = await answer
    call.end()
    return result
  } finally {
    client.close()
  }
}

describe('server reflection', () => {
  test('lists every service the server speaks, in v1 and v1alpha', async () => {
    for (const version of ['v1', 'v1alpha'] as const) {
      const listed = (await reflect(version, { list_services: '*' })).list_services_response!.service.map((s) => s.name)
      expect(listed).toEqual(expect.arrayContaining(SERVICES.map((s) => s.name)))
    }
  })

  test('describes a service: its file, with the methods a client can call', async () => {
    const answer = await reflect('v1', { file_containing_symbol: 'runtime.v1.RuntimeService' })
    const files = answer.file_descriptor_response!.file_descriptor_proto.map((bytes) =>
      descriptor.FileDescriptorProto.decode(bytes),
    ) as unknown as { name: string; service: { name: string; method: { name: string }[] }[] }[]
    const api = files.find((f) => f.service.some((s) => s.name === 'RuntimeService'))!
    expect(api.service.find((s) => s.name === 'RuntimeService')!.method.map((m) => m.name)).toEqual(
      expect.arrayContaining(['Version', 'RunPodSandbox', 'ExecSync']),
    )
    // A symbol the server does not have is an error answer on the stream, as grpc-go gives it.
    const missing = await reflect('v1', { file_containing_symbol: 'no.such.Service' })
    expect(missing.error_response?.error_code).toBe(grpc.status.NOT_FOUND)
  })
})

describe('health', () => {
  test('every service the server speaks is SERVING by name; an unknown name is NotFound', async () => {
    for (const name of ['', ...SERVICES.map((s) => s.name)]) {
      expect([name, (await ctr.health.Check({ service: name })).status]).toEqual([name, 'SERVING'])
    }
    const unknown = await grpcError(ctr.health.Check({ service: 'no.such.Service' }))
    expect([unknown.code, unknown.details]).toEqual([grpc.status.NOT_FOUND, 'unknown service'])
  })

  test('a runtime-not-ready fault turns the runtime NOT_SERVING (the harness’s service stays up); Watch follows it', async () => {
    const watched: string[] = []
    const watch = ctr.health.Watch({ service: 'runtime.v1.RuntimeService' })
    watch.on('data', (m: { status: string }) => watched.push(m.status))
    watch.on('error', () => {})
    await eventually(() => (watched.length === 1 ? true : undefined), 'the first status')

    h.fake.faults.use(presets.runtimeNotReady('containerd is restarting'))
    expect((await ctr.health.Check({ service: 'runtime.v1.RuntimeService' })).status).toBe('NOT_SERVING')
    expect((await ctr.health.Check({ service: '' })).status).toBe('NOT_SERVING')
    expect((await ctr.health.Check({ service: 'containerd.services.tasks.v1.Tasks' })).status).toBe('NOT_SERVING')
    expect((await ctr.health.Check({ service: 'fakecontainerd.control.v1.Control' })).status).toBe('SERVING')
    await eventually(() => (watched.length === 2 ? true : undefined), 'the change to NOT_SERVING')

    h.fake.faults.reset()
    await eventually(() => (watched.length === 3 ? true : undefined), 'the change back')
    expect(watched).toEqual(['SERVING', 'NOT_SERVING', 'SERVING'])
    watch.cancel()

    const unknown: string[] = []
    const other = ctr.health.Watch({ service: 'no.such.Service' })
    other.on('data', (m: { status: string }) => unknown.push(m.status))
    other.on('error', () => {})
    await eventually(() => (unknown.length === 1 ? true : undefined), 'an unknown service’s status')
    expect(unknown).toEqual(['SERVICE_UNKNOWN'])
    other.cancel()
  })
})

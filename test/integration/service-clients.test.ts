// Every service the server answers on its socket has a client, in the ESM library (criClients,
// containerdClients, controlClient) and in the jest helper (dist/testing/jest.cjs, connect()), and
// no client is left over for a service it does not answer. Found from the outside: each service of
// every proto file in proto/ is called over the socket, and those that grpc-js does not answer with
// "does not implement" are the served ones.
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { containerdClients, controlClient, criClients } from '../../src/client.js'
import { startFakeContainerd, type FakeContainerd } from '../../src/server.js'
import type * as JestModule from '../../src/testing/jest.cjs'

const ROOT = join(import.meta.dirname, '..', '..')
const PROTO = join(ROOT, 'proto')
const JEST_CJS = join(ROOT, 'dist', 'testing', 'jest.cjs')
const require = createRequire(import.meta.url)
// Long enough that a loaded machine's slow first answers are not taken for streams left open: an
// unserved method's UNIMPLEMENTED comes from grpc-js at once, but after the deadline it reads as served.
const DEADLINE_MS = 3_000

interface Service {
  name: string
  methods: Record<string, grpc.MethodDefinition<unknown, unknown>>
}

/** Every service in every proto file under proto/. */
function protoServices(): Service[] {
  const files = readdirSync(PROTO, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.proto'))
  const defs = protoLoader.loadSync(files, { keepCase: true, includeDirs: [PROTO] })
  return Object.entries(defs)
    .filter(([, d]) => !('format' in d))
    .map(([name, d]) => ({ name, methods: d as Service['methods'] }))
}

/** How a call ended: its status, or 'open' for a stream still open at the deadline. */
function ended(call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>): Promise<grpc.StatusObject> {
  return new Promise((resolve) => {
    call.on('data', () => {})
    call.on('error', () => {})
    call.on('status', resolve)
  })
}

const NOT_SERVED = /does not implement the method/

let fake: FakeContainerd
let served: Service[]
let unserved: string[]

beforeAll(async () => {
  fake = await startFakeContainerd({ runtimeName: 'service-clients' })
  const raw = new grpc.Client(fake.address, grpc.credentials.createInsecure())
  try {
    // One call to each service's first method, with an empty message: a served service answers it
    // (an error of its own, a response, or a stream left open); an unserved one is "UNIMPLEMENTED:
    // The server does not implement the method" from grpc-js itself.
    const probes = [...protoServices(), { name: 'fakecontainerd.nosuch.v1.NoSuch', methods: { Nothing: { path: '/x' } } }].map(
      async (s) => {
        const [method] = Object.keys(s.methods)
        const call = raw.makeServerStreamRequest(
          `/${s.name}/${method}`,
          () => Buffer.alloc(0),
          (b: Buffer) => b,
          {},
          new grpc.Metadata(),
          { deadline: Date.now() + DEADLINE_MS },
        )
        const status = await ended(call)
        return { service: s as Service, answered: !(status.code === grpc.status.UNIMPLEMENTED && NOT_SERVED.test(status.details)) }
      },
    )
    const answers = await Promise.all(probes)
    served = answers.filter((a) => a.answered).map((a) => a.service)
    unserved = answers.filter((a) => !a.answered).map((a) => a.service.name)
  } finally {
    raw.close()
  }
})

afterAll(async () => {
  await fake?.close()
})

/** The user's clients, by where they are reached (e.g. containerd.tasks), and a close() for all. */
type Clients = { clients: Record<string, Record<string, (...args: unknown[]) => unknown>>; close(): void }

function esmClients(address: string): Clients {
  const cri = criClients(address)
  const ctrd = containerdClients(address)
  const control = controlClient(address)
  const { close: _c, ...criByKey } = cri
  const { close: _d, ...ctrdByKey } = ctrd
  const { close: _e, ...controlMethods } = control
  const clients: Clients['clients'] = { control: controlMethods as never }
  for (const [k, v] of Object.entries(criByKey)) clients[`cri.${k}`] = v as never
  for (const [k, v] of Object.entries(ctrdByKey)) clients[`containerd.${k}`] = v as never
  return {
    clients,
    close: () => {
      cri.close()
      ctrd.close()
      control.close()
    },
  }
}

function jestClients(address: string): Clients {
  const jest = require(JEST_CJS) as typeof JestModule
  const c = jest.connect(address)
  const { close: _e, ...controlMethods } = c.control
  const { close: _d, ...ctrdByKey } = c.containerd()
  const clients: Clients['clients'] = { 'cri.runtime': c.runtime as never, 'cri.image': c.image as never, control: controlMethods as never }
  for (const [k, v] of Object.entries(ctrdByKey)) clients[`containerd.${k}`] = v as never
  return { clients, close: () => c.close() }
}

const methodsOf = (o: object) => Object.keys(o).sort()

/**
 * Calls a client's first method with an empty request and a deadline, whatever its kind: unary and
 * server-streaming methods take (request, options), bidi ones (options); the one object is both.
 */
async function call(client: Record<string, (...args: unknown[]) => unknown>): Promise<grpc.StatusObject | grpc.ServiceError> {
  const [method] = Object.keys(client)
  const o = { deadline: DEADLINE_MS }
  const result = client[method!]!(o, o)
  if (result instanceof Promise)
    return result.then(
      () => ({ code: grpc.status.OK, details: '', metadata: new grpc.Metadata() }),
      (e: grpc.ServiceError) => e,
    )
  const stream = result as grpc.ClientDuplexStream<unknown, unknown>
  const done = ended(stream)
  if (typeof stream.end === 'function') stream.end()
  return done
}

describe.each([
  ['the ESM clients', esmClients],
  ['the jest helper', jestClients],
])('%s', (_label, open) => {
  test('have one client per service the server answers, and none for another, each reaching its service', async () => {
    if (open === jestClients && !existsSync(JEST_CJS)) throw new Error(`${JEST_CJS} is missing: run "npm run build" before these tests`)
    expect(served.map((s) => s.name)).toEqual(expect.arrayContaining(['runtime.v1.RuntimeService', 'containerd.services.tasks.v1.Tasks']))
    expect(unserved).toContain('fakecontainerd.nosuch.v1.NoSuch')

    const { clients, close } = open(fake.address)
    try {
      // Each client's first method, called over the socket, is answered (not "does not implement"),
      // and the journal names the service that answered it. The harness's own service is not
      // journaled: its client is the one whose methods are exactly a served service's.
      const byService = new Map<string, string[]>()
      for (const [where, client] of Object.entries(clients)) {
        fake.journal.clear()
        const status = await call(client)
        expect(status.code === grpc.status.UNIMPLEMENTED && NOT_SERVED.test(status.details), `${where}: ${status.details}`).toBe(false)
        // A stream's entry is written when the server has ended it too.
        await vi.waitFor(() => expect(fake.calls()).not.toHaveLength(0), { timeout: 500 }).catch(() => {})
        const journaled = [...new Set(fake.calls().map((e) => e.service))]
        const names = journaled.length
          ? journaled
          : served.filter((s) => JSON.stringify(methodsOf(s.methods)) === JSON.stringify(methodsOf(client))).map((s) => s.name)
        expect(names, `the service ${where} reaches`).toHaveLength(1)
        byService.set(names[0]!, [...(byService.get(names[0]!) ?? []), where])
      }
      // One client per served service, and none for anything else.
      expect([...byService.keys()].sort()).toEqual(served.map((s) => s.name).sort())
      for (const [name, where] of byService) expect(where, `the clients of ${name}`).toHaveLength(1)
    } finally {
      close()
    }
  })
})

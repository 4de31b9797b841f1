// Errors that fit: a client string of 1 MB in any string field of any RPC gets its status (an error
// that echoes it is cut, with a marker), and the connection it came on keeps serving. A status too
// big for the client's header limit would never arrive and would wedge the connection.
import * as grpc from '@grpc/grpc-js'
import type { PackageDefinition } from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { packagePath } from '../../src/paths.js'
import { MAX_DETAILS } from '../../src/rpc/status.js'
import { startFakeContainerd, type FakeContainerd } from '../../src/server.js'
import { loadGroup, serviceConstructor } from '../../src/service-descriptors.cjs'
import { messageType, servedServices } from '../proto-walk.js'

const BIG = 'x'.repeat(1024 * 1024)
/** Deadline for each call: a call that does not answer fails the test instead of hanging it. */
const DEADLINE_MS = 20_000

let fake: FakeContainerd
let channel: grpc.Channel
beforeAll(async () => {
  fake = await startFakeContainerd()
  channel = new grpc.Channel(fake.address, grpc.credentials.createInsecure(), {})
})
afterAll(async () => {
  channel.close()
  await fake.close()
})

/** One request per string field (down to messages two levels in): that field 1 MB long, the rest empty. */
function requests(definition: PackageDefinition, typeName: string, depth = 0): Record<string, unknown>[] {
  const message = messageType(definition, typeName)
  if (!message) return []
  const out: Record<string, unknown>[] = []
  for (const f of message.field) {
    const repeated = f.label === 'LABEL_REPEATED'
    if (f.type === 'TYPE_STRING') out.push({ [f.name]: repeated ? [BIG] : BIG })
    if (f.type !== 'TYPE_MESSAGE' || depth >= 2) continue
    const entry = messageType(definition, f.typeName)
    if (entry?.options?.mapEntry) {
      // A map: a 1 MB key (and a 1 MB value when the values are strings).
      const value = entry.field[1]!
      out.push({ [f.name]: { [BIG]: value.type === 'TYPE_STRING' ? BIG : {} } })
      continue
    }
    for (const inner of requests(definition, f.typeName, depth + 1)) out.push({ [f.name]: repeated ? [inner] : inner })
  }
  return out
}

interface Outcome {
  code: grpc.status
  details: string
}

type AnyCall = grpc.ClientUnaryCall | grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>

/** Calls one method and waits for its status (a stream is cancelled once it sent a message or a second passed). */
function call(client: grpc.Client, method: string, def: grpc.MethodDefinition<unknown, unknown>, request: unknown, md: grpc.Metadata) {
  return new Promise<Outcome>((resolve) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => AnyCall>)[method]!.bind(client)
    const options = { deadline: Date.now() + DEADLINE_MS }
    if (!def.requestStream && !def.responseStream) {
      fn(request, md, options, (err: grpc.ServiceError | null) =>
        resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' }),
      )
      return
    }
    const stream = (def.requestStream ? fn(md, options) : fn(request, md, options)) as grpc.ClientReadableStream<unknown>
    let settled = false
    const done = (o: Outcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      stream.cancel()
      resolve(o)
    }
    // A live subscription answers nothing until something happens: a second of silence is its answer.
    const timer = setTimeout(() => done({ code: 0, details: 'open stream' }), 1000)
    stream.on('data', () => done({ code: 0, details: 'a message' }))
    stream.on('error', (err: grpc.ServiceError) => done({ code: err.code, details: err.details }))
    stream.on('status', (s: grpc.StatusObject) => done({ code: s.code, details: s.details }))
    if (def.requestStream) {
      const duplex = stream as unknown as grpc.ClientDuplexStream<unknown, unknown>
      duplex.write(request)
      duplex.end()
    }
  })
}

describe('1 MB strings in every string field of every RPC', () => {
  test(
    'each call gets its status, no error text is longer than the cap, and the connection keeps serving',
    { timeout: 120_000 },
    async () => {
      const md = new grpc.Metadata()
      md.set('containerd-namespace', 'default')
      const version = new (serviceConstructor(loadGroup('cri', packagePath('proto')), 'runtime.v1.RuntimeService'))(
        fake.address,
        grpc.credentials.createInsecure(),
        { channelOverride: channel },
      )
      const alive = () =>
        new Promise<string>((resolve) =>
          (
            version as unknown as { Version: (r: unknown, o: unknown, cb: (e: Error | null, r: { runtime_name: string }) => void) => void }
          ).Version({}, { deadline: Date.now() + DEADLINE_MS }, (err, res) => resolve(err ? err.message : res.runtime_name)),
        )
      const problems: string[] = []
      let calls = 0
      for (const { service: s, definition, Client, methods } of servedServices()) {
        const client = new Client(fake.address, grpc.credentials.createInsecure(), { channelOverride: channel })
        for (const { name: method, def, requestType } of methods) {
          for (const request of requests(definition, requestType)) {
            calls++
            const field = JSON.stringify(request, (_k, v: unknown) => (v === BIG ? '<1 MB>' : v)).replaceAll(BIG, '<1 MB>')
            const outcome = await call(client, method, def, request, md)
            if (outcome.code === grpc.status.DEADLINE_EXCEEDED) problems.push(`${s.name}/${method} ${field}: no answer`)
            if (outcome.code === grpc.status.INTERNAL)
              problems.push(`${s.name}/${method} ${field}: INTERNAL ${outcome.details.slice(0, 200)}`)
            if (outcome.details.length > MAX_DETAILS + 100)
              problems.push(`${s.name}/${method} ${field}: ${outcome.details.length} characters of error text`)
            if ((await alive()) !== 'containerd') problems.push(`${s.name}/${method} ${field}: the connection stopped serving`)
          }
        }
      }
      expect(problems).toEqual([])
      expect(calls).toBeGreaterThan(100)
    },
  )

  test("the issue's cases: the echoed client string is cut with a marker; containerd's text around it stays", async () => {
    const { criClients, containerdClients } = await import('../../src/client.js')
    const cri = criClients(fake.address)
    const ctr = containerdClients(fake.address, 'default')
    try {
      const handler = 'h'.repeat(200_000)
      const err = await cri.runtime
        .RunPodSandbox({ config: { metadata: { name: 'p', namespace: 'n', uid: 'u', attempt: 0 } }, runtime_handler: handler })
        .then(
          () => undefined,
          (e: grpc.ServiceError) => e,
        )
      expect(err?.details).toMatch(/^.{1,2048}…\[\d+ characters cut\]…h+.*$/s)
      expect(err!.details.length).toBeLessThan(MAX_DETAILS)
      const usage = await ctr.snapshots.Usage({ snapshotter: 's'.repeat(200_000), key: 'k' }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      )
      expect(usage?.details).toContain('characters cut]')
      // A short one is containerd's text, whole.
      const short = await ctr.snapshots.Usage({ snapshotter: 'nope', key: 'k' }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      )
      expect(short?.details).not.toContain('characters cut')
      expect(short?.details).toContain('nope')
    } finally {
      cri.close()
      ctr.close()
    }
  })
})

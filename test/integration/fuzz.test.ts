// A fuzz test over every RPC the server serves (issue #17): for each method, an empty message,
// messages with random values of the right types, and encoded messages with random bytes changed,
// cut short or followed by garbage, sent as raw bytes so that malformed protobuf reaches the server.
// Every call must answer before its deadline, and never with INTERNAL unless its bytes are not
// protobuf at all; afterwards the server still answers and nothing was thrown that nobody caught.
//
// Reproducible: the cases come from a seeded PRNG; the seed is printed, and FUZZ_SEED=<n> replays it.
//
// INTERNAL for bytes that do not decode is right: grpc-js answers INTERNAL "Error deserializing
// request" before any handler runs, as grpc-go (containerd's server) answers INTERNAL "grpc: error
// unmarshalling request". A message that decodes must get a client error (InvalidArgument,
// NotFound, …) or OK, as containerd would.
import * as grpc from '@grpc/grpc-js'
import type { PackageDefinition } from '@grpc/proto-loader'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { criClients } from '../../src/client.js'
import { startFakeContainerd, type FakeContainerd } from '../../src/server.js'
import { containerConfig, eventually, podConfig, runContainer, runPod } from '../helpers.js'
import { enumValues, messageType, servedServices, type FieldProto, type ServedMethod } from '../proto-walk.js'
import { seededRandom } from '../../src/seeded-random.js'

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 17_2026
/** Deadline of each call: an answer must come before it. */
const DEADLINE_MS = 5000
/** Methods that answer nothing until something happens: a short deadline, and its expiry is their answer. */
const WAITS: Record<string, string> = {
  '/containerd.services.events.v1.Events/Subscribe': 'a subscription stays open until the client leaves',
  '/runtime.v1.RuntimeService/GetContainerEvents': 'a subscription stays open until the client leaves',
  '/grpc.health.v1.Health/Watch': 'a health watch stays open, sending each change',
  '/containerd.services.tasks.v1.Tasks/Wait': 'waits for a running task to exit',
}
const WAIT_DEADLINE_MS = 300
/**
 * UNKNOWN is containerd's answer where it returns a plain Go error (errgrpc maps what it does not
 * know to Unknown); the fake answers the same texts. Any other UNKNOWN is a finding.
 */
const CONTAINERD_UNKNOWN: [RegExp, string][] = [
  [/^bucket name required$/, "a snapshot key or name of '': bbolt's error from containerd's metadata store"],
  [/^failed to set starting state for container /, 'StartContainer on a container that is not CREATED'],
  [/is in CONTAINER_\w+ state|is not running|no running task found/, 'exec, attach, update or reopen on a container that is not running'],
  [/^failed to reserve (sandbox|container) name /, "CRI's name registrar: a name already taken"],
  [/^unable to get OCI runtime for sandbox /, 'RunPodSandbox with a runtime handler that is not configured'],
  [/^EOF$/, 'Content.Write whose request stream ends before its first message (Go: io.EOF)'],
  [/^invalid port /, 'PortForward to a port out of range'],
  [/^unable to parse stdout uri|^unknown STDIO scheme /, "Tasks.Create with stdio that is not a path or URI containerd's shim reads"],
  [
    /^failed to get container spec opts|^failed to create containerd container: decoding seccomp profile/,
    'a seccomp profile containerd cannot use',
  ],
  [/: unknown$/, "the shim's errors (e.g. Tasks.Start on a running process), which reach the client as Unknown"],
  [/^ambiguous digest string: /, 'an image id prefix that matches more than one image'],
  [/^can't unmarshal type ".*" to output "/, "Streaming.Stream whose first message is not a StreamInit (typeurl.UnmarshalTo's error)"],
]

class Cases {
  readonly rng: () => number
  constructor(
    seed: number,
    readonly definition: PackageDefinition,
    readonly strings: string[],
  ) {
    this.rng = seededRandom(seed)
  }
  int(n: number): number {
    return Math.floor(this.rng() * n)
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)))
  }

  /** A message of type typeName with random values of the right types in some of its fields. */
  message(typeName: string, depth = 0): Record<string, unknown> {
    const type = messageType(this.definition, typeName)
    if (!type) return {}
    const out: Record<string, unknown> = {}
    const oneofs = new Set<number>()
    for (const f of type.field) {
      if (this.rng() < 0.35) continue
      if (f.oneofIndex !== undefined) {
        if (oneofs.has(f.oneofIndex)) continue
        oneofs.add(f.oneofIndex)
      }
      const entry = f.type === 'TYPE_MESSAGE' ? messageType(this.definition, f.typeName) : undefined
      if (entry?.options?.mapEntry) {
        const map: Record<string, unknown> = {}
        for (let i = this.int(3); i > 0; i--) map[String(this.value(entry.field[0]!, depth))] = this.value(entry.field[1]!, depth)
        out[f.name] = map
      } else if (f.label === 'LABEL_REPEATED') out[f.name] = Array.from({ length: this.int(3) }, () => this.value(f, depth))
      else out[f.name] = this.value(f, depth)
    }
    return out
  }

  value(f: FieldProto, depth: number): unknown {
    switch (f.type) {
      case 'TYPE_STRING':
        return this.pick(this.strings)
      case 'TYPE_BYTES':
        return this.pick([
          () => Buffer.alloc(0),
          () => this.bytes(this.int(40)),
          () => Buffer.from('{"ociVersion":"1.1.0","process":{"args":["sh"]}}'),
          () => Buffer.from('{'),
        ])()
      case 'TYPE_BOOL':
        return this.rng() < 0.5
      case 'TYPE_INT32':
      case 'TYPE_SINT32':
      case 'TYPE_SFIXED32':
        return this.pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), this.int(100_000)])
      case 'TYPE_UINT32':
      case 'TYPE_FIXED32':
        return this.pick([0, 1, 2 ** 32 - 1, this.int(100_000)])
      case 'TYPE_INT64':
      case 'TYPE_SINT64':
      case 'TYPE_SFIXED64':
        return this.pick(['0', '1', '-1', '9223372036854775807', '-9223372036854775808', String(this.int(1e9))])
      case 'TYPE_UINT64':
      case 'TYPE_FIXED64':
        return this.pick(['0', '1', '18446744073709551615', String(this.int(1e9))])
      case 'TYPE_DOUBLE':
      case 'TYPE_FLOAT':
        return this.pick([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e308])
      case 'TYPE_ENUM': {
        const names = enumValues(this.definition, f.typeName)
        return names.length ? this.pick(names) : 0
      }
      case 'TYPE_MESSAGE':
        return depth < 3 ? this.message(f.typeName, depth + 1) : {}
      default:
        return undefined
    }
  }

  /** The six cases of a method: empty, two random messages, and three byte-level breakages of an encoded one. */
  forMethod(m: ServedMethod): { kind: string; bytes: Buffer }[] {
    const encode = (o: unknown) => m.def.requestSerialize(o)
    const valid = () => encode(this.message(m.requestType))
    const base = valid()
    const broken = Buffer.from(base.length ? base : this.bytes(8))
    const mutated = Buffer.from(broken)
    for (let i = 1 + this.int(4); i > 0; i--) mutated[this.int(mutated.length)] = this.int(256)
    return [
      { kind: 'empty', bytes: Buffer.alloc(0) },
      { kind: 'random', bytes: base },
      { kind: 'random', bytes: valid() },
      { kind: 'mutated', bytes: mutated },
      { kind: 'truncated', bytes: broken.subarray(0, this.int(broken.length)) },
      { kind: 'garbage', bytes: Buffer.concat([broken, this.bytes(1 + this.int(16))]) },
    ]
  }
}

interface Outcome {
  code: grpc.status | 'no status'
  details: string
}

const identity = (b: Buffer) => b

/** Sends raw bytes to a method and waits for its status (a stream's messages are read and dropped). */
function rawCall(client: grpc.Client, m: ServedMethod, bytes: Buffer, more: Buffer, md: grpc.Metadata, deadlineMs: number) {
  return new Promise<Outcome>((resolve) => {
    const options = { deadline: Date.now() + deadlineMs }
    let settled = false
    const done = (o: Outcome) => {
      if (settled) return
      settled = true
      clearTimeout(safety)
      resolve(o)
    }
    // The client's deadline ends every call; a status that never arrives even so is a wedged connection.
    const safety = setTimeout(() => done({ code: 'no status', details: '' }), deadlineMs + 3000)
    const callback = (err: grpc.ServiceError | null) => done(err ? { code: err.code, details: err.details } : { code: 0, details: '' })
    const { requestStream, responseStream } = m.def
    if (!requestStream && !responseStream) {
      client.makeUnaryRequest(m.path, identity, identity, bytes, md, options, callback)
      return
    }
    let call: grpc.ClientReadableStream<Buffer> | grpc.ClientWritableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>
    if (!requestStream) call = client.makeServerStreamRequest(m.path, identity, identity, bytes, md, options)
    else if (!responseStream) call = client.makeClientStreamRequest(m.path, identity, identity, md, options, callback)
    else call = client.makeBidiStreamRequest(m.path, identity, identity, md, options)
    call.on('data', () => {})
    call.on('error', () => {})
    call.on('status', (s: grpc.StatusObject) => done({ code: s.code, details: s.details }))
    if (requestStream) {
      // A few messages, then the end of the stream.
      const w = call as grpc.ClientWritableStream<Buffer>
      w.write(bytes)
      w.write(more)
      w.write(bytes)
      w.end()
    }
  })
}

let fake: FakeContainerd
const thrown: string[] = []
const onThrown = (err: unknown) => thrown.push(String((err as Error)?.stack ?? err))
beforeAll(async () => {
  process.on('uncaughtException', onThrown)
  process.on('unhandledRejection', onThrown)
  fake = await startFakeContainerd()
})
afterAll(async () => {
  process.off('uncaughtException', onThrown)
  process.off('unhandledRejection', onThrown)
  await fake.close()
})

describe('fuzzing every RPC', () => {
  test('no crash, no hang, no INTERNAL for a message that decodes', { timeout: 120_000 }, async () => {
    // Something to find: a running pod and container, whose ids are among the strings tried.
    const cri = criClients(fake.address)
    const pod = podConfig('fuzz')
    const podId = await runPod(cri, pod)
    const containerId = await runContainer(cri, podId, pod, containerConfig('c', { command: ['sleep', '1000'] }))
    const strings = [
      '',
      'a',
      'default',
      'k8s.io',
      'busybox',
      'docker.io/library/busybox:latest',
      `sha256:${'a'.repeat(64)}`,
      'sha256:zz',
      'sha512:',
      ':',
      '../../etc/passwd',
      '/tmp/fuzz',
      'a\u0000b',
      '日本語',
      'x'.repeat(300),
      '*',
      '(a+',
      'id~=^x',
      'labels."a"==b',
      'runc',
      'io.containerd.runc.v2',
      'overlayfs',
      'types.containerd.io/opencontainers/runtime-spec/1/Spec',
      '-1',
      podId,
      containerId,
    ]
    const started = Date.now()
    console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays it)`)
    const problems: string[] = []
    const codes: Record<string, number> = {}
    let calls = 0
    const channel = new grpc.Channel(fake.address, grpc.credentials.createInsecure(), {})
    try {
      for (const { service, definition, methods } of servedServices()) {
        const client = new grpc.Client(fake.address, grpc.credentials.createInsecure(), { channelOverride: channel })
        for (const m of methods) {
          const cases = new Cases(SEED ^ hash(m.path), definition, strings)
          for (const [i, c] of cases.forMethod(m).entries()) {
            const md = new grpc.Metadata()
            const namespace = cases.pick(['default', 'default', 'k8s.io', ''])
            if (namespace) md.set('containerd-namespace', namespace)
            const waits = m.path in WAITS
            const outcome = await rawCall(
              client,
              m,
              c.bytes,
              m.def.requestSerialize(cases.message(m.requestType)),
              md,
              waits ? WAIT_DEADLINE_MS : DEADLINE_MS,
            )
            calls++
            const name = typeof outcome.code === 'number' ? grpc.status[outcome.code]! : outcome.code
            codes[name] = (codes[name] ?? 0) + 1
            let decodes = true
            try {
              m.def.requestDeserialize(c.bytes)
            } catch {
              decodes = false
            }
            const where = `${service.name}/${m.name} case ${i} (${c.kind}${decodes ? '' : ', undecodable'}, ${c.bytes.toString('base64')})`
            const fine =
              outcome.code === grpc.status.OK ||
              (outcome.code === grpc.status.UNKNOWN && CONTAINERD_UNKNOWN.some(([re]) => re.test(outcome.details))) ||
              (typeof outcome.code === 'number' &&
                ![grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED].includes(
                  outcome.code,
                )) ||
              (outcome.code === grpc.status.INTERNAL && !decodes) ||
              (waits && (outcome.code === grpc.status.DEADLINE_EXCEEDED || outcome.code === grpc.status.CANCELLED))
            if (!fine) problems.push(`${where}: ${name} ${outcome.details.slice(0, 300)}`)
          }
        }
      }
    } finally {
      // The clients share this channel (closing one would close it for all).
      channel.close()
    }
    const ms = Date.now() - started
    console.log(`fuzz seed ${SEED}: ${calls} calls in ${ms} ms: ${JSON.stringify(codes)}`)
    expect(problems, `seed ${SEED}`).toEqual([])
    // Still serving, on a new connection.
    const after = criClients(fake.address)
    try {
      expect((await after.runtime.Version({ version: 'v1' }, { deadline: DEADLINE_MS })).runtime_name).toBe('containerd')
      expect(Array.isArray((await after.runtime.ListPodSandbox({}, { deadline: DEADLINE_MS })).items)).toBe(true)
    } finally {
      after.close()
      cri.close()
    }
    expect(thrown, `seed ${SEED}`).toEqual([])
    // No call, whatever its bytes, was a bug of the fake by the server's own account.
    const bugs = fake.calls().filter((e) => e.status.details.startsWith('fake-containerd internal error'))
    expect(bugs.map((e) => `${e.service}/${e.method}: ${e.status.details}`)).toEqual([])
    expect(calls).toBeGreaterThan(300)
    expect(ms).toBeLessThan(60_000)
  })
})

/** A small string hash, so each method gets its own stream of cases from the one seed. */
function hash(s: string): number {
  let h = 0
  for (const ch of s) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0
  return h
}

describe('a request stream message that does not decode', () => {
  test('grpc-js answers INTERNAL, and the journal does not call it a bug of the fake', async () => {
    fake.reset()
    const client = new grpc.Client(fake.address, grpc.credentials.createInsecure(), {})
    try {
      const md = new grpc.Metadata()
      md.set('containerd-namespace', 'default')
      const call = client.makeBidiStreamRequest('/containerd.services.content.v1.Content/Write', identity, identity, md, {
        deadline: Date.now() + DEADLINE_MS,
      })
      call.on('data', () => {})
      call.on('error', () => {})
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        call.on('status', resolve)
        call.write(Buffer.from([0xff, 0xff, 0xff]))
        call.end()
      })
      expect(status.code).toBe(grpc.status.INTERNAL)
      expect(status.details).toMatch(/^Error deserializing request/)
      await eventually(() => fake.calls('Write')[0], 'the journal entry')
      expect(fake.calls('Write')[0]!.status.code).toBe(grpc.status.CANCELLED)
      expect(fake.calls('Write')[0]!.status.details).toContain('did not decode')
    } finally {
      client.close()
    }
  })
})

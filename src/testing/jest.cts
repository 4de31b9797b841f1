// fake-containerd for jest, as CommonJS (built to dist/testing/jest.cjs), so that it works in a
// jest project that does not run ESM: test files require() it, which jest's module registry does
// for CommonJS only. One server runs in jest's own process for the whole run; tests connect to it
// through the address globalSetup puts in the environment.
//
//   // jest.config.js
//   module.exports = {
//     globalSetup: 'fake-containerd/jest/global-setup',
//     globalTeardown: 'fake-containerd/jest/global-teardown',
//   }
//
//   // agent.test.js
//   const { connect } = require('fake-containerd/jest')
//   const c = connect()
//   beforeEach(() => c.reset())
//   afterAll(() => c.close())
//   test('retries', async () => {
//     await c.faults.use({ method: 'RunPodSandbox', times: 1, error: 'UNAVAILABLE' })
//     …
//     expect(await c.calls('RunPodSandbox')).toHaveLength(2)
//   })
//
// Tests share the server: run them one file at a time (--runInBand or maxWorkers: 1) if they reset it.
//
// This file stands alone: it needs only @grpc/grpc-js, @grpc/proto-loader and the package's
// proto/ directory, never the ESM library (loaded only by globalSetup, in jest's process, with import()).
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ContainerdClients, ControlClient, ImageClient, RuntimeClient, CallOptions } from '../client.js'
import type { FakeContainerdOptions } from '../config.js'
import type { FaultRule } from '../faults/rule.js'
import type { JournalEntry, JournalFilter } from '../journal/journal.js'
import type { FakeContainerd } from '../server.js'

/** The environment variable globalSetup sets to the server's address (unix:///…/containerd.sock). */
export const ADDRESS_ENV = 'FAKE_CONTAINERD_ADDRESS'

/** Where globalSetup keeps the server for globalTeardown (jest runs both in its own process). */
const GLOBAL_KEY = Symbol.for('fake-containerd.jest.server')

type Holder = { [GLOBAL_KEY]?: FakeContainerd }

/** A globalSetup that starts a server with these options (e.g. `{ runtimeName: 'my-runtime' }`). */
export function createGlobalSetup(options: FakeContainerdOptions = {}): () => Promise<void> {
  return async () => {
    const holder = globalThis as Holder
    // A watch-mode rerun or a second project: keep the server already running.
    if (holder[GLOBAL_KEY]) return
    // The library is ESM; jest's globalSetup runs in plain Node, where import() loads it.
    const { startFakeContainerd } = await import('../index.js')
    const fake = await startFakeContainerd(options)
    holder[GLOBAL_KEY] = fake
    process.env[ADDRESS_ENV] = fake.address
  }
}

/** jest globalSetup: starts one fake-containerd and sets process.env.FAKE_CONTAINERD_ADDRESS. */
export const globalSetup: () => Promise<void> = createGlobalSetup()

/** jest globalTeardown: closes the server globalSetup started. */
export async function globalTeardown(): Promise<void> {
  const holder = globalThis as Holder
  const fake = holder[GLOBAL_KEY]
  delete holder[GLOBAL_KEY]
  if (fake && process.env[ADDRESS_ENV] === fake.address) delete process.env[ADDRESS_ENV]
  await fake?.close()
}

// --- the client -----------------------------------------------------------------------------

/** The package directory (proto/ next to package.json), from dist/testing/ or src/testing/. */
const PACKAGE_ROOT = ((): string => {
  let dir = __dirname
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'proto'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error('fake-containerd/jest: cannot find its package directory (proto/ next to package.json)')
    dir = parent
  }
  return dir
})()

// The same options as src/proto/load.ts, so messages have the same shape as in the ESM clients.
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [join(PACKAGE_ROOT, 'proto')],
}

// The containerd services the server serves (src/proto/load.ts has the same list).
const CONTAINERD_SERVICES = {
  version: 'containerd/services/version/v1/version.proto',
  introspection: 'containerd/services/introspection/v1/introspection.proto',
  namespaces: 'containerd/services/namespaces/v1/namespace.proto',
  containers: 'containerd/services/containers/v1/containers.proto',
  images: 'containerd/services/images/v1/images.proto',
  content: 'containerd/services/content/v1/content.proto',
  snapshots: 'containerd/services/snapshots/v1/snapshots.proto',
  diff: 'containerd/services/diff/v1/diff.proto',
  leases: 'containerd/services/leases/v1/leases.proto',
  events: 'containerd/services/events/v1/events.proto',
  tasks: 'containerd/services/tasks/v1/tasks.proto',
  health: 'grpc/health/v1/health.proto',
} as const

// Service names inside the loaded definitions, by client name.
const CONTAINERD_SERVICE_NAMES: Record<keyof typeof CONTAINERD_SERVICES, string> = {
  version: 'containerd.services.version.v1.Version',
  introspection: 'containerd.services.introspection.v1.Introspection',
  namespaces: 'containerd.services.namespaces.v1.Namespaces',
  containers: 'containerd.services.containers.v1.Containers',
  images: 'containerd.services.images.v1.Images',
  content: 'containerd.services.content.v1.Content',
  snapshots: 'containerd.services.snapshots.v1.Snapshots',
  diff: 'containerd.services.diff.v1.Diff',
  leases: 'containerd.services.leases.v1.Leases',
  events: 'containerd.services.events.v1.Events',
  tasks: 'containerd.services.tasks.v1.Tasks',
  health: 'grpc.health.v1.Health',
}

type ServiceConstructor = grpc.ServiceClientConstructor

const loaded = new Map<string, grpc.GrpcObject>()

/** Loads proto files once per module registry (jest gives each test file its own). */
function load(files: string | string[]): grpc.GrpcObject {
  const key = ([] as string[]).concat(files).join(',')
  let pkg = loaded.get(key)
  if (!pkg) {
    pkg = grpc.loadPackageDefinition(protoLoader.loadSync(files, LOADER_OPTIONS))
    loaded.set(key, pkg)
  }
  return pkg
}

function service(pkg: grpc.GrpcObject, name: string): ServiceConstructor {
  let node: unknown = pkg
  for (const part of name.split('.')) node = (node as Record<string, unknown> | undefined)?.[part]
  if (typeof node !== 'function') throw new Error(`fake-containerd/jest: ${name} is not in the loaded protos`)
  return node as ServiceConstructor
}

type RawMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback?: (err: grpc.ServiceError | null, res: unknown) => void,
) => unknown

/** Unary methods return promises; streaming methods return the grpc-js stream (async iterable). */
function promiseClient<C>(client: grpc.Client, definition: grpc.ServiceDefinition, defaults: Record<string, string> = {}): C {
  const out: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(definition)) {
    const raw = (client as unknown as Record<string, RawMethod>)[name]!.bind(client) as RawMethod
    const prepare = (options: CallOptions | undefined): [grpc.Metadata, grpc.CallOptions] => {
      const metadata = new grpc.Metadata()
      for (const [k, v] of Object.entries({ ...defaults, ...options?.metadata })) metadata.set(k, v)
      const deadline = options?.deadline
      return [metadata, deadline === undefined ? {} : { deadline: typeof deadline === 'number' ? Date.now() + deadline : deadline }]
    }
    out[name] = def.requestStream
      ? (options?: CallOptions) => (raw as unknown as (m: grpc.Metadata, o: grpc.CallOptions) => unknown)(...prepare(options))
      : def.responseStream
        ? (request: unknown, options?: CallOptions) => raw(request, ...prepare(options))
        : (request: unknown, options?: CallOptions) =>
            new Promise((resolve, reject) => raw(request, ...prepare(options), (err, res) => (err ? reject(err) : resolve(res))))
  }
  return out as C
}

/** The journal filter of connect().calls(): JournalFilter without method (given on its own). */
export type CallsFilter = Omit<JournalFilter, 'method'>

export interface Connection {
  /** The address connected to. */
  readonly address: string
  /** CRI runtime.v1.RuntimeService. */
  readonly runtime: RuntimeClient
  /** CRI runtime.v1.ImageService. */
  readonly image: ImageClient
  /** fakecontainerd.control.v1.Control: faults, journal, state, clock (rules and entries as JSON). */
  readonly control: ControlClient
  /** containerd's services, sending `containerd-namespace: <namespace>` on every call. */
  containerd(namespace?: string): ContainerdClients
  /** Fault rules through the control service. */
  readonly faults: {
    /** Adds rules; they take precedence over the rules already there. Returns every rule in force. */
    use(...rules: FaultRule[]): Promise<FaultRule[]>
    /** The rules in the order they are tried, newest first. */
    list(): Promise<FaultRule[]>
    /** Drops the rules added at run time (or, with rules, replaces the initial ones too). */
    reset(...rules: FaultRule[]): Promise<void>
  }
  /** The calls the server answered (one method, or all), oldest first, from the journal. */
  calls(method?: string, filter?: CallsFilter): Promise<JournalEntry[]>
  /** Empties the journal. */
  clearJournal(): Promise<void>
  /** A fresh node for the next test: runtime fault rules dropped, journal cleared, the node emptied. */
  reset(): Promise<void>
  /** Closes every channel this connection opened (call it in afterAll, or jest waits for them). */
  close(): void
}

/** Connects to the server globalSetup started (or to `address`). */
export function connect(address: string | undefined = process.env[ADDRESS_ENV]): Connection {
  if (!address)
    throw new Error(
      `fake-containerd/jest: no address: set globalSetup to 'fake-containerd/jest/global-setup' in the jest config (it sets ${ADDRESS_ENV}), or pass one to connect()`,
    )
  const target = address
  const clients: grpc.Client[] = []
  const make = <C,>(Ctor: ServiceConstructor, defaults?: Record<string, string>): C => {
    const c = new Ctor(target, grpc.credentials.createInsecure())
    clients.push(c)
    return promiseClient<C>(c, Ctor.service, defaults)
  }
  const cri = load('cri/runtime/v1/api.proto')
  const runtime = make<RuntimeClient>(service(cri, 'runtime.v1.RuntimeService'))
  const image = make<ImageClient>(service(cri, 'runtime.v1.ImageService'))
  const Control = service(load('fakecontainerd/control/v1/control.proto'), 'fakecontainerd.control.v1.Control')
  const controlChannel = new Control(target, grpc.credentials.createInsecure())
  clients.push(controlChannel)
  const control = Object.assign(promiseClient<Omit<ControlClient, 'close'>>(controlChannel, Control.service), {
    close: () => controlChannel.close(),
  }) as ControlClient

  return {
    address: target,
    runtime,
    image,
    control,
    containerd: (namespace = 'default') => {
      const pkg = load(Object.values(CONTAINERD_SERVICES))
      const defaults = { 'containerd-namespace': namespace }
      const own: grpc.Client[] = []
      const out: Record<string, unknown> = {}
      for (const [key, name] of Object.entries(CONTAINERD_SERVICE_NAMES)) {
        const Ctor = service(pkg, name)
        const c = new Ctor(target, grpc.credentials.createInsecure())
        own.push(c)
        clients.push(c)
        out[key] = promiseClient(c, Ctor.service, defaults)
      }
      out.close = () => own.forEach((c) => c.close())
      return out as ContainerdClients
    },
    faults: {
      use: async (...rules) => JSON.parse((await control.AddFaults({ rules_json: JSON.stringify(rules) })).rules_json) as FaultRule[],
      list: async () => JSON.parse((await control.ListFaults({})).rules_json) as FaultRule[],
      reset: async (...rules) => {
        await control.ResetFaults({ rules_json: rules.length ? JSON.stringify(rules) : '' })
      },
    },
    calls: async (method, filter = {}) => {
      const { entries_json } = await control.GetJournal({
        service: filter.service ?? '',
        method: method ?? '',
        namespace: filter.namespace ?? '',
        since: filter.since ?? 0,
        has_code: filter.code !== undefined,
        code: filter.code ?? 0,
      })
      return JSON.parse(entries_json) as JournalEntry[]
    },
    clearJournal: async () => {
      await control.ClearJournal({})
    },
    reset: async () => {
      await control.ResetState({})
    },
    close: () => clients.forEach((c) => c.close()),
  }
}

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
// This file and the one it builds its clients from (../service-descriptors.cts, CommonJS too, which
// the ESM clients are built from as well) need only @grpc/grpc-js, @grpc/proto-loader and the
// package's proto/ directory, never the ESM library (loaded only by globalSetup, in jest's process,
// with import()).
import { join } from 'node:path'
import { findPackageRoot } from '../package-root.cjs'
import { groupClients, loadGroup, type GroupClients, type ServiceGroup } from '../service-descriptors.cjs'
import type { ContainerdClients, ControlClient, ImageClient, RuntimeClient } from '../client.js'
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

/** The package's proto/ directory, from dist/testing/ or src/testing/. */
const PROTO_DIR = join(findPackageRoot(__dirname, 'fake-containerd/jest'), 'proto')

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
  const closers: Array<() => void> = []
  const open = <G extends ServiceGroup>(group: G, defaults?: Record<string, string>): GroupClients<G> => {
    const clients = groupClients(loadGroup(group, PROTO_DIR), group, target, defaults)
    closers.push(clients.close)
    return clients
  }
  const { runtime, image } = open('cri')
  const controlClients = open('control')
  const control: ControlClient = Object.assign(controlClients.control, { close: controlClients.close })

  return {
    address: target,
    runtime,
    image,
    control,
    containerd: (namespace = 'default') => open('containerd', { 'containerd-namespace': namespace }),
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
    close: () => closers.forEach((close) => close()),
  }
}

// fake-containerd/jest's CommonJS side (dist/testing/jest.cjs), loaded with require() as a jest
// test file loads it, against a server started here: the client helper, and globalSetup/teardown.
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { containerdClients } from '../../src/client.js'
import { startFakeContainerd, type FakeContainerd } from '../../src/server.js'
import { podConfig } from '../helpers.js'
import type * as JestModule from '../../src/testing/jest.cjs'
import type { ContainerEventResponse__Output } from '../../src/generated/runtime/v1/ContainerEventResponse.js'

const ROOT = join(import.meta.dirname, '..', '..')
const JEST_CJS = join(ROOT, 'dist', 'testing', 'jest.cjs')
const require = createRequire(import.meta.url)
const RPC = { deadline: 5_000 }

let jest: typeof JestModule
let fake: FakeContainerd
let c: JestModule.Connection

beforeAll(async () => {
  if (!existsSync(JEST_CJS)) throw new Error(`${JEST_CJS} is missing: run "npm run build" before these tests`)
  jest = require(JEST_CJS) as typeof JestModule
  fake = await startFakeContainerd({ runtimeName: 'jest-client' })
  c = jest.connect(fake.address)
})

afterAll(async () => {
  c?.close()
  await fake?.close()
})

describe('fake-containerd/jest connect()', () => {
  afterEach(() => c.reset())

  test('is CommonJS that require() loads, with no ESM behind it', () => {
    expect(require.resolve(JEST_CJS)).toMatch(/\.cjs$/)
    // Loading the client must not load the ESM library (a jest test file could not require it).
    expect(Object.keys(require.cache).filter((f) => f.startsWith(join(ROOT, 'dist')) && !f.endsWith('.cjs'))).toEqual([])
    expect(typeof jest.connect).toBe('function')
    expect(typeof jest.globalSetup).toBe('function')
    expect(typeof jest.globalTeardown).toBe('function')
    expect(require(join(ROOT, 'dist', 'testing', 'jest-global-setup.cjs'))).toBe(jest.globalSetup)
    expect(require(join(ROOT, 'dist', 'testing', 'jest-global-teardown.cjs'))).toBe(jest.globalTeardown)
  })

  test('CRI: Version, a pod through RunPodSandbox, and a server stream', async () => {
    const v = await c.runtime.Version({ version: '' }, RPC)
    expect(v).toMatchObject({ runtime_name: 'jest-client', runtime_api_version: 'v1' })

    const events: ContainerEventResponse__Output[] = []
    const stream = c.runtime.GetContainerEvents({})
    stream.on('data', (e: ContainerEventResponse__Output) => events.push(e))
    stream.on('error', () => {})
    await once(stream, 'metadata')

    const { pod_sandbox_id } = await c.runtime.RunPodSandbox({ config: podConfig('jest-pod') }, RPC)
    expect(pod_sandbox_id).toMatch(/^[0-9a-f]{64}$/)
    const { items } = await c.runtime.ListPodSandbox({ filter: null }, RPC)
    expect(items.map((p) => p.id)).toEqual([pod_sandbox_id])
    expect((await c.image.ImageStatus({ image: { image: 'registry.k8s.io/pause:3.10' }, verbose: false }, RPC)).image?.pinned).toBe(true)
    while (!events.some((e) => e.container_id === pod_sandbox_id)) await once(stream, 'data')
    stream.cancel()
    expect(events[0]).toMatchObject({ container_id: pod_sandbox_id, container_event_type: 'CONTAINER_CREATED_EVENT' })
  })

  test('faults through the control service fire, and the journal shows them', async () => {
    const rules = await c.faults.use({ method: 'RunPodSandbox', times: 1, error: 'UNAVAILABLE', message: 'flaky' })
    expect(rules).toEqual([expect.objectContaining({ method: 'RunPodSandbox', error: 'UNAVAILABLE' })])
    expect(await c.faults.list()).toHaveLength(1)
    const config = podConfig('flaky-pod')
    await expect(c.runtime.RunPodSandbox({ config }, RPC)).rejects.toMatchObject({ code: 14, details: 'flaky' })
    await c.runtime.RunPodSandbox({ config }, RPC)

    const calls = await c.calls('RunPodSandbox')
    expect(calls.map((e) => e.status.code)).toEqual([14, 0])
    expect(calls[0]!.fault).toMatchObject({ method: 'RunPodSandbox' })
    expect(await c.calls(undefined, { code: 14 })).toHaveLength(1)
    expect(fake.calls('RunPodSandbox')).toHaveLength(2)

    await c.faults.reset()
    expect(await c.faults.list()).toEqual([])
    await c.clearJournal()
    expect(await c.calls('RunPodSandbox')).toEqual([])
  })

  test('reset() empties the node', async () => {
    await c.runtime.RunPodSandbox({ config: podConfig('before-reset') }, RPC)
    await c.reset()
    expect((await c.runtime.ListPodSandbox({ filter: null }, RPC)).items).toEqual([])
    expect(fake.calls('RunPodSandbox')).toEqual([])
  })

  test('containerd clients for a namespace, with the same services as the ESM client', async () => {
    const { pod_sandbox_id } = await c.runtime.RunPodSandbox({ config: podConfig('ns-pod') }, RPC)
    const k8s = c.containerd('k8s.io')
    const esm = containerdClients(fake.address)
    try {
      expect(Object.keys(k8s).sort()).toEqual(Object.keys(esm).sort())
      expect((await k8s.containers.List({ filters: [] }, RPC)).containers.map((x) => x.id)).toEqual([pod_sandbox_id])
      expect((await c.containerd().containers.List({ filters: [] }, RPC)).containers).toEqual([])
      expect((await k8s.version.Version({}, RPC)).version).toBeTruthy()
      expect(fake.calls('List', { namespace: 'k8s.io' })).toHaveLength(1)
    } finally {
      k8s.close()
      esm.close()
    }
  })

  test('without an address it says how to get one', () => {
    const saved = process.env[jest.ADDRESS_ENV]
    delete process.env[jest.ADDRESS_ENV]
    try {
      expect(() => jest.connect()).toThrow(/globalSetup.*fake-containerd\/jest\/global-setup/)
    } finally {
      if (saved !== undefined) process.env[jest.ADDRESS_ENV] = saved
    }
  })
})

describe('fake-containerd/jest globalSetup and globalTeardown', () => {
  test('start one server, hand its address over in the environment, and close it', async () => {
    const saved = process.env[jest.ADDRESS_ENV]
    delete process.env[jest.ADDRESS_ENV]
    try {
      await jest.globalSetup()
      const address = process.env[jest.ADDRESS_ENV]
      expect(address).toMatch(/^unix:\/\/\/.+\.sock$/)
      // A second setup (watch mode, another project) keeps the server that is running.
      await jest.globalSetup()
      expect(process.env[jest.ADDRESS_ENV]).toBe(address)

      const shared = jest.connect()
      try {
        expect(shared.address).toBe(address)
        expect((await shared.runtime.Version({ version: '' }, RPC)).runtime_api_version).toBe('v1')
      } finally {
        shared.close()
      }
      const socket = address!.slice('unix://'.length)
      expect(existsSync(socket)).toBe(true)
      await jest.globalTeardown()
      expect(existsSync(socket)).toBe(false)
      expect(process.env[jest.ADDRESS_ENV]).toBeUndefined()
      // Teardown without a server is harmless.
      await jest.globalTeardown()
    } finally {
      await jest.globalTeardown()
      if (saved !== undefined) process.env[jest.ADDRESS_ENV] = saved
    }
  })

  test('createGlobalSetup passes options to the server', async () => {
    const saved = process.env[jest.ADDRESS_ENV]
    try {
      await jest.createGlobalSetup({ runtimeName: 'configured' })()
      const shared = jest.connect()
      try {
        expect((await shared.runtime.Version({ version: '' }, RPC)).runtime_name).toBe('configured')
      } finally {
        shared.close()
      }
    } finally {
      await jest.globalTeardown()
      if (saved !== undefined) process.env[jest.ADDRESS_ENV] = saved
    }
  })
})

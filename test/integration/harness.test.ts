// The harness (src/harness.ts) is one object behind both the library API (fake.reset(),
// snapshot(), restore(), faults, calls(), clock) and the control service over the socket: the
// same scenario through either gives the same results. And a malformed state is refused, by
// restore(), RestoreState, a seed state or a state file, with the field that is wrong.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { controlClient, type ControlClient } from '../../src/client.js'
import type { FakeContainerdOptions } from '../../src/config.js'
import type { FaultRule } from '../../src/faults/rule.js'
import { startFakeContainerd } from '../../src/server.js'
import type { NodeState } from '../../src/store/schema.js'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

/** The harness operations a test uses, as the library gives them or as the control service does. */
interface Ops {
  snapshot(): Promise<NodeState>
  reset(): Promise<void>
  restore(state: NodeState): Promise<void>
  addFault(rule: FaultRule): Promise<void>
  calls(method: string): Promise<string[]>
  freezeClock(frozen: boolean): Promise<void>
  advanceClock(ms: number): Promise<void>
}

const library = (h: Harness): Ops => ({
  snapshot: async () => h.fake.snapshot(),
  reset: async () => h.fake.reset(),
  restore: async (state) => h.fake.restore(state),
  addFault: async (rule) => h.fake.faults.use(rule),
  calls: async (method) => h.fake.calls(method).map((e) => e.method),
  freezeClock: async (frozen) => h.fake.clock.freeze(frozen),
  advanceClock: async (ms) => h.fake.clock.advance(ms),
})

const overTheWire = (control: ControlClient): Ops => ({
  snapshot: async () => JSON.parse((await control.SnapshotState({})).state_json) as NodeState,
  reset: async () => void (await control.ResetState({})),
  restore: async (state) => void (await control.RestoreState({ state_json: JSON.stringify(state) })),
  addFault: async (rule) => void (await control.AddFaults({ rules_json: JSON.stringify(rule) })),
  calls: async (method) => (JSON.parse((await control.GetJournal({ method })).entries_json) as { method: string }[]).map((e) => e.method),
  freezeClock: async (frozen) => void (await control.FreezeClock({ frozen })),
  advanceClock: async (ms) => void (await control.AdvanceClock({ milliseconds: ms })),
})

const open: { close(): Promise<void> | void }[] = []
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close()
})

/** A server and the operations of one side on it. */
async function start(side: 'library' | 'control', options: FakeContainerdOptions = {}): Promise<{ h: Harness; ops: Ops }> {
  const h = await harness(options)
  open.push(h)
  if (side === 'library') return { h, ops: library(h) }
  const control = controlClient(h.fake.address)
  open.push(control)
  return { h, ops: overTheWire(control) }
}

const exec = async (h: Harness, id: string, cmd: string[]) => {
  const r = await h.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })
  return { out: r.stdout.toString(), code: r.exit_code }
}

/**
 * One scenario: a pod and a container a process writes a file in, snapshot, reset, restore, the
 * file read back; a fault; the clock frozen and advanced past a sleep; the journal. Returns what
 * it saw, without ids, so the two sides can be compared.
 */
async function scenario(h: Harness, ops: Ops) {
  const config = podConfig('parity')
  const pod = await runPod(h, config)
  const id = await runContainer(h, pod, config, containerConfig('writer', { command: ['sleep', '3600'] }))
  // Written by an exec, not by the container's command: a restored task runs its command again.
  const wrote = await exec(h, id, ['sh', '-c', 'echo kept across reset > /data.txt'])

  const state = await ops.snapshot()
  await ops.reset()
  const afterReset = {
    pods: (await h.runtime.ListPodSandbox({ filter: null })).items.length,
    journal: await ops.calls('RunPodSandbox'),
  }
  await ops.restore(state)
  const restored = {
    pods: (await h.runtime.ListPodSandbox({ filter: null })).items.map((p) => p.id === pod),
    read: await exec(h, id, ['cat', '/data.txt']),
  }

  await ops.addFault({ method: 'Version', once: true, error: 'UNAVAILABLE' })
  const faulted = [(await grpcError(h.runtime.Version({ version: '' }))).code, (await h.runtime.Version({ version: '' })).runtime_name]

  await ops.freezeClock(true)
  const napper = await runContainer(h, pod, config, containerConfig('napper', { command: ['sleep', '600'] }))
  await ops.advanceClock(600_000)
  const napped = await waitForState(h, napper, 'CONTAINER_EXITED')
  await ops.freezeClock(false)

  return {
    wrote,
    afterReset,
    restored,
    faulted,
    napped: { exit: napped.exit_code, reason: napped.reason },
    journal: await ops.calls('CreateContainer'),
  }
}

describe('one harness behind the library and the control service', () => {
  test('the same scenario gives the same results through either', async () => {
    const lib = await start('library')
    const wire = await start('control')
    const [viaLibrary, viaControl] = [await scenario(lib.h, lib.ops), await scenario(wire.h, wire.ops)]
    expect(viaControl).toEqual(viaLibrary)
    expect(viaLibrary).toEqual({
      wrote: { out: '', code: 0 },
      afterReset: { pods: 0, journal: [] },
      restored: { pods: [true], read: { out: 'kept across reset\n', code: 0 } },
      faulted: [14, 'containerd'],
      napped: { exit: 0, reason: 'Completed' },
      journal: ['CreateContainer'],
    })
  })

  test.each(['library', 'control'] as const)('a journal query through the %s for an RPC no service has is refused', async (side) => {
    const { ops } = await start(side)
    await expect(ops.calls('RunPodSandbx')).rejects.toThrow(
      'journal query: method: no RPC is named "RunPodSandbx"; did you mean RunPodSandbox?',
    )
    expect(await ops.calls('Run*')).toEqual([])
  })

  test.each(['library', 'control'] as const)(
    'a snapshot through the %s keeps the files containers wrote, and the state is the same',
    async (side) => {
      const { h, ops } = await start(side)
      const config = podConfig('files')
      const pod = await runPod(h, config)
      const id = await runContainer(h, pod, config, containerConfig('w', { command: ['sleep', '3600'] }))
      await exec(h, id, ['sh', '-c', 'echo one > /one.txt'])
      const state = await ops.snapshot()
      expect(state.layers[id]?.entries.map(([p]) => p)).toContain('/one.txt')
      // What the library returns and what the control service sends are the same state.
      expect(JSON.parse((await controlClient(h.fake.address).SnapshotState({})).state_json)).toEqual(h.fake.snapshot())
    },
  )

  test.each(['library', 'control'] as const)(
    'reset through the %s starts the node with the pod CIDR of the options, not one UpdateRuntimeConfig set since',
    async (side) => {
      const { h, ops } = await start(side, { podCidr: '10.77.0.0/16' })
      await h.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: '10.244.3.0/24' } } })
      expect(h.fake.node.state.podCidr).toBe('10.244.3.0/24')
      await ops.reset()
      expect(h.fake.node.state.podCidr).toBe('10.77.0.0/16')
      const id = await runPod(h, podConfig())
      const { status } = await h.runtime.PodSandboxStatus({ pod_sandbox_id: id, verbose: false })
      expect(status!.network!.ip).toBe('10.77.0.2')
      expect(JSON.parse((await h.runtime.Status({ verbose: true })).info.config!).podCidr).toBe('10.77.0.0/16')
    },
  )
})

describe('a malformed state is refused, and the node is left as it was', () => {
  /** A valid state with one thing broken. */
  async function brokenStates(h: Harness, pod: string) {
    const good = h.fake.snapshot()
    const broken = (change: (s: Record<string, any>) => void) => {
      const s = structuredClone(good) as unknown as Record<string, any>
      change(s)
      return s
    }
    return [
      [broken((s) => delete s.containers), /state\.containers must be present, not nothing/],
      [broken((s) => (s.images = {})), /state\.images must be an array, not an object/],
      [
        broken((s) => (s.containers[pod].task.status = 'bogus')),
        new RegExp(`state\\.containers\\["${pod}"\\]\\.task\\.status must be one of`),
      ],
      [
        broken((s) => (s.containers[pod].id = 'other')),
        new RegExp(`state\\.containers\\["${pod}"\\]\\.id must be its key "${pod}", not "other"`),
      ],
      // Deep in a list: the whole path, though paths are made only for the field that fails.
      [
        broken((s) => (s.containers[pod].cri.additionalIps = ['10.0.0.9', 7])),
        new RegExp(`state\\.containers\\["${pod}"\\]\\.cri\\.additionalIps\\[1\\] must be a string, not 7$`),
      ],
      [broken((s) => (s.podCidr = '10.0.0.0/99')), /state\.podCidr: invalid pod CIDR/],
      [broken((s) => (s.nextPid = 'many')), /state\.nextPid must be an integer, not "many"/],
      [
        broken((s) => (s.snapshots = { overlayfs: { default: { k: { kind: 'odd' } } } })),
        /state\.snapshots\["overlayfs"\]\["default"\]\["k"\]\.kind must be one of/,
      ],
      [[], /state must be an object, not an array/],
    ] as const
  }

  test('restore() throws an Error naming the field', async () => {
    const { h } = await start('library')
    const pod = await runPod(h, podConfig('stays'))
    for (const [state, message] of await brokenStates(h, pod)) {
      expect(() => h.fake.restore(state as unknown as NodeState)).toThrow(message)
    }
    expect(() => h.fake.restore({ version: 2 } as NodeState)).toThrow(
      /the given state is not a valid node state: state\.uuid must be present/,
    )
    expect((await h.runtime.ListPodSandbox({ filter: null })).items.map((p) => p.id)).toEqual([pod])
    expect(h.fake.node.tasks.process(pod)?.running).toBe(true)
  })

  test('RestoreState answers InvalidArgument naming the field', async () => {
    const { h } = await start('control')
    const control = controlClient(h.fake.address)
    open.push(control)
    const pod = await runPod(h, podConfig('stays'))
    for (const [state, message] of await brokenStates(h, pod)) {
      const err = await grpcError(control.RestoreState({ state_json: JSON.stringify(state) }))
      expect([err.code, err.details]).toEqual([3, expect.stringMatching(message)])
    }
    expect((await h.runtime.ListPodSandbox({ filter: null })).items.map((p) => p.id)).toEqual([pod])
    expect(h.fake.node.tasks.process(pod)?.running).toBe(true)
  })

  test('a malformed seed state or state file is refused at start, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-bad-state-'))
    const { h } = await start('library')
    const state = h.fake.snapshot() as unknown as Record<string, unknown>
    const seed = join(dir, 'seed.json')
    writeFileSync(seed, JSON.stringify({ description: 'broken', state: { ...state, leases: [] }, faults: [] }))
    await expect(startFakeContainerd({ seedState: seed })).rejects.toThrow(
      `seed state ${seed} is not a valid node state: state.leases must be an object, not an array`,
    )
    const file = join(dir, 'state.json')
    writeFileSync(file, JSON.stringify({ ...state, namespaces: { default: { labels: { a: 1 } } } }))
    await expect(startFakeContainerd({ state: file })).rejects.toThrow(
      /state\.namespaces\["default"\]\.labels\["a"\] must be a string, not 1/,
    )
  })
})

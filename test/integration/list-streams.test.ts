import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { collect } from '../../src/client.js'
import type { ContainerFilter } from '../../src/generated/runtime/v1/ContainerFilter.js'
import type { PodSandboxFilter } from '../../src/generated/runtime/v1/PodSandboxFilter.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { containerConfig, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

async function startPod(labels: Record<string, string>): Promise<{ id: string; config: PodSandboxConfig }> {
  const config = podConfig(undefined, { labels })
  return { id: await runPod(h, config), config }
}

/** Two ready pods and a stopped one; containers running, created and exited, with labels. */
async function populate() {
  const a = await startPod({ team: 'blue', app: 'a' })
  const b = await startPod({ team: 'red', app: 'b' })
  const stopped = await startPod({ team: 'blue', app: 'stopped' })
  const a1 = await runContainer(h, a.id, a.config, containerConfig('a1', { command: ['sleep', '3600'], labels: { tier: 'web' } }))
  const a2 = await runContainer(h, a.id, a.config, containerConfig('a2', { command: ['sleep', '3600'], labels: { tier: 'db' } }), false)
  const b1 = await runContainer(h, b.id, b.config, containerConfig('b1', { command: ['true'], labels: { tier: 'web' } }))
  await waitForState(h, b1, 'CONTAINER_EXITED')
  const s1 = await runContainer(
    h,
    stopped.id,
    stopped.config,
    containerConfig('s1', { command: ['sleep', '3600'], labels: { tier: 'web' } }),
  )
  await h.runtime.StopPodSandbox({ pod_sandbox_id: stopped.id })
  return { a, b, stopped, a1, a2, b1, s1 }
}

const listPods = async (filter: PodSandboxFilter | null) => (await h.runtime.ListPodSandbox({ filter })).items
const streamPods = async (filter: PodSandboxFilter | null) => await collect(h.runtime.StreamPodSandboxes({ filter }))
const listContainers = async (filter: ContainerFilter | null) => (await h.runtime.ListContainers({ filter })).containers
const streamContainers = async (filter: ContainerFilter | null) => await collect(h.runtime.StreamContainers({ filter }))

describe('StreamPodSandboxes', () => {
  test('with no pods it sends no messages', async () => {
    expect(await listPods(null)).toEqual([])
    expect(await streamPods(null)).toEqual([])
  })

  test('without a filter it streams the same pods as ListPodSandbox, in one message', async () => {
    const { a, b, stopped } = await populate()
    const listed = await listPods(null)
    expect(listed.map((p) => p.id).sort()).toEqual([a.id, b.id, stopped.id].sort())
    const messages = await streamPods(null)
    expect(messages).toHaveLength(1)
    expect(messages[0]!.pod_sandboxes).toEqual(listed)
  })

  test('with filters it streams the same pods as ListPodSandbox', async () => {
    const { a, b, stopped } = await populate()
    const cases: [PodSandboxFilter, string[]][] = [
      [{ id: b.id }, [b.id]],
      [{ id: a.id.slice(0, 12) }, [a.id]],
      [{ state: { state: 'SANDBOX_READY' } }, [a.id, b.id]],
      [{ state: { state: 'SANDBOX_NOTREADY' } }, [stopped.id]],
      [{ label_selector: { team: 'blue' } }, [a.id, stopped.id]],
      [{ label_selector: { team: 'blue' }, state: { state: 'SANDBOX_READY' } }, [a.id]],
    ]
    for (const [filter, expected] of cases) {
      const listed = await listPods(filter)
      expect(listed.map((p) => p.id).sort(), JSON.stringify(filter)).toEqual([...expected].sort())
      const streamed = (await streamPods(filter)).flatMap((m) => m.pod_sandboxes)
      expect(streamed, JSON.stringify(filter)).toEqual(listed)
    }
  })

  test('a filter that matches nothing sends no messages', async () => {
    await populate()
    for (const filter of [{ id: 'f'.repeat(64) }, { label_selector: { team: 'green' } }] as PodSandboxFilter[]) {
      expect(await listPods(filter)).toEqual([])
      expect(await streamPods(filter)).toEqual([])
    }
  })
})

describe('StreamContainers', () => {
  test('with no containers it sends no messages', async () => {
    await startPod({ app: 'empty' })
    expect(await listContainers(null)).toEqual([])
    expect(await streamContainers(null)).toEqual([])
  })

  test('without a filter it streams the same containers as ListContainers, in one message', async () => {
    const { a1, a2, b1, s1 } = await populate()
    const listed = await listContainers(null)
    expect(listed.map((c) => c.id).sort()).toEqual([a1, a2, b1, s1].sort())
    const messages = await streamContainers(null)
    expect(messages).toHaveLength(1)
    expect(messages[0]!.containers).toEqual(listed)
  })

  test('with filters it streams the same containers as ListContainers', async () => {
    const { a, b, a1, a2, b1, s1 } = await populate()
    const cases: [ContainerFilter, string[]][] = [
      [{ id: a2 }, [a2]],
      [{ id: b1.slice(0, 12) }, [b1]],
      [{ pod_sandbox_id: a.id }, [a1, a2]],
      [{ pod_sandbox_id: b.id }, [b1]],
      [{ state: { state: 'CONTAINER_RUNNING' } }, [a1]],
      [{ state: { state: 'CONTAINER_CREATED' } }, [a2]],
      [{ state: { state: 'CONTAINER_EXITED' } }, [b1, s1]],
      [{ label_selector: { tier: 'web' } }, [a1, b1, s1]],
      [{ pod_sandbox_id: a.id, label_selector: { tier: 'web' } }, [a1]],
    ]
    for (const [filter, expected] of cases) {
      const listed = await listContainers(filter)
      expect(listed.map((c) => c.id).sort(), JSON.stringify(filter)).toEqual([...expected].sort())
      const streamed = (await streamContainers(filter)).flatMap((m) => m.containers)
      expect(streamed, JSON.stringify(filter)).toEqual(listed)
    }
  })

  test('a filter that matches nothing sends no messages', async () => {
    const { a, b1 } = await populate()
    for (const filter of [
      { id: 'f'.repeat(64) },
      { label_selector: { tier: 'cache' } },
      { pod_sandbox_id: a.id, id: b1 },
    ] as ContainerFilter[]) {
      expect(await listContainers(filter)).toEqual([])
      expect(await streamContainers(filter)).toEqual([])
    }
  })
})

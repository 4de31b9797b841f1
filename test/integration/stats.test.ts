import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { collect } from '../../src/client.js'
import type { ContainerConfig } from '../../src/generated/runtime/v1/ContainerConfig.js'
import type { ContainerStats__Output } from '../../src/generated/runtime/v1/ContainerStats.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { containerConfig, eventually, grpcError, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

/** A container that keeps running until stopped. */
const longRunning = (name: string, extra: Partial<ContainerConfig> = {}): ContainerConfig =>
  containerConfig(name, { command: ['sleep', '3600'], ...extra })

async function startPod(name?: string, extra: Partial<PodSandboxConfig> = {}): Promise<{ id: string; config: PodSandboxConfig }> {
  const config = podConfig(name, extra)
  return { id: await runPod(h, config), config }
}

const big = (v: { value: string } | null | undefined): bigint => {
  if (!v) throw new Error('expected a value, got none')
  return BigInt(v.value)
}
const sorted = (ids: string[]): string[] => [...ids].sort()
const statsIds = (stats: ContainerStats__Output[]): string[] => sorted(stats.map((s) => s.attributes!.id))
const containerStats = async (id: string): Promise<ContainerStats__Output> => (await h.runtime.ContainerStats({ container_id: id })).stats!

describe('ContainerStats', () => {
  test('cpu usage grows and cpu/memory timestamps advance between calls', async () => {
    const pod = await startPod()
    const id = await runContainer(h, pod.id, pod.config, longRunning('app'))
    const first = await containerStats(id)
    expect(first.attributes!.id).toBe(id)
    expect(first.attributes!.metadata).toEqual({ name: 'app', attempt: 0 })
    expect(BigInt(first.cpu!.timestamp)).toBeGreaterThan(0n)
    expect(BigInt(first.memory!.timestamp)).toBeGreaterThan(0n)
    expect(big(first.cpu!.usage_core_nano_seconds)).toBeGreaterThan(0n)
    expect(big(first.memory!.working_set_bytes)).toBeGreaterThan(0n)

    const later = await eventually(async () => {
      const s = await containerStats(id)
      return big(s.cpu!.usage_core_nano_seconds) > big(first.cpu!.usage_core_nano_seconds) ? s : undefined
    }, 'cpu usage to grow')
    expect(BigInt(later.cpu!.timestamp)).toBeGreaterThan(BigInt(first.cpu!.timestamp))
    expect(BigInt(later.memory!.timestamp)).toBeGreaterThan(BigInt(first.memory!.timestamp))
  })

  test('memory available_bytes is 0 without a limit and limit minus working set after UpdateContainerResources', async () => {
    const pod = await startPod()
    const id = await runContainer(h, pod.id, pod.config, longRunning('app'))
    expect(big((await containerStats(id)).memory!.available_bytes)).toBe(0n)

    const limit = 256n * 1024n * 1024n
    await h.runtime.UpdateContainerResources({
      container_id: id,
      linux: { memory_limit_in_bytes: limit.toString(), cpu_period: '100000', cpu_quota: '50000', cpu_shares: '512' },
    })
    const stats = await containerStats(id)
    const available = big(stats.memory!.available_bytes)
    expect(available).toBeGreaterThan(0n)
    expect(available + big(stats.memory!.working_set_bytes)).toBe(limit)

    const { status } = await h.runtime.ContainerStatus({ container_id: id, verbose: false })
    expect(status!.resources!.linux).toMatchObject({
      memory_limit_in_bytes: limit.toString(),
      cpu_period: '100000',
      cpu_quota: '50000',
      cpu_shares: '512',
    })
  })

  test('a memory limit set at creation shows in available_bytes', async () => {
    const pod = await startPod()
    const limit = 64n * 1024n * 1024n
    const id = await runContainer(
      h,
      pod.id,
      pod.config,
      longRunning('app', { linux: { resources: { memory_limit_in_bytes: limit.toString() } } }),
    )
    const stats = await containerStats(id)
    expect(big(stats.memory!.available_bytes) + big(stats.memory!.working_set_bytes)).toBe(limit)
  })

  test('the writable layer reports its usage', async () => {
    const pod = await startPod()
    const id = await runContainer(h, pod.id, pod.config, longRunning('app'))
    const layer = (await containerStats(id)).writable_layer!
    expect(layer).not.toBeNull()
    expect(BigInt(layer.timestamp)).toBeGreaterThan(0n)
    expect(layer.fs_id!.mountpoint).not.toBe('')
    expect(big(layer.used_bytes)).toBeGreaterThan(0n)
    expect(big(layer.inodes_used)).toBeGreaterThan(0n)
  })

  test('an unknown container id is NotFound', async () => {
    const id = 'f'.repeat(64)
    const err = await grpcError(h.runtime.ContainerStats({ container_id: id }))
    expect(err.code).toBe(5)
    expect(err.details).toContain(`an error occurred when try to find container "${id}": not found`)
  })
})

describe('ListContainerStats', () => {
  test('lists running containers only', async () => {
    const pod = await startPod()
    const running = await runContainer(h, pod.id, pod.config, longRunning('running'))
    await runContainer(h, pod.id, pod.config, longRunning('created'), false)
    const exited = await runContainer(h, pod.id, pod.config, containerConfig('exited', { command: ['true'] }))
    await waitForState(h, exited, 'CONTAINER_EXITED')
    const { stats } = await h.runtime.ListContainerStats({ filter: null })
    expect(statsIds(stats)).toEqual([running])
    expect(BigInt(stats[0]!.cpu!.timestamp)).toBeGreaterThan(0n)
  })

  test('filters by id, pod_sandbox_id and label_selector', async () => {
    const a = await startPod()
    const b = await startPod()
    const a1 = await runContainer(h, a.id, a.config, longRunning('a1', { labels: { tier: 'web' } }))
    const a2 = await runContainer(h, a.id, a.config, longRunning('a2', { labels: { tier: 'db' } }))
    const b1 = await runContainer(h, b.id, b.config, longRunning('b1', { labels: { tier: 'web' } }))
    const list = async (filter: { id?: string; pod_sandbox_id?: string; label_selector?: Record<string, string> }) =>
      statsIds((await h.runtime.ListContainerStats({ filter })).stats)

    expect(statsIds((await h.runtime.ListContainerStats({ filter: null })).stats)).toEqual(sorted([a1, a2, b1]))
    expect(await list({ id: a2 })).toEqual([a2])
    expect(await list({ pod_sandbox_id: a.id })).toEqual(sorted([a1, a2]))
    expect(await list({ pod_sandbox_id: b.id })).toEqual([b1])
    expect(await list({ label_selector: { tier: 'web' } })).toEqual(sorted([a1, b1]))
    expect(await list({ pod_sandbox_id: a.id, label_selector: { tier: 'web' } })).toEqual([a1])
    expect(await list({ id: b1, pod_sandbox_id: a.id })).toEqual([])
    expect(await list({ label_selector: { tier: 'cache' } })).toEqual([])
    expect(await list({ id: 'e'.repeat(64) })).toEqual([])
  })
})

describe('PodSandboxStats and ListPodSandboxStats', () => {
  test('PodSandboxStats describes the pod and lists its containers', async () => {
    const pod = await startPod('stats-pod')
    const other = await startPod()
    const c1 = await runContainer(h, pod.id, pod.config, longRunning('c1'))
    const c2 = await runContainer(h, pod.id, pod.config, longRunning('c2'))
    await runContainer(h, other.id, other.config, longRunning('elsewhere'))
    const { stats } = await h.runtime.PodSandboxStats({ pod_sandbox_id: pod.id })
    expect(stats!.attributes!.id).toBe(pod.id)
    expect(stats!.attributes!.metadata).toEqual(pod.config.metadata)
    expect(stats!.attributes!.labels).toEqual(pod.config.labels)
    const linux = stats!.linux!
    expect(statsIds(linux.containers)).toEqual(sorted([c1, c2]))
    expect(BigInt(linux.cpu!.timestamp)).toBeGreaterThan(0n)
    expect(BigInt(linux.memory!.timestamp)).toBeGreaterThan(0n)
    expect(big(linux.cpu!.usage_core_nano_seconds)).toBeGreaterThan(0n)
  })

  test('PodSandboxStats lists only running containers, as ListContainerStats with the pod filter does', async () => {
    const pod = await startPod()
    const running = await runContainer(h, pod.id, pod.config, longRunning('running'))
    await runContainer(h, pod.id, pod.config, longRunning('created'), false)
    const exited = await runContainer(h, pod.id, pod.config, containerConfig('exited', { command: ['true'] }))
    await waitForState(h, exited, 'CONTAINER_EXITED')
    const listed = (await h.runtime.ListContainerStats({ filter: { pod_sandbox_id: pod.id } })).stats
    expect(statsIds(listed)).toEqual([running])
    const { stats } = await h.runtime.PodSandboxStats({ pod_sandbox_id: pod.id })
    expect(statsIds(stats!.linux!.containers)).toEqual([running])
  })

  test('PodSandboxStats cpu usage grows between calls', async () => {
    const pod = await startPod()
    await runContainer(h, pod.id, pod.config, longRunning('app'))
    const first = (await h.runtime.PodSandboxStats({ pod_sandbox_id: pod.id })).stats!.linux!.cpu!
    const later = await eventually(async () => {
      const cpu = (await h.runtime.PodSandboxStats({ pod_sandbox_id: pod.id })).stats!.linux!.cpu!
      return big(cpu.usage_core_nano_seconds) > big(first.usage_core_nano_seconds) ? cpu : undefined
    }, 'pod cpu usage to grow')
    expect(BigInt(later.timestamp)).toBeGreaterThan(BigInt(first.timestamp))
  })

  test('PodSandboxStats of an unknown pod is NotFound', async () => {
    const err = await grpcError(h.runtime.PodSandboxStats({ pod_sandbox_id: 'd'.repeat(64) }))
    expect(err.code).toBe(5)
  })

  test('PodSandboxStats of a stopped pod is Unavailable (containerd: sandbox not in ready state)', async () => {
    const pod = await startPod()
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod.id })
    const err = await grpcError(h.runtime.PodSandboxStats({ pod_sandbox_id: pod.id }))
    expect(err.code).toBe(14)
    expect(err.details).toContain('is not in ready state')
  })

  test('ListPodSandboxStats lists ready pods, filtered by id and label_selector', async () => {
    const a = await startPod(undefined, { labels: { team: 'blue' } })
    const b = await startPod(undefined, { labels: { team: 'red' } })
    const stopped = await startPod(undefined, { labels: { team: 'blue' } })
    await h.runtime.StopPodSandbox({ pod_sandbox_id: stopped.id })
    const ids = async (filter: { id?: string; label_selector?: Record<string, string> } | null) =>
      sorted((await h.runtime.ListPodSandboxStats({ filter })).stats.map((s) => s.attributes!.id))

    expect(await ids(null)).toEqual(sorted([a.id, b.id]))
    expect(await ids({ id: b.id })).toEqual([b.id])
    expect(await ids({ id: stopped.id })).toEqual([])
    expect(await ids({ label_selector: { team: 'blue' } })).toEqual([a.id])
    expect(await ids({ label_selector: { team: 'green' } })).toEqual([])
  })
})

describe('metrics', () => {
  test('ListMetricDescriptors describes uniquely named metrics', async () => {
    const { descriptors } = await h.runtime.ListMetricDescriptors({})
    expect(descriptors.length).toBeGreaterThan(0)
    const names = descriptors.map((d) => d.name)
    expect(new Set(names).size).toBe(names.length)
    for (const d of descriptors) {
      expect(d.name).toMatch(/^container_/)
      expect(d.help).not.toBe('')
      expect(d.label_keys.length).toBeGreaterThan(0)
    }
  })

  test('ListPodSandboxMetrics has one entry per ready pod with metrics per container, named as the descriptors', async () => {
    const { descriptors } = await h.runtime.ListMetricDescriptors({})
    const byName = new Map(descriptors.map((d) => [d.name, d]))
    const a = await startPod()
    const b = await startPod()
    const stopped = await startPod()
    await h.runtime.StopPodSandbox({ pod_sandbox_id: stopped.id })
    const a1 = await runContainer(h, a.id, a.config, longRunning('a1'))
    const a2 = await runContainer(h, a.id, a.config, longRunning('a2'))
    const b1 = await runContainer(h, b.id, b.config, longRunning('b1'))

    const { pod_metrics } = await h.runtime.ListPodSandboxMetrics({})
    expect(sorted(pod_metrics.map((p) => p.pod_sandbox_id))).toEqual(sorted([a.id, b.id]))
    const podA = pod_metrics.find((p) => p.pod_sandbox_id === a.id)!
    const podB = pod_metrics.find((p) => p.pod_sandbox_id === b.id)!
    expect(sorted(podA.container_metrics.map((c) => c.container_id))).toEqual(sorted([a1, a2]))
    expect(podB.container_metrics.map((c) => c.container_id)).toEqual([b1])

    const all = pod_metrics.flatMap((p) => [...p.metrics, ...p.container_metrics.flatMap((c) => c.metrics)])
    for (const p of pod_metrics) for (const c of p.container_metrics) expect(c.metrics.length).toBeGreaterThan(0)
    for (const m of all) {
      const d = byName.get(m.name)
      expect(d, `descriptor for ${m.name}`).toBeDefined()
      expect(m.label_values).toHaveLength(d!.label_keys.length)
      expect(BigInt(m.timestamp)).toBeGreaterThan(0n)
      expect(m.value).not.toBeNull()
    }
  })

  test('ListPodSandboxMetrics with no pods is empty', async () => {
    expect((await h.runtime.ListPodSandboxMetrics({})).pod_metrics).toEqual([])
  })
})

describe('streaming stats', () => {
  test('StreamContainerStats returns the same containers as ListContainerStats, with and without a filter', async () => {
    const a = await startPod()
    const b = await startPod()
    await runContainer(h, a.id, a.config, longRunning('a1', { labels: { tier: 'web' } }))
    await runContainer(h, a.id, a.config, longRunning('a2'))
    await runContainer(h, b.id, b.config, longRunning('b1', { labels: { tier: 'web' } }))
    await runContainer(h, b.id, b.config, longRunning('b2'), false)
    for (const filter of [null, { pod_sandbox_id: a.id }, { label_selector: { tier: 'web' } }]) {
      const listed = (await h.runtime.ListContainerStats({ filter })).stats
      const messages = await collect(h.runtime.StreamContainerStats({ filter }))
      expect(messages).toHaveLength(1)
      const streamed = messages.flatMap((m) => m.container_stats)
      expect(statsIds(streamed)).toEqual(statsIds(listed))
      expect(streamed.map((s) => s.attributes)).toEqual(listed.map((s) => s.attributes))
    }
  })

  test('StreamContainerStats sends no messages when nothing runs', async () => {
    const pod = await startPod()
    await runContainer(h, pod.id, pod.config, longRunning('created'), false)
    expect(await collect(h.runtime.StreamContainerStats({ filter: null }))).toEqual([])
  })

  test('StreamPodSandboxStats returns the same pods as ListPodSandboxStats', async () => {
    const a = await startPod(undefined, { labels: { team: 'blue' } })
    const b = await startPod()
    await runContainer(h, a.id, a.config, longRunning('a1'))
    await runContainer(h, b.id, b.config, longRunning('b1'))
    for (const filter of [null, { id: a.id }, { label_selector: { team: 'blue' } }]) {
      const listed = (await h.runtime.ListPodSandboxStats({ filter })).stats
      const messages = await collect(h.runtime.StreamPodSandboxStats({ filter }))
      expect(messages).toHaveLength(1)
      const streamed = messages.flatMap((m) => m.pod_sandbox_stats)
      expect(streamed.map((s) => s.attributes)).toEqual(listed.map((s) => s.attributes))
      expect(streamed.map((s) => statsIds(s.linux!.containers))).toEqual(listed.map((s) => statsIds(s.linux!.containers)))
    }
  })

  test('StreamPodSandboxStats sends no messages when no pod is ready', async () => {
    expect(await collect(h.runtime.StreamPodSandboxStats({ filter: null }))).toEqual([])
    const pod = await startPod()
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod.id })
    expect(await collect(h.runtime.StreamPodSandboxStats({ filter: null }))).toEqual([])
  })

  test('StreamPodSandboxMetrics returns the same pods and containers as ListPodSandboxMetrics', async () => {
    const a = await startPod()
    const b = await startPod()
    await runContainer(h, a.id, a.config, longRunning('a1'))
    await runContainer(h, b.id, b.config, longRunning('b1'))
    await runContainer(h, b.id, b.config, longRunning('b2'))
    const shape = (
      pods: {
        pod_sandbox_id: string
        metrics: { name: string }[]
        container_metrics: { container_id: string; metrics: { name: string }[] }[]
      }[],
    ) =>
      pods.map((p) => ({
        pod: p.pod_sandbox_id,
        metrics: p.metrics.map((m) => m.name),
        containers: p.container_metrics.map((c) => ({ id: c.container_id, metrics: c.metrics.map((m) => m.name) })),
      }))
    const listed = (await h.runtime.ListPodSandboxMetrics({})).pod_metrics
    const messages = await collect(h.runtime.StreamPodSandboxMetrics({}))
    expect(messages).toHaveLength(1)
    expect(shape(messages.flatMap((m) => m.pod_sandbox_metrics))).toEqual(shape(listed))
    expect(listed).toHaveLength(2)
  })

  test('StreamPodSandboxMetrics sends no messages when there are no pods', async () => {
    expect(await collect(h.runtime.StreamPodSandboxMetrics({}))).toEqual([])
  })
})

import { once } from 'node:events'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { ContainerEventResponse__Output } from '../../src/generated/runtime/v1/ContainerEventResponse.js'
import { containerConfig, eventually, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

describe('GetContainerEvents', () => {
  test('streams CREATED/STARTED/STOPPED/DELETED for sandboxes and containers, with statuses', async () => {
    await h.image.PullImage({ image: { image: 'busybox' } })
    const events: ContainerEventResponse__Output[] = []
    const stream = h.runtime.GetContainerEvents({})
    stream.on('data', (e: ContainerEventResponse__Output) => events.push(e))
    stream.on('error', () => {})
    // The server sends headers once the subscription is live.
    await once(stream, 'metadata')

    const config = podConfig('ev')
    const pod = await runPod(h, config)
    const c = await runContainer(h, pod, config, containerConfig('c', { command: ['sleep', '60'] }))
    await h.runtime.StopContainer({ container_id: c, timeout: 0 })
    await h.runtime.RemoveContainer({ container_id: c })
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
    await eventually(() => (events.length >= 8 ? true : undefined), '8 events')
    stream.cancel()

    expect(events.map((e) => [e.container_event_type, e.container_id === pod ? 'pod' : 'c'])).toEqual([
      ['CONTAINER_CREATED_EVENT', 'pod'],
      ['CONTAINER_STARTED_EVENT', 'pod'],
      ['CONTAINER_CREATED_EVENT', 'c'],
      ['CONTAINER_STARTED_EVENT', 'c'],
      ['CONTAINER_STOPPED_EVENT', 'c'],
      ['CONTAINER_DELETED_EVENT', 'c'],
      ['CONTAINER_STOPPED_EVENT', 'pod'],
      ['CONTAINER_DELETED_EVENT', 'pod'],
    ])
    const started = events[3]!
    expect(started.pod_sandbox_status!.id).toBe(pod)
    expect(started.containers_statuses.map((s) => [s.id, s.state])).toEqual([[c, 'CONTAINER_RUNNING']])
    expect(events[4]!.containers_statuses[0]).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 137 })
    expect(BigInt(events[0]!.created_at)).toBeGreaterThan(0n)
    // The sandbox's own DELETED event has no status left to show.
    expect(events[7]!.pod_sandbox_status).toBeNull()
  })

  test('every open stream ends cleanly when the server closes', async () => {
    const stream = h.runtime.GetContainerEvents({})
    const ended = new Promise<string>((resolve) => {
      stream.on('end', () => resolve('end'))
      stream.on('error', (e) => resolve(`error ${String(e)}`))
    })
    stream.on('data', () => {})
    await once(stream, 'metadata')
    await h.fake.close()
    expect(await ended).toBe('end')
  })
})

// Malformed requests get a clear status and never crash the server or lose state.
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
let pod: string
beforeEach(async () => {
  h = await harness()
  pod = await runPod(h, podConfig('survivor'))
})
afterEach(() => h.close())

/** After every bad call, the server still answers and the pod is still there. */
async function stillHealthy(): Promise<void> {
  expect((await h.runtime.Version({ version: '' })).runtime_name).toBe('containerd')
  expect((await h.runtime.ListPodSandbox({ filter: null })).items.map((p) => p.id)).toEqual([pod])
}

describe('bad input', () => {
  test('missing fields are InvalidArgument', async () => {
    const cases: [string, Promise<unknown>][] = [
      ['RunPodSandbox without config', h.runtime.RunPodSandbox({})],
      ['CreateContainer without config', h.runtime.CreateContainer({ pod_sandbox_id: pod })],
      ['CreateContainer without sandbox id', h.runtime.CreateContainer({ config: containerConfig('x') })],
      ['CreateContainer without metadata', h.runtime.CreateContainer({ pod_sandbox_id: pod, config: { image: { image: 'busybox' } } })],
      ['CreateContainer without image', h.runtime.CreateContainer({ pod_sandbox_id: pod, config: { metadata: { name: 'x' } } })],
      ['StartContainer without id', h.runtime.StartContainer({})],
      ['ContainerStatus without id', h.runtime.ContainerStatus({})],
      ['PodSandboxStatus without id', h.runtime.PodSandboxStatus({})],
      ['StopPodSandbox without id', h.runtime.StopPodSandbox({})],
      ['ExecSync without id', h.runtime.ExecSync({ cmd: ['true'] })],
      [
        'CheckpointContainer without location',
        runContainer(h, pod, podConfig('survivor'), containerConfig('ck', { command: ['sleep', '60'] })).then((id) =>
          h.runtime.CheckpointContainer({ container_id: id }),
        ),
      ],
    ]
    for (const [what, call] of cases) {
      const err = await grpcError(call)
      expect(err.code, what).toBe(3)
      expect(err.details.length, what).toBeGreaterThan(10)
    }
    await stillHealthy()
  })

  test('invalid ids are InvalidArgument or NotFound, never a crash', async () => {
    expect((await grpcError(h.runtime.ContainerStatus({ container_id: 'x'.repeat(65) }))).code).toBe(3)
    // containerd's truncindex refuses a space only in an id it adds: as a lookup prefix it names nothing.
    expect((await grpcError(h.runtime.ContainerStatus({ container_id: 'has space' }))).code).toBe(5)
    expect((await grpcError(h.runtime.PodSandboxStatus({ pod_sandbox_id: '../../etc/passwd' }))).code).toBe(5)
    await stillHealthy()
  })

  test('invalid label selectors are InvalidArgument', async () => {
    const selectors: Record<string, string>[] = [{ '': 'x' }, { 'bad key!': 'x' }, { 'a/b/c': 'x' }, { ok: 'v'.repeat(64) }]
    for (const label_selector of selectors) {
      const err = await grpcError(h.runtime.ListPodSandbox({ filter: { label_selector } }))
      expect(err.code).toBe(3)
      expect(err.details).toMatch(/invalid label selector/)
      expect((await grpcError(h.runtime.ListContainers({ filter: { label_selector } }))).code).toBe(3)
    }
    // Real selectors keep working.
    expect(
      (await h.runtime.ListPodSandbox({ filter: { label_selector: { 'io.kubernetes.pod.name': 'x', app: 'survivor' } } })).items,
    ).toEqual([])
    await stillHealthy()
  })

  test('oversized strings are refused', async () => {
    const long = 'n'.repeat(300)
    const err = await grpcError(h.runtime.RunPodSandbox({ config: podConfig(long) }))
    expect(err.code).toBe(3)
    expect(err.details).toMatch(/limit is 253/)
    // Past containerd's 16 MiB message limit the transport itself refuses.
    const huge = await grpcError(
      h.runtime.RunPodSandbox({ config: podConfig('big', { annotations: { blob: 'x'.repeat(17 * 1024 * 1024) } }) }),
    )
    expect(huge.code).toBe(8) // ResourceExhausted
    await stillHealthy()
  })

  test('names with a slash are refused (they become file names)', async () => {
    expect((await grpcError(h.runtime.RunPodSandbox({ config: podConfig('a/b') }))).code).toBe(3)
    await stillHealthy()
  })

  test('negative timeouts are refused', async () => {
    const id = await runContainer(h, pod, podConfig('survivor'), containerConfig('t', { command: ['sleep', '60'] }))
    expect((await grpcError(h.runtime.StopContainer({ container_id: id, timeout: -1 }))).code).toBe(3)
    expect((await grpcError(h.runtime.ExecSync({ container_id: id, cmd: ['true'], timeout: -5 }))).code).toBe(3)
    expect((await h.runtime.ContainerStatus({ container_id: id })).status!.state).toBe('CONTAINER_RUNNING')
  })
})

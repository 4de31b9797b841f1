// The vitest fixture users import from 'fake-containerd/vitest', used as they would use it.
import { describe, expect, test } from '../../src/testing/vitest.js'

describe('fake-containerd/vitest', () => {
  test('gives a runtime with clients, faults and the call journal', async ({ containerd }) => {
    containerd.faults.use({ method: 'RunPodSandbox', times: 2, error: 'UNAVAILABLE' })
    const config = { metadata: { name: 'agent-pod', namespace: 'default', uid: 'u1' } }
    let id = ''
    // An agent that retries a flaky runtime.
    for (let attempt = 0; attempt < 5 && !id; attempt++) {
      id = await containerd.cri.runtime.RunPodSandbox({ config }).then(
        (r) => r.pod_sandbox_id,
        () => '',
      )
    }
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    expect(containerd.calls('RunPodSandbox')).toHaveLength(3)
    const k8s = containerd.ns('k8s.io')
    expect((await k8s.containers.List({ filters: [] })).containers.map((c) => c.id)).toEqual([id])
  })

  // Two tests at once, each with its own runtime: the same pod name does not collide.
  test.concurrent.for(['first', 'second'])('isolates parallel tests (%s)', async (which, { containerd, expect }) => {
    const config = { metadata: { name: 'same-name', namespace: 'default', uid: 'same-uid' }, labels: { which } }
    await containerd.cri.runtime.RunPodSandbox({ config })
    const { items } = await containerd.cri.runtime.ListPodSandbox({ filter: null })
    expect(items.map((p) => p.labels.which)).toEqual([which])
    expect(containerd.calls().map((c) => c.method)).toEqual(['RunPodSandbox', 'ListPodSandbox'])
  })

  test.override({ containerdOptions: { runtimeName: 'scoped-runtime' } })
  test('options can be set per file or suite', async ({ containerd }) => {
    expect((await containerd.cri.runtime.Version({ version: '' })).runtime_name).toBe('scoped-runtime')
  })
})

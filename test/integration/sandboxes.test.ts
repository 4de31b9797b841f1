import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

const status = async (id: string, verbose = false) => h.runtime.PodSandboxStatus({ pod_sandbox_id: id, verbose })

describe('RunPodSandbox', () => {
  test('runs a READY sandbox with metadata, labels, annotations, hostname-derived status and a pod IP', async () => {
    const config = podConfig('web', { annotations: { team: 'a' } })
    const id = await runPod(h, config)
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    const { status: s } = await status(id)
    expect(s).toMatchObject({
      id,
      metadata: { name: 'web', namespace: 'default', uid: 'uid-web', attempt: 0 },
      state: 'SANDBOX_READY',
      labels: { app: 'web' },
      annotations: { team: 'a' },
      runtime_handler: 'runc',
      network: { ip: '10.88.0.2' },
    })
    expect(BigInt(s!.created_at)).toBeGreaterThan(1_600_000_000_000_000_000n)
  })

  test('gives unique IPs while allocated, releases them on removal, and none to host-network pods', async () => {
    const a = await runPod(h, podConfig('a'))
    const b = await runPod(h, podConfig('b'))
    const ipOf = async (id: string) => (await status(id)).status!.network!.ip
    expect(await ipOf(a)).toBe('10.88.0.2')
    expect(await ipOf(b)).toBe('10.88.0.3')
    // Stopping tears the network down: containerd reports no address for a pod whose netns is closed.
    await h.runtime.StopPodSandbox({ pod_sandbox_id: a })
    expect(await ipOf(a)).toBe('')
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: a })
    // host-local hands addresses out round-robin: the next after the last, not the one given back.
    const c = await runPod(h, podConfig('c'))
    expect(await ipOf(c)).toBe('10.88.0.4')
    const host = await runPod(h, podConfig('host', { linux: { security_context: { namespace_options: { network: 'NODE' } } } }))
    expect(await ipOf(host)).toBe('')
  })

  test('a stopped pod gives its address back at once: a full range has room again before the pod is removed', async () => {
    const small = await harness({ podCidr: '10.66.0.0/29' })
    try {
      const ipOf = async (id: string) => (await small.runtime.PodSandboxStatus({ pod_sandbox_id: id })).status!.network!.ip
      const pods: string[] = []
      for (let i = 0; i < 5; i++) pods.push(await runPod(small, podConfig(`full-${i}`)))
      expect(await Promise.all(pods.map(ipOf))).toEqual(['10.66.0.2', '10.66.0.3', '10.66.0.4', '10.66.0.5', '10.66.0.6'])
      expect((await grpcError(runPod(small, podConfig('one-too-many')))).details).toMatch(/no IP addresses available in range set/)
      await small.runtime.StopPodSandbox({ pod_sandbox_id: pods[2]! })
      expect(await ipOf(await runPod(small, podConfig('after-stop')))).toBe('10.66.0.4')
    } finally {
      await small.close()
    }
  })

  test("status names the pod's network, PID and IPC modes, POD when the config names none (crictl inspectp prints them)", async () => {
    const plain = await runPod(h, podConfig('plain'))
    const modes = async (id: string) => (await status(id)).status!.linux!.namespaces!.options
    expect(await modes(plain)).toMatchObject({ network: 'POD', pid: 'POD', ipc: 'POD' })
    const host = await runPod(
      h,
      podConfig('hostpid', { linux: { security_context: { namespace_options: { network: 'NODE', pid: 'NODE' } } } }),
    )
    expect(await modes(host)).toMatchObject({ network: 'NODE', pid: 'NODE', ipc: 'POD' })
  })

  test('uses a configured pod CIDR', async () => {
    const other = await harness({ podCidr: '192.168.7.0/24' })
    try {
      const id = await runPod(other, podConfig())
      expect((await other.runtime.PodSandboxStatus({ pod_sandbox_id: id, verbose: false })).status!.network!.ip).toBe('192.168.7.2')
    } finally {
      await other.close()
    }
  })

  test('creates a pause container from the sandbox image, present and pinned', async () => {
    await runPod(h)
    const { images } = await h.image.ListImages({ filter: null })
    expect(images).toHaveLength(1)
    expect(images[0]).toMatchObject({ repo_tags: ['registry.k8s.io/pause:3.10'], pinned: true })
  })

  test('verbose status carries containerd-style info JSON with the pause process and the runtime spec', async () => {
    const id = await runPod(h, podConfig('verbose-pod'))
    const { info } = await status(id, true)
    const parsed = JSON.parse(info.info!)
    expect(parsed.pid).toBeGreaterThan(0)
    expect(parsed.runtimeType).toBe('io.containerd.runc.v2')
    expect(parsed.config.metadata.name).toBe('verbose-pod')
    expect(parsed.runtimeSpec.process.args).toEqual(['/pause'])
    expect(parsed.runtimeSpec.hostname).toBe('verbose-pod')
  })

  test("refuses a name that is already reserved, with containerd's text, and frees it on removal", async () => {
    const config = podConfig('dup')
    const first = await runPod(h, config)
    const err = await grpcError(h.runtime.RunPodSandbox({ config }))
    expect(err.code).toBe(2) // Unknown: containerd 1.6 to 2.2 return the registrar's plain error (2.3 says FailedPrecondition)
    expect(err.details).toBe(
      `failed to reserve sandbox name "dup_default_uid-dup_0": name "dup_default_uid-dup_0" is reserved for "${first}"`,
    )
    // A new attempt is a different name.
    await runPod(h, { ...config, metadata: { ...config.metadata!, attempt: 1 } })
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: first })
    await runPod(h, config)
  })

  test("refuses an unknown runtime handler with containerd's error and accepts configured ones", async () => {
    const err = await grpcError(h.runtime.RunPodSandbox({ config: podConfig(), runtime_handler: 'kata' }))
    expect(err.code).toBe(2)
    expect(err.details).toMatch(/^unable to get OCI runtime for sandbox "[0-9a-f]{64}": no runtime for "kata" is configured$/)
    const other = await harness({ runtimeHandlers: ['runc', 'kata'] })
    try {
      const id = (await other.runtime.RunPodSandbox({ config: podConfig(), runtime_handler: 'kata' })).pod_sandbox_id
      expect((await other.runtime.PodSandboxStatus({ pod_sandbox_id: id, verbose: false })).status!.runtime_handler).toBe('kata')
    } finally {
      await other.close()
    }
  })

  test('requires metadata', async () => {
    const err = await grpcError(h.runtime.RunPodSandbox({ config: { hostname: 'x' } }))
    expect(err.code).toBe(3)
    expect(err.details).toBe('sandbox config must include metadata')
  })
})

describe('ids', () => {
  test("a unique prefix resolves; an unknown id is NotFound with containerd's text", async () => {
    const id = await runPod(h)
    expect((await status(id.slice(0, 8))).status!.id).toBe(id)
    const err = await grpcError(status('0000000000'))
    expect(err.code).toBe(5)
    expect(err.details).toBe('an error occurred when try to find sandbox "0000000000": not found')
  })

  test('an ambiguous prefix is refused', async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => runPod(h, podConfig(`amb-${i}`))))
    // With 40 random ids, some pair shares its first hex digit.
    const first = ids.map((i) => i[0]!)
    const shared = first.find((c, i) => first.indexOf(c) !== i)!
    const err = await grpcError(status(shared))
    expect(err.code).toBe(2)
    expect(err.details).toBe(`an error occurred when try to find sandbox "${shared}": Multiple IDs found with provided prefix: ${shared}`)
  })
})

describe('ListPodSandbox', () => {
  test('filters by id prefix, state and label selector, as containerd does', async () => {
    const a = await runPod(h, podConfig('a', { labels: { app: 'web', tier: 'front' } }))
    const b = await runPod(h, podConfig('b', { labels: { app: 'web', tier: 'back' } }))
    await h.runtime.StopPodSandbox({ pod_sandbox_id: b })
    const list = async (filter: object | null) => (await h.runtime.ListPodSandbox({ filter })).items.map((p) => p.id).sort()
    expect(await list(null)).toEqual([a, b].sort())
    expect(await list({ id: a.slice(0, 10) })).toEqual([a])
    expect(await list({ id: 'ffffffffffffffffffffff' })).toEqual([])
    expect(await list({ state: { state: 'SANDBOX_READY' } })).toEqual([a])
    expect(await list({ state: { state: 'SANDBOX_NOTREADY' } })).toEqual([b])
    expect(await list({ label_selector: { app: 'web' } })).toEqual([a, b].sort())
    expect(await list({ label_selector: { app: 'web', tier: 'back' } })).toEqual([b])
    expect(await list({ label_selector: { app: 'db' } })).toEqual([])
  })
})

describe('StopPodSandbox and RemovePodSandbox', () => {
  test('stop makes the sandbox NOTREADY and kills its containers; remove deletes them all', async () => {
    const config = podConfig('stopme')
    const pod = await runPod(h, config)
    const c = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }))
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
    expect((await status(pod)).status!.state).toBe('SANDBOX_NOTREADY')
    const { status: cs } = await h.runtime.ContainerStatus({ container_id: c, verbose: false })
    expect(cs).toMatchObject({ state: 'CONTAINER_EXITED', exit_code: 137, reason: 'Error' })
    // Idempotent.
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
    expect((await h.runtime.ListPodSandbox({ filter: null })).items).toEqual([])
    expect((await h.runtime.ListContainers({ filter: null })).containers).toEqual([])
    expect((await grpcError(status(pod))).code).toBe(5)
  })

  test('remove force-stops a READY sandbox with running containers', async () => {
    const config = podConfig()
    const pod = await runPod(h, config)
    const c = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }))
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
    expect((await grpcError(h.runtime.ContainerStatus({ container_id: c, verbose: false }))).code).toBe(5)
  })

  test('stop and remove of an unknown sandbox succeed (CRI spec, containerd 2.x)', async () => {
    await h.runtime.StopPodSandbox({ pod_sandbox_id: 'abcdef0123' })
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: 'abcdef0123' })
  })

  test("CreateContainer and StartContainer in a stopped sandbox fail with containerd's text", async () => {
    const config = podConfig()
    const pod = await runPod(h, config)
    await h.image.PullImage({ image: { image: 'busybox' } })
    const created = (await h.runtime.CreateContainer({ pod_sandbox_id: pod, config: containerConfig('late'), sandbox_config: config }))
      .container_id
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
    const create = await grpcError(
      h.runtime.CreateContainer({ pod_sandbox_id: pod, config: containerConfig('later'), sandbox_config: config }),
    )
    expect(create.details).toBe(`sandbox container "${pod}" is not running`)
    const start = await grpcError(h.runtime.StartContainer({ container_id: created }))
    expect(start.details).toBe(`sandbox container "${pod}" is not running`)
  })

  test('UpdatePodSandboxResources is accepted for a known sandbox and NotFound for an unknown one', async () => {
    const pod = await runPod(h)
    await h.runtime.UpdatePodSandboxResources({ pod_sandbox_id: pod, resources: { cpu_shares: 512 } })
    expect((await grpcError(h.runtime.UpdatePodSandboxResources({ pod_sandbox_id: 'nope' }))).code).toBe(5)
  })
})

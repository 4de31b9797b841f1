// Fault injection over the socket: call faults, node faults, schedules, determinism, the journal.
import { once } from 'node:events'
import { Metadata } from '@grpc/grpc-js'
import { afterEach, describe, expect, test } from 'vitest'
import { containerdClients } from '../../src/client.js'
import { presets } from '../../src/faults/presets.js'
import { ociSpec } from '../containerd.js'
import type { FaultRule } from '../../src/faults/rule.js'
import { startFakeContainerd } from '../../src/server.js'
import { containerConfig, eventually, grpcError, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

const open: Harness[] = []
async function start(options: Parameters<typeof harness>[0] = {}): Promise<Harness> {
  const h = await harness(options)
  open.push(h)
  return h
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()))
})

describe('call faults', () => {
  test('an error fires `times` times, then calls go through; the journal shows each call and the fault', async () => {
    const h = await start()
    h.fake.faults.use({ method: 'RunPodSandbox', times: 2, error: 'UNAVAILABLE', message: 'runtime is restarting' })
    for (let i = 0; i < 2; i++) {
      const err = await grpcError(runPod(h, podConfig(`retry-${i}`)))
      expect([err.code, err.details]).toEqual([14, 'runtime is restarting'])
    }
    await runPod(h, podConfig('retry-ok'))
    const calls = h.fake.calls('RunPodSandbox')
    expect(calls.map((c) => c.status.code)).toEqual([14, 14, 0])
    expect(calls[0]!.fault).toMatchObject({ method: 'RunPodSandbox', error: 'UNAVAILABLE' })
    expect(calls[2]!.fault).toBeUndefined()
    expect((calls[0]!.request as { config: { metadata: { name: string } } }).config.metadata.name).toBe('retry-0')
    expect(calls[2]!.response).toMatchObject({ pod_sandbox_id: expect.stringMatching(/^[0-9a-f]{64}$/) })
  })

  test('errors carry trailing metadata; numeric codes work', async () => {
    const h = await start()
    h.fake.faults.use({ method: 'Version', error: 8, message: 'slow down', trailers: { 'retry-after': '3' } })
    const err = await grpcError(h.runtime.Version({ version: '' }))
    expect(err.code).toBe(8)
    expect((err.metadata as Metadata).get('retry-after')).toEqual(['3'])
  })

  test('after lets calls through first; newest rules win; once rules come back with restore()', async () => {
    const h = await start()
    h.fake.faults.use({ method: 'Version', after: 1, error: 'INTERNAL' })
    h.fake.faults.use({ method: 'Version', once: true, error: 'ABORTED' })
    expect(h.fake.faults.list().map((r) => (r as { error: string }).error)).toEqual(['ABORTED', 'INTERNAL'])
    const codes = async (n: number) => {
      const out: number[] = []
      for (let i = 0; i < n; i++)
        out.push(
          await h.runtime.Version({ version: '' }).then(
            () => 0,
            (e: { code: number }) => e.code,
          ),
        )
      return out
    }
    // once fires first; the INTERNAL rule's first match is let through, then it fires every time.
    expect(await codes(3)).toEqual([10, 0, 13])
    h.fake.faults.restore()
    expect(await codes(1)).toEqual([10])
    h.fake.faults.reset()
    expect(await codes(2)).toEqual([0, 0])
  })

  test('rules match on service, namespace, names, labels and request fields', async () => {
    const h = await start()
    h.fake.faults.use({ method: 'RunPodSandbox', match: { name: 'web-*', labels: { tier: 'front' } }, error: 'RESOURCE_EXHAUSTED' })
    h.fake.faults.use({
      service: 'ImageService',
      method: 'PullImage',
      match: { request: { 'image.image': '*nginx*' } },
      error: 'NOT_FOUND',
    })
    h.fake.faults.use({ service: 'containerd.services.*', namespace: 'blocked', error: 'PERMISSION_DENIED' })
    expect((await grpcError(runPod(h, podConfig('web-1', { labels: { tier: 'front' } })))).code).toBe(8)
    await runPod(h, podConfig('web-2', { labels: { tier: 'back' } }))
    await runPod(h, podConfig('api-1', { labels: { tier: 'front' } }))
    expect((await grpcError(h.image.PullImage({ image: { image: 'nginx' } }))).code).toBe(5)
    await h.image.PullImage({ image: { image: 'busybox' } })
    const { containerdClients } = await import('../../src/client.js')
    const blocked = containerdClients(h.fake.address, 'blocked')
    const fine = containerdClients(h.fake.address, 'fine')
    try {
      expect((await grpcError(blocked.containers.List({ filters: [] }))).code).toBe(7)
      expect((await fine.containers.List({ filters: [] })).containers).toEqual([])
    } finally {
      blocked.close()
      fine.close()
    }
  })

  test('hang waits for the client deadline; delay longer than the deadline times out too', async () => {
    const h = await start()
    h.fake.faults.use(presets.hang('ListPodSandbox'))
    h.fake.faults.use({ method: 'ListContainers', delay: 60_000 })
    expect((await grpcError(h.runtime.ListPodSandbox({ filter: null }, { deadline: 200 }))).code).toBe(4)
    expect((await grpcError(h.runtime.ListContainers({ filter: null }, { deadline: 200 }))).code).toBe(4)
    await eventually(() => (h.fake.calls('ListPodSandbox').length === 1 ? true : undefined), 'the hung call to be journaled')
    expect(h.fake.calls('ListPodSandbox')[0]!.fault).toMatchObject({ hang: true })
  })

  test('a short delay still answers', async () => {
    const h = await start()
    h.fake.faults.use({ method: 'Version', delay: { min: 1, max: 5 } })
    expect((await h.runtime.Version({ version: '' })).runtime_name).toBe('containerd')
  })

  test('drop resets the connection; the client sees UNAVAILABLE and the next call works', async () => {
    const h = await start()
    h.fake.faults.use(presets.dropConnection('Status'))
    expect((await grpcError(h.runtime.Status({ verbose: false }))).code).toBe(14)
    expect((await h.runtime.Status({ verbose: false })).status!.conditions.length).toBeGreaterThanOrEqual(2)
  })

  test('truncated and slowed streams', async () => {
    const h = await start()
    h.fake.faults.use(...presets.truncatedEvents(2))
    const stream = h.runtime.GetContainerEvents({})
    const got: string[] = []
    stream.on('data', (e: { container_event_type: string }) => got.push(e.container_event_type))
    await once(stream, 'metadata')
    await runPod(h, podConfig('trunc'))
    await once(stream, 'end')
    expect(got).toEqual(['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT'])

    h.fake.faults.use({ method: 'StreamPodSandboxes', streamDelay: 5 })
    const messages: unknown[] = []
    for await (const m of h.runtime.StreamPodSandboxes({ filter: null })) messages.push(m)
    expect(messages).toHaveLength(1)
    expect(h.fake.calls('StreamPodSandboxes')[0]).toMatchObject({ messages: 1, fault: { streamDelay: 5 } })
  })

  test('a probability draws on the seed: the same seed fires the same calls', async () => {
    const pattern = async (seed: number) => {
      const h = await start({ seed, faults: [{ method: 'Version', probability: 0.5, error: 'UNAVAILABLE' }] })
      const out: number[] = []
      for (let i = 0; i < 24; i++)
        out.push(
          await h.runtime.Version({ version: '' }).then(
            () => 0,
            (e: { code: number }) => e.code,
          ),
        )
      return out.join('')
    }
    const a = await pattern(42)
    expect(await pattern(42)).toBe(a)
    expect(a).toMatch(/0/)
    expect(a).toMatch(/14/)
    expect(await pattern(7)).not.toBe(a)
  })

  test('a time window: a rule whose window has not opened does not fire', async () => {
    const h = await start()
    h.fake.faults.use({ method: 'Version', from: 3_600_000, error: 'UNAVAILABLE' })
    h.fake.faults.use({ method: 'Status', until: new Date(Date.now() - 1000).toISOString(), error: 'UNAVAILABLE' })
    await h.runtime.Version({ version: '' })
    await h.runtime.Status({ verbose: false })
  })

  test('bad rules are refused with a sentence that says what is wrong', () => {
    return start().then((h) => {
      expect(() => h.fake.faults.use({ method: 'Version' } as FaultRule)).toThrow(/needs an effect/)
      expect(() => h.fake.faults.use({ method: 'Version', error: 'NOPE' })).toThrow(/unknown gRPC status "NOPE"/)
      expect(() => h.fake.faults.use({ method: 'Version', error: 'UNAVAILABLE', times: 0 })).toThrow(/times must be/)
      expect(() => h.fake.faults.use({ kind: 'meltdown' } as unknown as FaultRule)).toThrow(/kind must be one of/)
    })
  })
})

describe('rules are checked where they enter the library', () => {
  test('each kind of mistake is refused by use() with the field and a suggestion', async () => {
    const h = await start()
    const use = (rule: unknown) => () => h.fake.faults.use(rule as FaultRule)
    expect(use({ method: 'PulImage', error: 'UNAVAILABLE' })).toThrow(
      'faults[0].method: no RPC is named "PulImage"; did you mean PullImage?',
    )
    expect(use({ method: 'Version', eror: 'UNAVAILABLE' })).toThrow('faults[0].eror is not a field of a call fault; did you mean error?')
    expect(use({ method: 'Version', error: 14, times: '2' })).toThrow('faults[0].times must be a whole number of at least 1, not "2"')
    expect(use({ method: 'Version', error: 14, match: 'x' })).toThrow('faults[0].match must be an object, not "x"')
    expect(use({ method: 'Version', delay: 'fast' })).toThrow('faults[0].delay must be a number of milliseconds or { min, max }')
    expect(use({ method: 'Version', error: 14, exitCode: 1 })).toThrow(
      'faults[0].exitCode is for crash faults; a call fault has no exitCode',
    )
    expect(use({ kind: 'crash', hang: true })).toThrow('faults[0].hang is for call faults; a crash fault has no hang')
    expect(use({ service: 'ImageService', method: 'Version', error: 14 })).toThrow('ImageService has no RPC named "Version"')
    expect(h.fake.faults.list()).toEqual([])
    await h.runtime.Version({ version: '' })
  })

  test('a batch with one bad rule adds none; a bad reset() keeps the rules there were', async () => {
    const h = await start()
    h.fake.faults.use({ method: 'Status', error: 'INTERNAL' })
    const before = h.fake.faults.list()
    expect(() =>
      h.fake.faults.use(
        { method: 'Version', error: 'UNAVAILABLE' },
        { method: 'Version', error: 'UNAVAILABLE', times: 'twice' } as unknown as FaultRule,
        { method: 'ListImages', error: 'UNAVAILABLE' },
      ),
    ).toThrow('faults[1].times must be a whole number of at least 1, not "twice"')
    expect(h.fake.faults.list()).toEqual(before)
    await h.runtime.Version({ version: '' })
    expect(() => h.fake.faults.reset({ method: 'Version', error: 14 }, { method: 'Versoin', error: 14 })).toThrow(
      'faults[1].method: no RPC is named "Versoin"; did you mean Version?',
    )
    expect(h.fake.faults.list()).toEqual(before)
    expect((await grpcError(h.runtime.Status({ verbose: false }))).code).toBe(13)
  })

  test('the faults option is checked before the server starts', async () => {
    await expect(
      startFakeContainerd({ faults: [{ method: 'Version', error: 14 }, { kind: 'oom', exitCode: 1 } as FaultRule] }),
    ).rejects.toThrow('options.faults has an invalid rule: faults[1].exitCode is for crash faults; an oom fault has no exitCode')
  })
})

describe('node faults', () => {
  test('crash: matching containers exit with the code, every attempt (a crash loop)', async () => {
    const h = await start()
    h.fake.faults.use(presets.crashLoop({ name: 'flaky' }, 3, 10))
    const config = podConfig('crashing')
    const pod = await runPod(h, config)
    for (const attempt of [0, 1]) {
      const id = await runContainer(
        h,
        pod,
        config,
        containerConfig('flaky', { metadata: { name: 'flaky', attempt }, command: ['sleep', '3600'] }),
      )
      expect(await waitForState(h, id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 3, reason: 'Error' })
    }
    // The journal shows the node fault with the call it fired in.
    expect(h.fake.calls('StartContainer')[0]!.nodeFaults).toEqual([{ kind: 'crash', match: { name: 'flaky' }, exitCode: 3, afterMs: 10 }])
    const healthy = await runContainer(h, pod, config, containerConfig('healthy', { command: ['sleep', '3600'] }))
    expect((await h.runtime.ContainerStatus({ container_id: healthy })).status!.state).toBe('CONTAINER_RUNNING')
  })

  test('oom: killed with 137 and reason OOMKilled', async () => {
    const h = await start()
    h.fake.faults.use(presets.oomKill({ name: 'hungry' }, 5))
    const config = podConfig('oom')
    const pod = await runPod(h, config)
    const id = await runContainer(h, pod, config, containerConfig('hungry', { command: ['sleep', '3600'] }))
    expect(await waitForState(h, id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 137, reason: 'OOMKilled' })
  })

  test('a node fault strikes a container whichever API starts it: CRI, or containerd’s Tasks', async () => {
    const h = await start()
    h.fake.faults.use(presets.crashLoop({ labels: { tier: 'flaky' } }, 7, 10), presets.oomKill({ name: 'hog' }, 5))
    const ctr = containerdClients(h.fake.address, 'default')
    try {
      const viaContainerd = async (id: string, labels: Record<string, string>): Promise<{ exit_status: number }> => {
        await ctr.containers.Create({
          container: {
            id,
            image: 'docker.io/library/busybox:latest',
            labels,
            runtime: { name: 'io.containerd.runc.v2' },
            spec: ociSpec(['sleep', '3600']),
          },
        })
        await ctr.tasks.Create({ container_id: id })
        const waiting = ctr.tasks.Wait({ container_id: id })
        await ctr.tasks.Start({ container_id: id })
        return waiting
      }
      // The same rules, through containerd's API: the label picks the crash, the id (a name) the OOM.
      expect((await viaContainerd('crashing', { tier: 'flaky' })).exit_status).toBe(7)
      expect((await viaContainerd('hog', {})).exit_status).toBe(137)
      expect((await ctr.tasks.Get({ container_id: 'hog' })).process).toMatchObject({ status: 'STOPPED', exit_status: 137 })
      expect(h.fake.calls('Start').map((c) => (c.nodeFaults ?? []).map((f) => (f as FaultRule).kind))).toEqual([['crash'], ['oom']])
      // And through CRI.
      const config = podConfig('both-apis')
      const pod = await runPod(h, config)
      const flaky = await runContainer(h, pod, config, containerConfig('web', { labels: { tier: 'flaky' }, command: ['sleep', '3600'] }))
      expect(await waitForState(h, flaky, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 7, reason: 'Error' })
      const hog = await runContainer(h, pod, config, containerConfig('hog', { command: ['sleep', '3600'] }))
      expect(await waitForState(h, hog, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 137, reason: 'OOMKilled' })
      // Containers no rule matches run on, whichever API made them.
      await ctr.containers.Create({
        container: {
          id: 'steady',
          image: 'docker.io/library/busybox:latest',
          runtime: { name: 'io.containerd.runc.v2' },
          spec: ociSpec(['sleep', '3600']),
        },
      })
      await ctr.tasks.Create({ container_id: 'steady' })
      await ctr.tasks.Start({ container_id: 'steady' })
      expect((await ctr.tasks.Get({ container_id: 'steady' })).process!.status).toBe('RUNNING')
    } finally {
      ctr.close()
    }
  })

  test('pull failures as kubelet sees them: not found, unauthorized, registry unavailable, and slow pulls that finish', async () => {
    const h = await start()
    h.fake.faults.use(presets.imageNotFound('*/library/nginx:*'))
    h.fake.faults.use(presets.pullUnauthorized('*/library/alpine:*'))
    h.fake.faults.use(presets.registryUnavailable('registry.k8s.io/*'))
    h.fake.faults.use(presets.slowPull(20, '*/library/busybox:*'))
    const notFound = await grpcError(h.image.PullImage({ image: { image: 'nginx' } }))
    expect([notFound.code, notFound.details]).toEqual([
      5,
      'failed to pull and unpack image "docker.io/library/nginx:latest": failed to resolve reference "docker.io/library/nginx:latest": docker.io/library/nginx:latest: not found',
    ])
    expect((await grpcError(h.image.PullImage({ image: { image: 'alpine:3.20' } }))).details).toContain('pull access denied')
    const down = await grpcError(h.image.PullImage({ image: { image: 'registry.k8s.io/pause:3.10' } }))
    expect(down.details).toContain('dial tcp: lookup registry.k8s.io: no such host')
    // The sandbox image is pulled by RunPodSandbox: the registry being down fails the pod too.
    expect((await grpcError(runPod(h, podConfig('no-registry')))).details).toContain('no such host')
    expect((await h.image.PullImage({ image: { image: 'busybox' } })).image_ref).toMatch(/^sha256:/)
    // Each call's journal entry names the node fault that fired in it, the pod's pause pull too.
    expect(h.fake.calls('PullImage').map((c) => (c.nodeFaults as { pull: string }[] | undefined)?.map((f) => f.pull))).toEqual([
      ['notFound'],
      ['unauthorized'],
      ['unavailable'],
      ['slow'],
    ])
    expect(h.fake.calls('RunPodSandbox')[0]!.nodeFaults).toEqual([presets.registryUnavailable('registry.k8s.io/*')])
  })

  test('sandbox network setup failure, as a CNI plugin fails it', async () => {
    const h = await start()
    h.fake.faults.use(presets.cniFailure('failed to set bridge addr: could not add IP address to "cni0": permission denied'))
    const err = await grpcError(runPod(h, podConfig('no-net')))
    expect(err.code).toBe(2)
    expect(err.details).toMatch(
      /^failed to setup network for sandbox "[0-9a-f]{64}": plugin type="bridge" name="fake-containerd" failed \(add\): failed to set bridge addr/,
    )
    expect((await h.runtime.ListPodSandbox({ filter: null })).items).toEqual([])
    // Host-network pods need no CNI.
    await runPod(h, podConfig('host', { linux: { security_context: { namespace_options: { network: 'NODE' } } } }))
    expect(h.fake.calls('RunPodSandbox').map((c) => c.nodeFaults?.length ?? 0)).toEqual([1, 0])
  })

  test('runtime and network not ready in Status, and recovery', async () => {
    const h = await start()
    h.fake.faults.use(presets.networkNotReady(), presets.runtimeNotReady('containerd is starting'))
    const conditions = async () =>
      Object.fromEntries(
        (await h.runtime.Status({ verbose: false })).status!.conditions.map((c) => [c.type, [c.status, c.reason, c.message]]),
      )
    expect(await conditions()).toMatchObject({
      RuntimeReady: [false, 'RuntimeNotReady', 'containerd is starting'],
      NetworkReady: [false, 'NetworkPluginNotReady', 'Network plugin returns error: cni plugin not initialized'],
    })
    h.fake.faults.reset()
    expect(await conditions()).toMatchObject({ RuntimeReady: [true, '', ''], NetworkReady: [true, '', ''] })
  })

  test('image filesystem full', async () => {
    const h = await start()
    h.fake.faults.use(presets.imageFsFull())
    expect(BigInt((await h.image.ImageFsInfo({})).image_filesystems[0]!.used_bytes!.value)).toBeGreaterThan(99n * 1024n ** 3n)
  })
})

describe('journal', () => {
  test('is a bounded ring buffer, filterable and clearable', async () => {
    const h = await start({ journalSize: 5 })
    for (let i = 0; i < 8; i++) await h.runtime.Version({ version: '' })
    await h.runtime.Status({ verbose: false })
    expect(h.fake.journal.entries()).toHaveLength(5)
    expect(h.fake.journal.methods()).toEqual(['Version', 'Version', 'Version', 'Version', 'Status'])
    expect(h.fake.calls('Status')).toHaveLength(1)
    expect(h.fake.journal.entries({ service: 'RuntimeService', method: 'Version' })).toHaveLength(4)
    const mark = h.fake.journal.last
    await h.runtime.Version({ version: '' })
    expect(h.fake.journal.methods({ since: mark })).toEqual(['Version'])
    h.fake.journal.clear()
    expect(h.fake.calls()).toEqual([])
  })
})

describe('state', () => {
  test('reset() empties the node and drops run-time rules; snapshot() and restore() bring a node back', async () => {
    const h = await start()
    const config = podConfig('saved')
    const pod = await runPod(h, config)
    await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }))
    const saved = h.fake.snapshot()
    h.fake.faults.use({ method: 'Version', error: 'UNAVAILABLE' })
    h.fake.reset()
    await h.runtime.Version({ version: '' })
    expect((await h.runtime.ListPodSandbox({ filter: null })).items).toEqual([])
    h.fake.restore(saved)
    expect((await h.runtime.ListPodSandbox({ filter: null })).items.map((p) => p.id)).toEqual([pod])
    expect((await h.runtime.ListContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } })).containers).toHaveLength(1)
  })

  test('restart() with a state file loses nothing; faults and the journal carry over', async () => {
    const { mkdtempSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { tmpdir } = await import('node:os')
    const h = await start({ state: join(mkdtempSync(join(tmpdir(), 'fc-restart-')), 'state.json') })
    const config = podConfig('survivor')
    const pod = await runPod(h, config)
    const c = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }))
    h.fake.faults.use({ method: 'Status', error: 'UNAVAILABLE' })
    await h.fake.restart()
    expect((await h.runtime.ContainerStatus({ container_id: c })).status!.state).toBe('CONTAINER_RUNNING')
    expect((await grpcError(h.runtime.Status({ verbose: false }))).code).toBe(14)
    expect(h.fake.calls('RunPodSandbox')).toHaveLength(1)
  })
})

describe('simulated clock', () => {
  test('advancing it makes sleep 3600 finish now; frozen, it does not move by itself', async () => {
    const h = await start()
    const config = podConfig('clock')
    const pod = await runPod(h, config)
    h.fake.clock.freeze(true)
    const id = await runContainer(h, pod, config, containerConfig('sleeper', { command: ['sh', '-c', 'sleep 3600; exit 4'] }))
    expect((await h.runtime.ContainerStatus({ container_id: id })).status!.state).toBe('CONTAINER_RUNNING')
    h.fake.clock.advance(3_600_000)
    expect(await waitForState(h, id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 4 })
  })
})

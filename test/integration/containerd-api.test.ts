// containerd's own API over the socket: namespaces, containers, images, events, tasks, and the
// one state they share with CRI.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import type { Envelope__Output } from '../../src/generated/containerd/types/Envelope.js'
import { ociSpec as spec } from '../containerd.js'
import { containerConfig, eventually, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
let ctr: ContainerdClients
beforeEach(async () => {
  h = await harness()
  ctr = containerdClients(h.fake.address, 'default')
})
afterEach(async () => {
  ctr.close()
  await h.close()
})

const createContainer = (id: string, args = ['sleep', '3600'], labels: Record<string, string> = {}) =>
  ctr.containers.Create({
    container: {
      id,
      image: 'docker.io/library/busybox:latest',
      labels,
      runtime: { name: 'io.containerd.runc.v2' },
      spec: spec(args),
      snapshotter: 'overlayfs',
      snapshot_key: id,
    },
  })

describe('metadata', () => {
  test('a call without a namespace is FailedPrecondition; an invalid one InvalidArgument', async () => {
    const noNs = await grpcError(ctr.containers.List({ filters: [] }, { metadata: { 'containerd-namespace': '' } }))
    expect([noNs.code, noNs.details]).toEqual([9, 'namespace is required: failed precondition'])
    const bad = await grpcError(ctr.containers.List({ filters: [] }, { metadata: { 'containerd-namespace': 'bad name!' } }))
    expect(bad.code).toBe(3)
    expect(bad.details).toMatch(/^namespace validation: identifier "bad name!" must match/)
  })
})

describe('Version, Introspection, Health', () => {
  test('answer like a containerd 2.x with CRI', async () => {
    expect((await ctr.version.Version({})).version).toContain('fake-containerd')
    const { plugins } = await ctr.introspection.Plugins({ filters: [] })
    expect(plugins.map((p) => `${p.type}.${p.id}`)).toEqual(
      expect.arrayContaining(['io.containerd.grpc.v1.cri', 'io.containerd.snapshotter.v1.overlayfs']),
    )
    expect(plugins.every((p) => p.init_err === null)).toBe(true)
    expect((await ctr.introspection.Plugins({ filters: ['type==io.containerd.snapshotter.v1'] })).plugins.map((p) => p.id).sort()).toEqual([
      'native',
      'overlayfs',
    ])
    const a = await ctr.introspection.Server({})
    expect(a.uuid).toMatch(/^[0-9a-f-]{36}$/)
    expect((await ctr.introspection.Server({})).uuid).toBe(a.uuid)
    expect((await ctr.health.Check({ service: '' })).status).toBe('SERVING')
  })
})

describe('Namespaces', () => {
  test('create, label, list, get, delete; implicit creation; non-empty refused', async () => {
    await ctr.namespaces.Create({ namespace: { name: 'team-a', labels: { owner: 'me' } } })
    expect((await grpcError(ctr.namespaces.Create({ namespace: { name: 'team-a' } }))).details).toBe('namespace "team-a": already exists')
    await ctr.namespaces.Update({ namespace: { name: 'team-a', labels: { env: 'dev' } }, update_mask: { paths: ['labels.env'] } })
    expect((await ctr.namespaces.Get({ name: 'team-a' })).namespace!.labels).toEqual({ owner: 'me', env: 'dev' })
    await createContainer('c1')
    expect((await ctr.namespaces.List({})).namespaces.map((n) => n.name).sort()).toEqual(['default', 'team-a'])
    const busy = await grpcError(ctr.namespaces.Delete({ name: 'default' }))
    expect([busy.code, busy.details]).toEqual([9, 'namespace "default" must be empty, but it still has containers: failed precondition'])
    await ctr.namespaces.Delete({ name: 'team-a' })
    // As containerd: a namespace that holds nothing is there with no labels (the Go client's New asks).
    expect((await ctr.namespaces.Get({ name: 'team-a' })).namespace).toEqual({ name: 'team-a', labels: {} })
    expect((await ctr.namespaces.List({})).namespaces.map((n) => n.name)).not.toContain('team-a')
    const whole = await grpcError(ctr.namespaces.Update({ namespace: { name: 'team-a', labels: {} }, update_mask: { paths: ['labels'] } }))
    expect([whole.code, whole.details]).toEqual([3, 'cannot update "labels" field'])
    // Setting a label makes the namespace, as containerd's label bucket does.
    await ctr.namespaces.Update({ namespace: { name: 'team-b', labels: { a: '1' } }, update_mask: { paths: ['labels.a'] } })
    expect((await ctr.namespaces.List({})).namespaces).toContainEqual({ name: 'team-b', labels: { a: '1' } })
    expect((await grpcError(ctr.namespaces.Create({ namespace: { name: '-bad' } }))).code).toBe(3)
  })
})

describe('Containers', () => {
  test('create, get, list with filters, update with masks, delete', async () => {
    await createContainer('web', ['sleep', '1'], { app: 'web', 'io.example/tier': 'front' })
    await createContainer('db', ['sleep', '1'], { app: 'db' })
    const got = (await ctr.containers.Get({ id: 'web' })).container!
    expect(got).toMatchObject({
      id: 'web',
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      snapshotter: 'overlayfs',
    })
    expect(JSON.parse(got.spec!.value.toString()).process.args).toEqual(['sleep', '1'])
    const ids = async (filters: string[]) => (await ctr.containers.List({ filters })).containers.map((c) => c.id).sort()
    expect(await ids([])).toEqual(['db', 'web'])
    expect(await ids(['labels.app==web'])).toEqual(['web'])
    expect(await ids(['labels."io.example/tier"==front'])).toEqual(['web'])
    expect(await ids(['id~=^d'])).toEqual(['db'])
    expect(await ids(['labels.app==web', 'labels.app==db'])).toEqual(['db', 'web'])
    expect(await ids(['image==docker.io/library/busybox:latest,labels.app!=web'])).toEqual(['db'])
    expect((await grpcError(ctr.containers.List({ filters: ['labels.app=='] }))).code).toBe(3)
    const streamed: string[] = []
    for await (const m of ctr.containers.ListStream({ filters: ['labels.app'] })) streamed.push(m.container!.id)
    expect(streamed.sort()).toEqual(['db', 'web'])

    await ctr.containers.Update({ container: { id: 'web', labels: { app: 'web2' } }, update_mask: { paths: ['labels.app'] } })
    expect((await ctr.containers.Get({ id: 'web' })).container!.labels).toEqual({ app: 'web2', 'io.example/tier': 'front' })
    const immutable = await grpcError(
      ctr.containers.Update({ container: { id: 'web', runtime: { name: 'other' } }, update_mask: { paths: ['labels'] } }),
    )
    expect(immutable.details).toBe('container.Runtime.Name field is immutable: invalid argument')
    expect((await grpcError(ctr.containers.Update({ container: { id: 'web' }, update_mask: { paths: ['runtime'] } }))).code).toBe(3)

    await ctr.containers.Delete({ id: 'db' })
    const gone = await grpcError(ctr.containers.Get({ id: 'db' }))
    expect([gone.code, gone.details]).toEqual([5, 'container "db" in namespace "default": not found'])
  })

  test('creation is validated as containerd validates it', async () => {
    await createContainer('dup')
    expect((await grpcError(createContainer('dup'))).details).toBe('container "dup": already exists')
    const noRuntime = await grpcError(ctr.containers.Create({ container: { id: 'x', spec: spec(['true']) } }))
    expect(noRuntime.details).toContain('container.Runtime.Name must be set')
    const noSpec = await grpcError(ctr.containers.Create({ container: { id: 'x', runtime: { name: 'io.containerd.runc.v2' } } }))
    expect(noSpec.details).toContain('container.Spec must be set')
    const badSpec = await grpcError(
      ctr.containers.Create({
        container: { id: 'x', runtime: { name: 'io.containerd.runc.v2' }, spec: { type_url: 'x', value: Buffer.from([0xff, 0x00]) } },
      }),
    )
    expect(badSpec.code).toBe(3)
    expect(
      (await grpcError(ctr.containers.Create({ container: { id: 'bad id', runtime: { name: 'r' }, spec: spec(['true']) } }))).code,
    ).toBe(3)
  })

  test('namespaces isolate containers', async () => {
    await createContainer('iso')
    const other = containerdClients(h.fake.address, 'other')
    try {
      expect((await other.containers.List({ filters: [] })).containers).toEqual([])
      expect((await grpcError(other.containers.Get({ id: 'iso' }))).code).toBe(5)
    } finally {
      other.close()
    }
  })
})

describe('Images', () => {
  const target = { media_type: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 500 }
  test('create, get, list with filters, update, delete', async () => {
    await ctr.images.Create({ image: { name: 'example.com/app:1', labels: { team: 'a' }, target } })
    expect((await grpcError(ctr.images.Create({ image: { name: 'example.com/app:1', target } }))).details).toBe(
      'image "example.com/app:1": already exists',
    )
    expect((await ctr.images.Get({ name: 'example.com/app:1' })).image).toMatchObject({
      name: 'example.com/app:1',
      target: { digest: target.digest, size: '500' },
    })
    expect((await ctr.images.List({ filters: ['labels.team==a'] })).images).toHaveLength(1)
    expect((await ctr.images.List({ filters: [`target.digest==${target.digest}`] })).images).toHaveLength(1)
    expect((await ctr.images.List({ filters: ['name~=^other'] })).images).toHaveLength(0)
    await ctr.images.Update({ image: { name: 'example.com/app:1', labels: { team: 'b' } }, update_mask: { paths: ['labels'] } })
    expect((await ctr.images.Get({ name: 'example.com/app:1' })).image!.labels).toEqual({ team: 'b' })
    await ctr.images.Delete({ name: 'example.com/app:1', sync: true })
    expect((await grpcError(ctr.images.Get({ name: 'example.com/app:1' }))).details).toBe('image "example.com/app:1": not found')
  })

  test('validation and target checks', async () => {
    expect((await grpcError(ctr.images.Create({ image: { name: '', target } }))).details).toBe(
      'image name must not be empty: invalid argument',
    )
    expect((await grpcError(ctr.images.Create({ image: { name: 'x', target: { ...target, size: 0 } } }))).details).toBe(
      'target.Size must be greater than zero: invalid argument',
    )
    expect((await grpcError(ctr.images.Create({ image: { name: 'x', target: { ...target, media_type: '' } } }))).details).toBe(
      'target.MediaType must be set: invalid argument',
    )
    expect((await grpcError(ctr.images.Create({ image: { name: 'x', target: { ...target, digest: 'sha256:nope' } } }))).code).toBe(3)
    await ctr.images.Create({ image: { name: 'x', target } })
    const wrong = await grpcError(ctr.images.Delete({ name: 'x', target: { ...target, digest: `sha256:${'b'.repeat(64)}` } }))
    expect(wrong.code).toBe(5)
  })

  test('CRI pulls show as containerd image records in k8s.io, with their manifest and config in the content store', async () => {
    await h.image.PullImage({ image: { image: 'busybox' } })
    const k8s = containerdClients(h.fake.address, 'k8s.io')
    try {
      const names = (await k8s.images.List({ filters: [] })).images.map((i) => i.name).sort()
      expect(names).toHaveLength(3)
      expect(names[0]).toBe('docker.io/library/busybox:latest')
      expect(names[1]).toMatch(/^docker\.io\/library\/busybox@sha256:/)
      expect(names[2]).toMatch(/^sha256:/)
      const image = (await k8s.images.Get({ name: 'docker.io/library/busybox:latest' })).image!
      expect(image.labels).toEqual({ 'io.cri-containerd.image': 'managed' })
      // Removing through containerd removes it from CRI's view too.
      for (const name of names) await k8s.images.Delete({ name, sync: false })
      expect((await h.image.ListImages({ filter: null })).images).toEqual([])
    } finally {
      k8s.close()
    }
  })
})

describe('--state', () => {
  test('content blobs persist next to the state file and are back after a restart', async () => {
    const state = join(h.logDir, 'state.json')
    const first = await harness({ state })
    const a = containerdClients(first.fake.address, 'default')
    const data = Buffer.from('persisted blob')
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
    const call = a.content.Write()
    const committed = new Promise((resolve, reject) => {
      call.on('data', (r: { action: string }) => r.action === 'COMMIT' && resolve(r))
      call.on('error', reject)
    })
    call.write({ action: 'COMMIT', ref: 'persist', total: data.length, expected: digest, data, labels: { 'containerd.io/gc.root': 'yes' } })
    await committed
    call.end()
    a.close()
    await first.close()
    expect(readFileSync(join(`${state}.blobs`, 'sha256', digest.slice(7))).toString()).toBe('persisted blob')
    const second = await harness({ state })
    const b = containerdClients(second.fake.address, 'default')
    try {
      const chunks: Buffer[] = []
      for await (const m of b.content.Read({ digest, offset: 0, size: 0 })) chunks.push(m.data)
      expect(Buffer.concat(chunks).toString()).toBe('persisted blob')
    } finally {
      b.close()
      await second.close()
    }
  })
})

describe('Events', () => {
  test('Subscribe sees containerd and CRI operations, filtered; Publish and Forward reach subscribers', async () => {
    const events: Envelope__Output[] = []
    const stream = ctr.events.Subscribe({ filters: ['topic~=^/(containers|tasks)/', 'namespace==custom'] })
    stream.on('data', (e: Envelope__Output) => events.push(e))
    stream.on('error', () => {})
    await new Promise((r) => stream.once('metadata', r))
    await createContainer('ev')
    await ctr.containers.Delete({ id: 'ev' })
    await ctr.events.Publish(
      { topic: '/custom/thing', event: { type_url: 'example.Thing', value: Buffer.from('x') } },
      { metadata: { 'containerd-namespace': 'custom' } },
    )
    await ctr.events.Forward({
      envelope: {
        namespace: 'custom',
        topic: '/forwarded',
        timestamp: { seconds: 1, nanos: 0 },
        event: { type_url: 'example.F', value: Buffer.from('y') },
      },
    })
    await eventually(() => (events.length >= 4 ? true : undefined), '4 events')
    stream.cancel()
    expect(events.map((e) => [e.namespace, e.topic])).toEqual([
      ['default', '/containers/create'],
      ['default', '/containers/delete'],
      ['custom', '/custom/thing'],
      ['custom', '/forwarded'],
    ])
    expect(events[0]!.event!.type_url).toBe('containerd.events.ContainerCreate')
    expect(events[2]!.event).toMatchObject({ type_url: 'example.Thing', value: Buffer.from('x') })
  })

  test('topics are validated', async () => {
    for (const topic of ['', 'no-slash', '/', '/bad component']) {
      expect((await grpcError(ctr.events.Publish({ topic, event: { type_url: 't', value: Buffer.alloc(0) } }))).code).toBe(3)
    }
    const noTime = await grpcError(
      ctr.events.Forward({ envelope: { namespace: 'x', topic: '/t', event: { type_url: 't', value: Buffer.alloc(0) } } }),
    )
    expect(noTime.details).toBe('timestamp must be set on forwarded event: invalid argument')
  })
})

describe('Tasks', () => {
  test('create with stdio paths, start, output reaches them, wait returns the exit, delete', async () => {
    await createContainer('hello', ['sh', '-c', 'echo out; echo err >&2; exit 3'])
    const stdout = join(h.logDir, 'hello.out')
    const stderr = join(h.logDir, 'hello.err')
    writeFileSync(stdout, '')
    writeFileSync(stderr, '')
    const { pid } = await ctr.tasks.Create({ container_id: 'hello', stdout, stderr })
    expect(pid).toBeGreaterThan(0)
    expect((await ctr.tasks.Get({ container_id: 'hello' })).process).toMatchObject({ status: 'CREATED', pid })
    const waiting = ctr.tasks.Wait({ container_id: 'hello' })
    await ctr.tasks.Start({ container_id: 'hello' })
    expect((await waiting).exit_status).toBe(3)
    await eventually(() => (readFileSync(stdout, 'utf8') === 'out\n' ? true : undefined), 'stdout written')
    expect(readFileSync(stderr, 'utf8')).toBe('err\n')
    expect((await ctr.tasks.Get({ container_id: 'hello' })).process).toMatchObject({ status: 'STOPPED', exit_status: 3 })
    const deleted = await ctr.tasks.Delete({ container_id: 'hello' })
    expect([deleted.pid, deleted.exit_status]).toEqual([pid, 3])
    const gone = await grpcError(ctr.tasks.Get({ container_id: 'hello' }))
    expect([gone.code, gone.details]).toEqual([5, 'task hello not found'])
  })

  test('stdout URIs as the runc shim reads them: file:// gets both streams, binary:// runs nothing, another scheme fails', async () => {
    await createContainer('logged', ['sh', '-c', 'echo out; echo err >&2'])
    const log = join(h.logDir, 'by-uri', 'task.log')
    const uri = `file://${log}`
    await ctr.tasks.Create({ container_id: 'logged', stdout: uri, stderr: uri })
    const waiting = ctr.tasks.Wait({ container_id: 'logged' })
    await ctr.tasks.Start({ container_id: 'logged' })
    expect((await waiting).exit_status).toBe(0)
    await eventually(() => (readFileSync(log, 'utf8') === 'out\nerr\n' ? true : undefined), 'both streams in the file')
    await ctr.tasks.Delete({ container_id: 'logged' })

    // A logging binary (nerdctl's) is never started on the host; the task runs all the same.
    const binary = 'binary:///usr/local/bin/nerdctl?_NERDCTL_INTERNAL_LOGGING=%2Fvar%2Flib%2Fnerdctl'
    await ctr.tasks.Create({ container_id: 'logged', stdout: binary, stderr: binary })
    const again = ctr.tasks.Wait({ container_id: 'logged' })
    await ctr.tasks.Start({ container_id: 'logged' })
    expect((await again).exit_status).toBe(0)
    await ctr.tasks.Delete({ container_id: 'logged' })

    const odd = await grpcError(ctr.tasks.Create({ container_id: 'logged', stdout: 'tcp://127.0.0.1:1', stderr: '' }))
    expect([odd.code, odd.details]).toEqual([2, 'unknown STDIO scheme tcp'])
    expect((await grpcError(ctr.tasks.Get({ container_id: 'logged' }))).code).toBe(5)
  })

  test('a PID 1 ignores SIGTERM, SIGKILL ends it with 137; a running task cannot be deleted', async () => {
    await createContainer('init')
    await ctr.tasks.Create({ container_id: 'init' })
    await ctr.tasks.Start({ container_id: 'init' })
    // The runc shim refuses with a plain error: code Unknown.
    const running = await grpcError(ctr.tasks.Delete({ container_id: 'init' }))
    expect([running.code, running.details]).toEqual([2, 'cannot delete a running process: unknown'])
    await ctr.tasks.Kill({ container_id: 'init', signal: 15 })
    expect((await ctr.tasks.Get({ container_id: 'init' })).process!.status).toBe('RUNNING')
    const waiting = ctr.tasks.Wait({ container_id: 'init' })
    await ctr.tasks.Kill({ container_id: 'init', signal: 9 })
    expect((await waiting).exit_status).toBe(137)
    const again = await grpcError(ctr.tasks.Kill({ container_id: 'init', signal: 9 }))
    expect([again.code, again.details]).toEqual([5, 'process already finished: not found'])
  })

  test('exec, list pids, pause and resume, metrics, list', async () => {
    await createContainer('box')
    await ctr.tasks.Create({ container_id: 'box' })
    await ctr.tasks.Start({ container_id: 'box' })
    const out = join(h.logDir, 'exec.out')
    writeFileSync(out, '')
    const process = {
      type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process',
      value: Buffer.from(JSON.stringify({ args: ['echo', 'from exec'], env: [], cwd: '/' })),
    }
    await ctr.tasks.Exec({ container_id: 'box', exec_id: 'e1', stdout: out, spec: process })
    expect((await grpcError(ctr.tasks.Exec({ container_id: 'box', exec_id: 'e1', spec: process }))).code).toBe(6)
    // Each check in the shim's order: the exec id, the task's state, then the spec (a wrong one is the last error).
    const wrongType = { type_url: 'example.com/Other', value: Buffer.from('{}') }
    const refusals = await Promise.all(
      [
        { container_id: 'box', exec_id: '', spec: wrongType },
        { container_id: 'box', exec_id: 'bad id', spec: wrongType },
        { container_id: 'box', exec_id: 'e2', spec: wrongType },
        { container_id: 'box', exec_id: 'e2', spec: null },
      ].map((r) => grpcError(ctr.tasks.Exec(r))),
    )
    expect(refusals.map((e) => [e.code, e.details.split(':')[0]])).toEqual([
      [3, 'exec id cannot be empty'],
      [3, 'invalid exec id bad id'],
      [3, `exec process spec has type example.com/Other, want ${process.type_url}`],
      [3, 'exec process spec must be set'],
    ])
    const waiting = ctr.tasks.Wait({ container_id: 'box', exec_id: 'e1' })
    await ctr.tasks.Start({ container_id: 'box', exec_id: 'e1' })
    expect((await waiting).exit_status).toBe(0)
    await eventually(() => (readFileSync(out, 'utf8') === 'from exec\n' ? true : undefined), 'exec output')
    await ctr.tasks.DeleteProcess({ container_id: 'box', exec_id: 'e1' })
    expect((await grpcError(ctr.tasks.Get({ container_id: 'box', exec_id: 'e1' }))).code).toBe(5)

    expect((await ctr.tasks.ListPids({ container_id: 'box' })).processes).toHaveLength(1)
    await ctr.tasks.Pause({ container_id: 'box' })
    expect((await ctr.tasks.Get({ container_id: 'box' })).process!.status).toBe('PAUSED')
    const paused = await grpcError(ctr.tasks.Pause({ container_id: 'box' }))
    expect([paused.code, paused.details]).toEqual([2, 'cannot pause a paused container: unknown'])
    await ctr.tasks.Resume({ container_id: 'box' })
    const metrics = (await ctr.tasks.Metrics({ filters: ['id==box'] })).metrics
    expect(metrics).toHaveLength(1)
    expect(metrics[0]!.data!.type_url).toBe('io.containerd.cgroups.v2.Metrics')
    expect((await ctr.tasks.List({ filter: '' })).tasks.map((t) => t.id)).toEqual(['box'])
  })

  test('a task of a missing container, and a second task, are refused', async () => {
    const missing = await grpcError(ctr.tasks.Create({ container_id: 'nope' }))
    expect([missing.code, missing.details]).toEqual([5, 'container "nope" in namespace "default": not found'])
    await createContainer('once')
    await ctr.tasks.Create({ container_id: 'once' })
    expect((await grpcError(ctr.tasks.Create({ container_id: 'once' }))).details).toBe('task once: already exists')
  })
})

describe('one state with CRI', () => {
  test('CRI sandboxes and containers are containerd containers and tasks in k8s.io; a kill there ends the CRI container', async () => {
    const config = podConfig('shared')
    const pod = await runPod(h, config)
    const c = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }))
    const k8s = containerdClients(h.fake.address, 'k8s.io')
    try {
      const containers = (await k8s.containers.List({ filters: [] })).containers
      const byId = Object.fromEntries(containers.map((x) => [x.id, x]))
      expect(byId[pod]!.labels).toMatchObject({ 'io.cri-containerd.kind': 'sandbox', app: 'shared' })
      expect(byId[c]!.labels).toMatchObject({ 'io.cri-containerd.kind': 'container' })
      expect(Object.keys(byId[c]!.extensions)).toContain('io.cri-containerd.container.metadata')
      expect(JSON.parse(byId[c]!.spec!.value.toString()).annotations).toMatchObject({
        'io.kubernetes.cri.sandbox-id': pod,
        'io.kubernetes.cri.container-type': 'container',
      })
      expect((await k8s.tasks.List({ filter: '' })).tasks.map((t) => t.id).sort()).toEqual([pod, c].sort())
      await k8s.tasks.Kill({ container_id: c, signal: 9 })
      const status = await eventually(async () => {
        const s = (await h.runtime.ContainerStatus({ container_id: c })).status!
        return s.state === 'CONTAINER_EXITED' ? s : undefined
      }, 'exit seen by CRI')
      expect(status.exit_code).toBe(137)
      expect((await k8s.tasks.List({ filter: '' })).tasks.map((t) => t.id)).toEqual([pod])
      await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
      expect((await k8s.containers.List({ filters: [] })).containers).toEqual([])
    } finally {
      k8s.close()
    }
  })

  test('CRI images are unpacked to committed snapshots and containers get active ones on them; all are collected with their owners', async () => {
    const config = podConfig('snaps')
    const pod = await runPod(h, config)
    const c = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }), false)
    const k8s = containerdClients(h.fake.address, 'k8s.io')
    const snapshots = async () => {
      const out: Record<string, { kind: string; parent: string }> = {}
      for await (const m of k8s.snapshots.List({ snapshotter: 'overlayfs', filters: [] }))
        for (const i of m.info) out[i.name] = { kind: i.kind, parent: i.parent }
      return out
    }
    try {
      const before = await snapshots()
      const committed = Object.entries(before)
        .filter(([, v]) => v.kind === 'COMMITTED')
        .map(([k]) => k)
      expect(committed).toHaveLength(2) // pause and busybox
      expect(before[pod]).toEqual({ kind: 'ACTIVE', parent: expect.stringMatching(/^sha256:/) })
      expect(before[c]).toEqual({ kind: 'ACTIVE', parent: expect.stringMatching(/^sha256:/) })
      expect(committed).toContain(before[c]!.parent)
      await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
      const after = await snapshots()
      expect(Object.keys(after).sort()).toEqual(committed.sort())
      await h.image.RemoveImage({ image: { image: 'busybox' } })
      expect(Object.keys(await snapshots())).toEqual([before[pod]!.parent])
    } finally {
      k8s.close()
    }
  })
})

// Containers of one image read what only the image holds through one view they share
// (model/runtime/views.ts shared(), sim/fs/shared.ts): CreateContainer's user lookup, StartContainer's
// PATH search, the names of a process's user. What is a container's own must still be seen by it,
// and by no other: a volume on PATH, a bind mount over /etc/passwd, an /etc/passwd it wrote, an
// image name that now names other content.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { containerdClients } from '../../src/client.js'
import type { ContainerConfig } from '../../src/generated/runtime/v1/ContainerConfig.js'
import { importImage, tarball } from '../containerd.js'
import { containerConfig, eventually, grpcError, harness, podConfig, runPod, type Harness } from '../helpers.js'

let h: Harness
let host: string
beforeEach(async () => {
  h = await harness()
  host = mkdtempSync(join(tmpdir(), 'fc-shared-'))
})
afterEach(() => h.close())

let pods = 0
/** A pod with one container of `config` (busybox, pulled, unless it names an image already there), created and started. */
async function start(config: Partial<ContainerConfig>, on: Harness = h): Promise<string> {
  const pod = podConfig(`shared-${++pods}`)
  const podId = await runPod(on, pod)
  if (!config.image) await on.image.PullImage({ image: { image: 'busybox' } })
  const { container_id } = await on.runtime.CreateContainer({
    pod_sandbox_id: podId,
    config: containerConfig('c', config),
    sandbox_config: pod,
  })
  await on.runtime.StartContainer({ container_id })
  return container_id
}

const exec = async (id: string, cmd: string[], on: Harness = h) => {
  const r = await on.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code }
}

const state = async (id: string) => (await h.runtime.ContainerStatus({ container_id: id })).status

describe('what a container has of its own is read from its own view', () => {
  test('a volume on PATH: its command is found there, and only there', async () => {
    const bin = join(host, 'bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'hello'), '#!/bin/sh\necho hello from the volume\n')
    chmodSync(join(bin, 'hello'), 0o755)
    const volume = { mounts: [{ container_path: '/usr/local/bin', host_path: bin }] }
    const missing = /exec: "hello": executable file not found in \$PATH/

    // The first search for `hello` in busybox finds nothing; the volume's container finds its file.
    expect((await grpcError(start({ command: ['hello'] }))).details).toMatch(missing)
    const withVolume = await start({ command: ['sleep', '3600'], ...volume })
    expect(await exec(withVolume, ['hello'])).toEqual({ out: 'hello from the volume\n', err: '', code: 0 })
    const ran = await start({ command: ['hello'], ...volume })
    expect(
      await eventually(async () => ((await state(ran))?.state === 'CONTAINER_EXITED' ? state(ran) : undefined), 'hello to exit'),
    ).toMatchObject({
      exit_code: 0,
    })
    // What the volume's containers found is theirs: another busybox container still finds nothing.
    expect((await grpcError(start({ command: ['hello'] }))).details).toMatch(missing)
  })

  test('a bind mount over /etc/passwd names the user; a container without it sees the image', async () => {
    writeFileSync(join(host, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234:app:/:/bin/sh\n')
    const asUser = { linux: { security_context: { run_as_user: { value: 1234 } } } }
    const plain = await start({ command: ['sleep', '3600'], ...asUser })
    expect((await exec(plain, ['id', '-un'])).out).toBe('1234\n')
    const mounted = await start({
      command: ['sleep', '3600'],
      ...asUser,
      mounts: [{ container_path: '/etc/passwd', host_path: join(host, 'passwd') }],
    })
    expect((await exec(mounted, ['id', '-un'])).out).toBe('app\n')
    expect((await exec(plain, ['id', '-un'])).out).toBe('1234\n')
  })

  test('an /etc/passwd the container wrote names its user, in it only', async () => {
    const wrote = await start({ command: ['sleep', '3600'] })
    const other = await start({ command: ['sleep', '3600'] })
    expect((await exec(wrote, ['id', '-un'])).out).toBe('root\n')
    expect((await exec(wrote, ['sed', '-i', 's/^root:/admin:/', '/etc/passwd'])).code).toBe(0)
    expect((await exec(wrote, ['id', '-un'])).out).toBe('admin\n')
    expect((await exec(other, ['id', '-un'])).out).toBe('root\n')
    expect((await exec(await start({ command: ['sleep', '3600'] }), ['id', '-un'])).out).toBe('root\n')
  })

  test('an /etc/passwd the container wrote is still its own after a restart (its saved layer)', async () => {
    const file = join(host, 'state.json')
    let s = await harness({ state: file })
    let wrote: string
    let other: string
    try {
      wrote = await start({ command: ['sleep', '3600'] }, s)
      other = await start({ command: ['sleep', '3600'] }, s)
      expect((await exec(wrote, ['sed', '-i', 's/^root:/admin:/', '/etc/passwd'], s)).code).toBe(0)
    } finally {
      await s.close()
    }
    s = await harness({ state: file })
    try {
      expect((await exec(other, ['id', '-un'], s)).out).toBe('root\n')
      expect((await exec(wrote, ['id', '-un'], s)).out).toBe('admin\n')
    } finally {
      await s.close()
    }
  })

  test('an image name moved to other content: a new container reads the new content', async () => {
    const k8s = containerdClients(h.fake.address, 'k8s.io')
    const leased = { metadata: { 'containerd-lease': 'hold' } }
    const layer = (users: string) =>
      tarball([
        { name: 'etc/', type: '5', mode: 0o755 },
        { name: 'etc/passwd', data: `root:x:0:0:root:/root:/bin/sh\n${users}` },
      ])
    const image = { Cmd: ['sleep', '3600'] }
    try {
      await k8s.leases.Create({ id: 'hold', labels: {} })
      await importImage(k8s, 'example.com/users:1', [layer('alice:x:1000:1000::/:/bin/sh\n')], image, leased)
      await importImage(k8s, 'example.com/users:2', [layer('bob:x:2000:2000::/:/bin/sh\n')], image, leased)
      const asBob = { image: { image: 'example.com/users:1' }, linux: { security_context: { run_as_username: 'bob' } } }
      expect((await grpcError(start(asBob))).details).toContain('unable to find user bob: no matching entries in passwd file')
      // The tag moves to the second image's manifest, as a pull of a tag that moved on its registry does.
      const moved = (await k8s.images.Get({ name: 'example.com/users:2' })).image!.target!
      await k8s.images.Update({ image: { name: 'example.com/users:1', labels: {}, target: moved }, update_mask: { paths: ['target'] } })
      const bob = await start(asBob)
      expect((await exec(bob, ['id', '-un'])).out).toBe('bob\n')
      expect((await exec(bob, ['id', '-u'])).out).toBe('2000\n')
    } finally {
      k8s.close()
    }
  })
})

test('containers made alike share one view, from CreateContainer to StartContainer', async () => {
  const pod = podConfig(`alike-${++pods}`)
  const podId = await runPod(h, pod)
  await h.image.PullImage({ image: { image: 'busybox' } })
  const views = h.fake.node.views
  const built = views.sharedBuilt
  // busybox's root is a member of wheel: CreateContainer adds that group to the spec's user.
  const config = { command: ['sleep', '3600'], linux: { security_context: { supplemental_groups: [4000] } } }
  for (const name of ['first', 'second']) {
    const { container_id } = await h.runtime.CreateContainer({
      pod_sandbox_id: podId,
      config: containerConfig(name, config),
      sandbox_config: pod,
    })
    await h.runtime.StartContainer({ container_id })
    expect((await exec(container_id, ['id', '-G'])).out).toBe('0 10 4000\n')
  }
  expect(views.sharedBuilt - built).toBe(1)
})

describe('a container keeps the image it was made of, whatever its name says later', () => {
  const layer = (users: string) =>
    tarball([
      { name: 'etc/', type: '5', mode: 0o755 },
      { name: 'etc/passwd', data: `root:x:0:0:root:/root:/bin/sh\n${users}` },
    ])
  const alice = 'alice:x:1000:1000::/:/bin/sh\n'
  let k8s: ReturnType<typeof containerdClients>
  beforeEach(() => {
    k8s = containerdClients(h.fake.address, 'k8s.io')
  })
  afterEach(() => k8s.close())

  /** users:1 (alice) and users:2 (bob) imported into k8s.io; a container of users:1 running as 1000, created and not started. */
  async function created(): Promise<string> {
    const leased = { metadata: { 'containerd-lease': 'hold' } }
    await k8s.leases.Create({ id: 'hold', labels: {} })
    await importImage(k8s, 'example.com/users:1', [layer(alice)], { Cmd: ['sleep', '3600'] }, leased)
    await importImage(k8s, 'example.com/users:2', [layer('bob:x:1000:1000::/:/bin/sh\n')], { Cmd: ['sleep', '3600'] }, leased)
    const pod = podConfig(`kept-${++pods}`)
    const podId = await runPod(h, pod)
    const config = { image: { image: 'example.com/users:1' }, command: ['sleep', '3600'] }
    const asAlice = { linux: { security_context: { run_as_user: { value: 1000 } } } }
    const { container_id } = await h.runtime.CreateContainer({
      pod_sandbox_id: podId,
      sandbox_config: pod,
      config: containerConfig('c', { ...config, ...asAlice }),
    })
    return container_id
  }

  /** The tag moves to users:2's manifest, as a pull of a tag that moved on its registry does. */
  async function moveTag(): Promise<void> {
    const moved = (await k8s.images.Get({ name: 'example.com/users:2' })).image!.target!
    await k8s.images.Update({ image: { name: 'example.com/users:1', labels: {}, target: moved }, update_mask: { paths: ['target'] } })
  }

  const seesAlice = async (id: string) => {
    expect((await exec(id, ['id', '-un'])).out).toBe('alice\n')
    expect((await exec(id, ['cat', '/etc/passwd'])).out).toBe(`root:x:0:0:root:/root:/bin/sh\n${alice}`)
  }

  test.each([
    ['the tag moved', () => moveTag()],
    ['the image removed', () => h.image.RemoveImage({ image: { image: 'example.com/users:1' } })],
  ])('%s between CreateContainer and StartContainer', async (_, between) => {
    const id = await created()
    await between()
    await h.runtime.StartContainer({ container_id: id })
    await seesAlice(id)
  })

  test('the tag moved while the container runs', async () => {
    const id = await created()
    await h.runtime.StartContainer({ container_id: id })
    // Answered without a view of its own (that one would hold what it was built of).
    expect((await exec(id, ['id', '-un'])).out).toBe('alice\n')
    await moveTag()
    await seesAlice(id)
    // A container made now is of what the tag names now.
    const bob = await start({
      image: { image: 'example.com/users:1' },
      command: ['sleep', '3600'],
      linux: { security_context: { run_as_user: { value: 1000 } } },
    })
    expect((await exec(bob, ['id', '-un'])).out).toBe('bob\n')
  })
})

test('a view CreateContainer built takes the host mounts of StartContainer, when runc makes them', async (t) => {
  // The bind over /etc/passwd makes CreateContainer read the container's own view.
  writeFileSync(join(host, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  mkdirSync(join(host, 'mnt', 'point'), { recursive: true })
  mkdirSync(join(host, 'src'))
  writeFileSync(join(host, 'src', 'flag'), '')
  const pod = podConfig(`pinned-${++pods}`)
  const podId = await runPod(h, pod)
  await h.image.PullImage({ image: { image: 'busybox' } })
  const mounts = [
    { container_path: '/etc/passwd', host_path: join(host, 'passwd') },
    { container_path: '/vol', host_path: join(host, 'mnt'), propagation: 'PROPAGATION_PRIVATE' as const },
  ]
  const { container_id } = await h.runtime.CreateContainer({
    pod_sandbox_id: podId,
    sandbox_config: pod,
    config: containerConfig('c', { command: ['sleep', '3600'], mounts }),
  })
  try {
    execFileSync('mount', ['--bind', join(host, 'src'), join(host, 'mnt', 'point')], { stdio: 'ignore' })
  } catch {
    t.skip() // the host does not let this process mount (not root, or no CAP_SYS_ADMIN)
  }
  try {
    await h.runtime.StartContainer({ container_id })
    // A private mount made at the start takes along what the host had mounted under it then.
    expect((await exec(container_id, ['ls', '-A', '/vol/point'])).out).toBe('flag\n')
  } finally {
    execFileSync('umount', [join(host, 'mnt', 'point')])
  }
})

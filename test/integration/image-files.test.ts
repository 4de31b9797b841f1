// An image imported through containerd's API keeps its files: what a container of it (made through
// containerd's API, as ctr run does, or through CRI) reads with cat, ls -l, stat and readlink is what
// its layers hold, whiteouts and opaque directories applied; a real busybox binary in it runs its applets.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import { elfAskingFor, importImage, ociSpec, tarball } from '../containerd.js'
import { harness, podConfig, runPod, type Harness } from '../helpers.js'

const BUSYBOX = '/bin/busybox'
const leased = { metadata: { 'containerd-lease': 'hold' } }
const T1 = 1_700_000_000 // 2023-11-14 22:13:20 UTC
const T2 = 1_710_000_000 // 2024-03-09 16:00:00 UTC

let h: Harness
let ctr: ContainerdClients
beforeEach(async () => {
  h = await harness()
  ctr = containerdClients(h.fake.address, 'default')
  await ctr.leases.Create({ id: 'hold', labels: {} })
})
afterEach(async () => {
  ctr.close()
  await h.close()
})

const spec = (args: string[]) =>
  ociSpec(args, { linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] } }, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  ])

let runs = 0
/**
 * What `ctr run IMAGE id ARGS…` prints: a container and its task, stdout and stderr to files, the
 * exit status. With `layer` (a one-layer image's) the container's snapshot is prepared on it;
 * `before` runs between the container's creation and its task's.
 */
async function run(
  image: string,
  args: string[],
  layer?: Buffer,
  before?: () => Promise<void>,
): Promise<{ out: string; err: string; status: number }> {
  const id = `run-${++runs}`
  await ctr.containers.Create({
    container: {
      id,
      image,
      labels: {},
      runtime: { name: 'io.containerd.runc.v2' },
      spec: spec(args),
      snapshotter: 'overlayfs',
      snapshot_key: id,
    },
  })
  // ctr run prepares the container's snapshot on the image's chain (the one-layer images here: its diff id).
  if (layer) {
    const parent = `sha256:${createHash('sha256').update(layer).digest('hex')}`
    await ctr.snapshots.Prepare({ snapshotter: 'overlayfs', key: id, parent, labels: {} })
  }
  if (before) await before()
  const stdout = join(h.logDir, `${id}.out`)
  const stderr = join(h.logDir, `${id}.err`)
  writeFileSync(stdout, '')
  writeFileSync(stderr, '')
  await ctr.tasks.Create({ container_id: id, stdout, stderr })
  const waiting = ctr.tasks.Wait({ container_id: id })
  await ctr.tasks.Start({ container_id: id })
  const status = (await waiting).exit_status
  // Regular files as stdio are written as the process writes: all of it is there at its exit.
  return { out: readFileSync(stdout, 'utf8'), err: readFileSync(stderr, 'utf8'), status }
}

/** A layer with files of every kind, and one above it that removes and hides some of them. */
const base = tarball([
  { name: 'bin/', type: '5', mode: 0o755, mtime: T1 },
  { name: 'etc/', type: '5', mode: 0o755, mtime: T1 },
  { name: 'etc/msg', data: 'hello from the image\n', mode: 0o644, mtime: T1 },
  { name: 'etc/motd', data: 'old motd\n', mtime: T1 },
  { name: 'etc/secret', data: 'top secret\n', mode: 0o600, uid: 1000, gid: 1001, mtime: T2 },
  { name: 'etc/link', type: '2', linkname: 'msg', mode: 0o777, mtime: T1 },
  { name: 'etc/hard', type: '1', linkname: 'etc/msg', mtime: T1 },
  { name: 'opt/', type: '5', mode: 0o750, uid: 1000, gid: 1000, mtime: T2 },
  { name: 'opt/a', data: 'a', mtime: T1 },
  { name: 'opt/tool', data: '#!/bin/sh\necho tool ran "$@"\n', mode: 0o755, mtime: T1 },
  { name: 'var/', type: '5', mtime: T1 },
  { name: 'var/cache/', type: '5', mtime: T1 },
  { name: 'var/cache/old', data: 'old', mtime: T1 },
])
const top = tarball([{ name: 'etc/.wh.motd' }, { name: 'var/cache/.wh..wh..opq' }, { name: 'var/cache/new', data: 'new\n', mtime: T2 }])

describe('an imported image keeps its files', () => {
  test('ctr run: cat, ls -l, stat and readlink show what the layers hold', async () => {
    await importImage(ctr, 'example.com/files:1', [base, top], {}, leased)
    const cat = await run('example.com/files:1', ['cat', '/etc/msg', '/etc/link', '/etc/hard', '/var/cache/new'])
    expect(cat).toEqual({ out: 'hello from the image\nhello from the image\nhello from the image\nnew\n', err: '', status: 0 })

    // The image has no /etc/passwd of its own: owners show as numbers (the runtime's entry for uid 0 is "0").
    const ls = await run('example.com/files:1', ['ls', '-l', '/etc'])
    expect(ls.out).toContain('-rw-r--r--    2 0        0               21 Nov 14  2023 hard\n')
    expect(ls.out).toContain('-rw-r--r--    2 0        0               21 Nov 14  2023 msg\n')
    expect(ls.out).toContain('lrwxrwxrwx    1 0        0                3 Nov 14  2023 link -> msg\n')
    expect(ls.out).toContain('-rw-------    1 1000     1001            11 Mar  9  2024 secret\n')
    expect(ls.out).not.toContain('motd')

    const opt = await run('example.com/files:1', ['ls', '-ld', '/opt', '/var/cache/old'])
    expect(opt.out).toMatch(/^drwxr-x---\s+\d+ 1000\s+1000\s+\d+ Mar  9  2024 \/opt\n$/)
    expect(opt.err).toContain('ls: /var/cache/old: No such file or directory')

    const stat = await run('example.com/files:1', ['stat', '-c', '%n %s %a %u %g %Y %F', '/etc/secret', '/etc/link', '/opt'])
    expect(stat.out).toBe(
      `/etc/secret 11 600 1000 1001 ${T2} regular file\n/etc/link 3 777 0 0 ${T1} symbolic link\n/opt 4096 750 1000 1000 ${T2} directory\n`,
    )
    expect((await run('example.com/files:1', ['readlink', '/etc/link'])).out).toBe('msg\n')
    // A script of the image runs.
    expect((await run('example.com/files:1', ['/opt/tool', 'x'])).out).toBe('tool ran x\n')
  })

  test('a write in one container is its own: the next container reads the image as it was', async () => {
    await importImage(ctr, 'example.com/files:2', [base, top], {}, leased)
    const changed = await run('example.com/files:2', ['sh', '-c', 'echo more >> /etc/msg; cat /etc/msg'])
    expect(changed.out).toBe('hello from the image\nmore\n')
    expect((await run('example.com/files:2', ['cat', '/etc/msg'])).out).toBe('hello from the image\n')
  })

  test('a layer applies in order: a whiteout removes what came before it, an entry after it comes back', async () => {
    const again = tarball([
      { name: 'etc/msg', data: 'replaced\n' },
      { name: 'etc/.wh.msg' },
      { name: 'etc/.wh.secret' },
      { name: 'etc/secret', data: 'back\n' },
      { name: 'opt/.wh..wh..opq' },
      { name: 'opt/b', data: 'b' },
    ])
    await importImage(ctr, 'example.com/files:order', [base, again], {}, leased)
    const r = await run('example.com/files:order', ['sh', '-c', 'cat /etc/secret; ls /opt; cat /etc/msg'])
    expect(r).toEqual({ out: 'back\nb\n', err: "cat: can't open '/etc/msg': No such file or directory\n", status: 1 })
  })

  test('snapshot() and restore() keep the index: a restored node shows the same files', async () => {
    await importImage(ctr, 'example.com/files:snap', [base, top], {}, leased)
    const saved = h.fake.snapshot()
    h.fake.reset()
    h.fake.restore(saved)
    expect((await run('example.com/files:snap', ['cat', '/etc/secret', '/var/cache/new'])).out).toBe('top secret\nnew\n')
  })

  test('a CRI container of the image reads the same files', async () => {
    const k8s = containerdClients(h.fake.address, 'k8s.io')
    try {
      await k8s.leases.Create({ id: 'hold', labels: {} })
      await importImage(k8s, 'example.com/files:cri', [base, top], { Cmd: ['sleep', '3600'] }, leased)
    } finally {
      k8s.close()
    }
    const pod = podConfig('files')
    const podId = await runPod(h, pod)
    const { container_id } = await h.runtime.CreateContainer({
      pod_sandbox_id: podId,
      config: { metadata: { name: 'app', attempt: 0 }, image: { image: 'example.com/files:cri' } },
      sandbox_config: pod,
    })
    await h.runtime.StartContainer({ container_id })
    const exec = await h.runtime.ExecSync({
      container_id,
      cmd: ['sh', '-c', 'cat /etc/msg; ls -ln /etc/secret; readlink /etc/link'],
      timeout: 5,
    })
    expect(exec.stdout.toString()).toBe('hello from the image\n-rw-------    1 1000     1001            11 Mar  9  2024 /etc/secret\nmsg\n')
  })
})

test('a container runs from its snapshot: the image tag moved after its creation changes nothing it reads', async () => {
  const layer = (text: string) =>
    tarball([
      { name: 'etc/', type: '5', mode: 0o755 },
      { name: 'etc/msg', data: text },
    ])
  const first = layer('made of the first\n')
  await importImage(ctr, 'example.com/moved:1', [first], {}, leased)
  await importImage(ctr, 'example.com/moved:2', [layer('made of the second\n')], {}, leased)
  const moveTag = async () => {
    const target = (await ctr.images.Get({ name: 'example.com/moved:2' })).image!.target!
    await ctr.images.Update({ image: { name: 'example.com/moved:1', labels: {}, target }, update_mask: { paths: ['target'] } })
  }
  expect((await run('example.com/moved:1', ['cat', '/etc/msg'], first, moveTag)).out).toBe('made of the first\n')
})

describe.skipIf(!existsSync(BUSYBOX))('a real busybox binary in the image', () => {
  const busybox = () => readFileSync(BUSYBOX)
  const layer = () =>
    tarball([
      { name: 'bin/', type: '5', mode: 0o755 },
      { name: 'bin/busybox', data: busybox(), mode: 0o755 },
      { name: 'bin/sh', type: '2', linkname: 'busybox' },
      { name: 'bin/cat', type: '2', linkname: '/bin/busybox' },
      { name: 'bin/echo', type: '1', linkname: 'bin/busybox' },
      { name: 'bin/vi', type: '2', linkname: 'busybox' },
      { name: 'etc/', type: '5' },
      { name: 'etc/msg', data: 'message\n' },
    ])

  test('runs the applet argv[0] names: sh -c, busybox APPLET, an applet the simulator lacks', async () => {
    await importImage(ctr, 'example.com/bb:1', [layer()], {}, leased)
    expect(await run('example.com/bb:1', ['sh', '-c', 'echo hi; cat /etc/msg'])).toEqual({ out: 'hi\nmessage\n', err: '', status: 0 })
    expect(await run('example.com/bb:1', ['busybox', 'echo', 'x'])).toEqual({ out: 'x\n', err: '', status: 0 })
    expect(await run('example.com/bb:1', ['/bin/echo', 'linked'])).toEqual({ out: 'linked\n', err: '', status: 0 })
    expect((await run('example.com/bb:1', ['busybox'])).out).toMatch(/^BusyBox v[\d.]+ .*multi-call binary\.\n/)
    expect(await run('example.com/bb:1', ['sh', '-c', 'busybox nosuch; echo $?'])).toEqual({
      out: '127\n',
      err: 'nosuch: applet not found\n',
      status: 0,
    })
    expect((await run('example.com/bb:1', ['sh', '-c', 'vi; echo $?'])).out).toBe('127\n')
  })

  test('another ELF program: its missing loader fails the exec as on a node', async () => {
    // A dynamically linked x86-64 ELF asking for a loader the image does not have.
    const elf = elfAskingFor('/lib64/ld-linux-x86-64.so.2')
    const tools = tarball([
      { name: 'app/', type: '5' },
      { name: 'app/tool', data: elf, mode: 0o755 },
    ])
    await importImage(ctr, 'example.com/bb:2', [layer(), tools], {}, leased)
    expect(await run('example.com/bb:2', ['sh', '-c', '/app/tool; echo $?'])).toEqual({
      out: '127\n',
      err: 'sh: /app/tool: not found\n',
      status: 0,
    })
    expect(await run('example.com/bb:2', ['/app/tool'])).toEqual({ out: '', err: 'exec /app/tool: no such file or directory\n', status: 1 })
    expect(await run('example.com/bb:2', ['sh', '-c', 'env /app/tool; echo $?'])).toEqual({
      out: '127\n',
      err: "env: can't execute '/app/tool': No such file or directory\n",
      status: 0,
    })
  })
})

test('the index survives a restart with --state; the files are read from the layer store', async () => {
  const dir = h.logDir
  const state = join(dir, 'state.json')
  const withState = await harness({ state })
  const c = containerdClients(withState.fake.address, 'default')
  try {
    await c.leases.Create({ id: 'hold', labels: {} })
    await importImage(c, 'example.com/files:state', [base, top], {}, leased)
    await withState.fake.restart()
    expect(existsSync(`${state}.blobs/layers`)).toBe(true)
    const saved = h
    const savedCtr = ctr
    h = withState
    ctr = c
    try {
      expect((await run('example.com/files:state', ['cat', '/etc/secret', '/var/cache/new'])).out).toBe('top secret\nnew\n')
    } finally {
      h = saved
      ctr = savedCtr
    }
  } finally {
    c.close()
    await withState.close()
  }
})

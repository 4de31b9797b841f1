// A container whose runtime spec names a host directory as its root (dockerd's graphdriver
// directory, `ctr run --rootfs`): its processes read that directory's files, a busybox binary
// there runs as busybox, what they write lands there as it would under runc; Tasks.Update's
// limits show in the container's cgroup files and in Tasks.Metrics.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import protobuf from 'protobufjs'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import { eventually, grpcError, harness, type Harness } from '../helpers.js'
import { ociSpec } from '../containerd.js'

/** An x86-64 static executable's ELF header (no program headers, so no loader) and busybox's banner. */
function staticBusybox(): Buffer {
  const header = Buffer.alloc(64)
  header.write('\x7fELF\x02\x01\x01', 0, 'latin1')
  header.writeUInt16LE(2, 16) // ET_EXEC
  header.writeUInt16LE(62, 18) // EM_X86_64
  header.writeUInt32LE(1, 20) // EV_CURRENT
  header.writeUInt16LE(64, 52) // e_ehsize
  header.writeUInt16LE(56, 54) // e_phentsize
  return Buffer.concat([header, Buffer.from('BusyBox v1.35.0 (Debian 1:1.35.0-4) multi-call binary.\0')])
}

let h: Harness
let ctr: ContainerdClients
let rootfs: string
beforeEach(async () => {
  h = await harness()
  ctr = containerdClients(h.fake.address, 'moby')
  rootfs = mkdtempSync(join(tmpdir(), 'fc-rootfs-'))
  // A busybox binary as busybox-static ships it: an ELF file with its banner; applets are links to it.
  mkdirSync(join(rootfs, 'bin'))
  writeFileSync(join(rootfs, 'bin/busybox'), staticBusybox(), { mode: 0o755 })
  for (const applet of ['sh', 'cat', 'echo', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', applet))
  mkdirSync(join(rootfs, 'etc'))
  mkdirSync(join(rootfs, 'tmp'))
  writeFileSync(join(rootfs, 'etc/os-release'), 'NAME=from-the-rootfs\n')
  // An absolute link resolves inside the root, never to the host's /etc/os-release.
  symlinkSync('/etc/os-release', join(rootfs, 'etc/os'))
})
afterEach(async () => {
  ctr.close()
  await h.close()
  rmSync(rootfs, { recursive: true, force: true })
})

const spec = (args: string[], root: string, mounts: unknown[] = []) =>
  ociSpec(args, { ociVersion: '1.0.2-dev', root: { path: root }, mounts, linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }] } }, [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  ])

async function create(id: string, args: string[], root = rootfs, mounts: unknown[] = []): Promise<string> {
  await ctr.containers.Create({ container: { id, runtime: { name: 'io.containerd.runc.v2' }, spec: spec(args, root, mounts) } })
  const stdout = join(h.logDir, `${id}.out`)
  writeFileSync(stdout, '')
  return stdout
}

describe('a host directory as the rootfs', () => {
  test('the processes read its files, its busybox runs as busybox, their writes go there as under runc', async () => {
    const stdout = await create('reader', ['sh', '-c', 'cat /etc/os; busybox echo via busybox; echo written > /tmp/out; cat /tmp/out'])
    await ctr.tasks.Create({ container_id: 'reader', stdout, stderr: stdout })
    const waiting = ctr.tasks.Wait({ container_id: 'reader' })
    await ctr.tasks.Start({ container_id: 'reader' })
    expect((await waiting).exit_status).toBe(0)
    await eventually(() => (readFileSync(stdout, 'utf8').endsWith('written\n') ? true : undefined), 'output')
    expect(readFileSync(stdout, 'utf8')).toBe('NAME=from-the-rootfs\nvia busybox\nwritten\n')
    expect(readFileSync(join(rootfs, 'tmp/out'), 'utf8')).toBe('written\n')
  })

  test('a link a process makes to / or a path with .. never takes its writes out of the rootfs onto the host', async () => {
    const outside = join(tmpdir(), `fc-escape-${process.pid}-${Date.now()}`)
    const name = outside.slice(tmpdir().length + 1)
    const script = `ln -s / /tmp/up; echo via-link > /tmp/up${outside}; echo via-dots > /../../..${outside}.dots; ls /tmp/up/tmp`
    const stdout = await create('escaper', ['sh', '-c', script])
    await ctr.tasks.Create({ container_id: 'escaper', stdout, stderr: stdout })
    const waiting = ctr.tasks.Wait({ container_id: 'escaper' })
    await ctr.tasks.Start({ container_id: 'escaper' })
    await waiting
    // Both writes land inside the rootfs (its own /tmp), as the kernel resolves them under runc's root.
    expect(() => statSync(outside)).toThrow()
    expect(() => statSync(`${outside}.dots`)).toThrow()
    expect(readFileSync(join(rootfs, outside), 'utf8')).toBe('via-link\n')
    expect(readFileSync(join(rootfs, `${outside}.dots`), 'utf8')).toBe('via-dots\n')
    await eventually(() => (readFileSync(stdout, 'utf8').includes(name) ? true : undefined), 'the listing')
  })

  test('a rootfs that is not there fails Create as runc does', async () => {
    await create('missing', ['sh'], join(rootfs, 'nope'))
    const err = await grpcError(ctr.tasks.Create({ container_id: 'missing' }))
    expect(err.details).toBe(
      `failed to create shim task: OCI runtime create failed: runc create failed: invalid rootfs: stat ${join(rootfs, 'nope')}: no such file or directory: unknown`,
    )
  })

  test('docker run --init: the bind-mounted docker-init (tini) runs the command as its child and forwards SIGTERM; its mount point is made in the rootfs', async () => {
    // The host's docker-init: a static x86-64 executable that is not busybox.
    const init = join(h.logDir, 'docker-init')
    writeFileSync(init, staticBusybox().subarray(0, 64), { mode: 0o755 })
    const mounts = [{ destination: '/sbin/docker-init', type: 'bind', source: init, options: ['bind', 'ro'] }]
    await create('init', ['/sbin/docker-init', '--', 'sleep', '1000'], rootfs, mounts)
    await ctr.tasks.Create({ container_id: 'init' })
    await ctr.tasks.Start({ container_id: 'init' })
    const pids = await eventually(async () => {
      const p = (await ctr.tasks.ListPids({ container_id: 'init' })).processes
      return p.length === 2 ? p : undefined
    }, 'tini and its child')
    expect(pids).toHaveLength(2)
    expect(statSync(join(rootfs, 'sbin/docker-init')).isFile()).toBe(true)
    const waiting = ctr.tasks.Wait({ container_id: 'init' })
    await ctr.tasks.Kill({ container_id: 'init', signal: 15 })
    expect((await waiting).exit_status).toBe(143)
  })

  test("Tasks.Update's memory limits show in memory.max and memory.swap.max and in Metrics", async () => {
    await create('limited', ['sleep', '3600'])
    await ctr.tasks.Create({ container_id: 'limited' })
    await ctr.tasks.Start({ container_id: 'limited' })
    const cgroupFiles = async (): Promise<string> => {
      const out = join(h.logDir, `exec-${Math.random()}.out`)
      writeFileSync(out, '')
      const process = {
        type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Process',
        value: Buffer.from(JSON.stringify({ args: ['cat', '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.swap.max'], cwd: '/' })),
      }
      const exec_id = `e${Math.random().toString(36).slice(2)}`
      await ctr.tasks.Exec({ container_id: 'limited', exec_id, stdout: out, spec: process })
      const waiting = ctr.tasks.Wait({ container_id: 'limited', exec_id })
      await ctr.tasks.Start({ container_id: 'limited', exec_id })
      await waiting
      return eventually(() => readFileSync(out, 'utf8') || undefined, 'exec output')
    }
    const metrics = async () => {
      const [m] = (await ctr.tasks.Metrics({ filters: ['id==limited'] })).metrics
      const root = new protobuf.Root().loadSync(join(import.meta.dirname, '../../proto/cgroups/v2/metrics.proto'), { keepCase: true })
      const decoded = root.lookupType('io.containerd.cgroups.v2.Metrics').decode(m!.data!.value)
      return root.lookupType('io.containerd.cgroups.v2.Metrics').toObject(decoded, { longs: String }) as {
        memory: { usage: string; usage_limit: string; swap_limit: string }
        pids: { current: string }
      }
    }
    expect(await cgroupFiles()).toBe('max\nmax\n')
    expect((await metrics()).memory).toMatchObject({ usage_limit: '18446744073709551615', swap_limit: '18446744073709551615' })
    await ctr.tasks.Update({
      container_id: 'limited',
      resources: {
        type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources',
        value: Buffer.from(JSON.stringify({ memory: { limit: 67108864, swap: 134217728 } })),
      },
    })
    expect(await cgroupFiles()).toBe('67108864\n67108864\n')
    const after = await metrics()
    expect(after.memory).toMatchObject({ usage_limit: '67108864', swap_limit: '67108864' })
    expect(Number(after.memory.usage)).toBeGreaterThan(0)
    expect(after.pids.current).toBe('1')
  })
})

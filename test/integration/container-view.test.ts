// What a container's processes see and do, over CRI: the command line decides, nothing runs on
// the host, and the container's view (files, users, /proc, mounts) answers as a node's would.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import type { ContainerConfig } from '../../src/generated/runtime/v1/ContainerConfig.js'
import { containerConfig, eventually, grpcError, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

let h: Harness
let pod: string
let config: PodSandboxConfig
beforeEach(async () => {
  h = await harness()
  config = podConfig('view', {
    hostname: 'view-host',
    log_directory: join(h.logDir, 'pods'),
    dns_config: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
    linux: { sysctls: { 'kernel.shm_rmid_forced': '1' } },
  })
  pod = await runPod(h, config)
})
afterEach(() => h.close())

const start = (name: string, extra: Partial<ContainerConfig> = {}) =>
  runContainer(h, pod, config, containerConfig(name, { command: ['sleep', '3600'], ...extra }))
const exec = async (id: string, cmd: string[]) => {
  const r = await h.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code }
}

describe('the container view', () => {
  test('/etc from the pod: hostname, hosts, resolv.conf from the DNS config; sysctls under /proc/sys', async () => {
    const id = await start('etc')
    expect((await exec(id, ['cat', '/etc/hostname'])).out).toBe('view-host\n')
    expect((await exec(id, ['cat', '/etc/resolv.conf'])).out).toBe(
      'search default.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    )
    expect((await exec(id, ['sh', '-c', 'grep view-host /etc/hosts'])).out).toMatch(/^10\.88\.0\.2\s+view-host/m)
    expect((await exec(id, ['cat', '/proc/sys/kernel/shm_rmid_forced'])).out).toBe('1\n')
    expect((await exec(id, ['hostname'])).out).toBe('view-host\n')
  })

  test('users, groups and the security context are what the process sees', async () => {
    const id = await start('ids', {
      linux: {
        security_context: {
          run_as_user: { value: 1000 },
          run_as_group: { value: 3000 },
          supplemental_groups: [4000],
          no_new_privs: true,
          capabilities: { drop_capabilities: ['ALL'] },
        },
      },
    })
    expect((await exec(id, ['id', '-u'])).out).toBe('1000\n')
    expect((await exec(id, ['id', '-G'])).out.trim().split(' ')).toEqual(expect.arrayContaining(['3000', '4000']))
    const status = (await exec(id, ['cat', '/proc/self/status'])).out
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m)
    expect(status).toMatch(/^CapEff:\s+0000000000000000$/m)
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m)
  })

  test('writes by one process are seen by another; a read-only root refuses them', async () => {
    const id = await start('rw')
    expect((await exec(id, ['sh', '-c', 'echo hello > /tmp/note && mkdir -p /data/a && echo x > /data/a/b'])).code).toBe(0)
    expect((await exec(id, ['cat', '/tmp/note'])).out).toBe('hello\n')
    expect((await exec(id, ['sh', '-c', 'ls /data/a | wc -l'])).out.trim()).toBe('1')
    const ro = await start('ro', { linux: { security_context: { readonly_rootfs: true } } })
    const refused = await exec(ro, ['touch', '/file'])
    expect(refused.code).toBe(1)
    expect(refused.err).toMatch(/Read-only file system/)
    // Nothing of the container leaked to the host.
    expect(() => readFileSync('/tmp/note')).toThrow()
  })

  test('bind mounts read through to the host; a writable one writes to it, a read-only one refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-mount-'))
    writeFileSync(join(dir, 'config.txt'), 'from the host\n')
    const id = await start('mounts', {
      mounts: [
        { container_path: '/config', host_path: dir, readonly: true },
        { container_path: '/out', host_path: dir, readonly: false },
      ],
    })
    expect((await exec(id, ['cat', '/config/config.txt'])).out).toBe('from the host\n')
    expect((await exec(id, ['sh', '-c', 'echo written > /config/x'])).code).not.toBe(0)
    expect((await exec(id, ['sh', '-c', 'echo from the container > /out/result.txt'])).code).toBe(0)
    expect(readFileSync(join(dir, 'result.txt'), 'utf8')).toBe('from the container\n')
  })

  test('dd from /dev/zero: to /dev/null it moves nothing real; to a file the bytes are there', async () => {
    const id = await start('dd')
    const big = await exec(id, ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1M', 'count=1000'])
    expect(big.err).toMatch(/^1000\+0 records in\n1000\+0 records out\n1048576000 bytes \(1\.0GB\) copied/)
    expect((await exec(id, ['sh', '-c', 'dd if=/dev/zero of=/tmp/z bs=1k count=3 status=none && wc -c < /tmp/z'])).out).toBe('3072\n')
  })

  test('mount lists the mount table; a privileged container binds and mounts tmpfs in its own namespace, others may not', async () => {
    const plain = await start('plain-mount')
    expect((await exec(plain, ['mount'])).out).toMatch(/^overlay on \/ type overlay \(rw,relatime,lowerdir=/)
    expect((await exec(plain, ['mount', '-t', 'proc'])).out).toMatch(
      /^proc on \/proc type proc \(rw,nosuid,nodev,noexec,relatime\)\nproc on \/proc\/asound type proc \(ro,/,
    )
    expect(await exec(plain, ['sh', '-c', 'mkdir -p /mnt/x && mount --bind /etc /mnt/x'])).toMatchObject({
      err: 'mount: mounting /etc on /mnt/x failed: Operation not permitted\n',
      code: 255,
    })
    const priv = await start('priv-mount', { linux: { security_context: { privileged: true } } })
    const script = [
      'mkdir -p /mnt/x /mnt/t',
      'mount --bind /etc /mnt/x',
      'ls /mnt/x | grep -c passwd',
      'mount -t tmpfs scratch /mnt/t && echo hi > /mnt/t/f && cat /mnt/t/f',
      'mount -t tmpfs | grep /mnt/t',
      'umount /mnt/x && ls /mnt/x | wc -l',
      'umount /mnt/x',
    ].join('; ')
    expect(await exec(priv, ['sh', '-c', script])).toEqual({
      out: '1\nhi\nscratch on /mnt/t type tmpfs (rw,relatime)\n0\n',
      err: "umount: can't unmount /mnt/x: Invalid argument\n",
      code: 1,
    })
  })

  test('a private bind mount does not receive what the host mounts under it later; a slave one does', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-prop-'))
    const { mkdirSync } = await import('node:fs')
    const { execFileSync } = await import('node:child_process')
    mkdirSync(join(dir, 'mnt', 'point'), { recursive: true })
    mkdirSync(join(dir, 'src'))
    writeFileSync(join(dir, 'src', 'flag'), '')
    const mounts = (propagation: string) => ({
      mounts: [{ container_path: '/vol', host_path: join(dir, 'mnt'), propagation } as NonNullable<ContainerConfig['mounts']>[number]],
    })
    const priv = await start('prop-private', mounts('PROPAGATION_PRIVATE'))
    const slave = await start('prop-slave', mounts('PROPAGATION_HOST_TO_CONTAINER'))
    try {
      execFileSync('mount', ['--bind', join(dir, 'src'), join(dir, 'mnt', 'point')], { stdio: 'ignore' })
    } catch {
      t.skip() // the host does not let this process mount (not root, or no CAP_SYS_ADMIN)
    }
    try {
      expect((await exec(priv, ['ls', '-A', '/vol/point'])).out).toBe('')
      expect((await exec(slave, ['ls', '-A', '/vol/point'])).out).toBe('flag\n')
    } finally {
      execFileSync('umount', [join(dir, 'mnt', 'point')])
    }
  })

  test('the process table follows the PID namespace: pod-shared sees the pause process as PID 1', async () => {
    const shared = await start('shared-pid')
    expect((await exec(shared, ['cat', '/proc/1/cmdline'])).out).toBe('/pause\0')
    const own = await start('own-pid', { linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } } })
    expect((await exec(own, ['cat', '/proc/1/cmdline'])).out).toBe('sleep\x003600\0')
  })

  test('in a pod-shared PID namespace the containers are PIDs 2, 3, … in the order they started', async () => {
    const first = await start('first', { command: ['sleep', '3601'] })
    const second = await start('second', { command: ['sleep', '3602'] })
    for (const id of [first, second]) {
      const cmdlines = await Promise.all([1, 2, 3].map(async (pid) => (await exec(id, ['cat', `/proc/${pid}/cmdline`])).out))
      expect(cmdlines).toEqual(['/pause\0', 'sleep\x003601\0', 'sleep\x003602\0'])
    }
  })
})

describe('command lines decide what a container does', () => {
  test('a shell loop writes to the log as time passes on the simulated clock', async () => {
    h.fake.clock.freeze(true)
    const id = await start('ticker', {
      command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 1; done'],
      log_path: 'ticker/0.log',
    })
    const path = (await h.runtime.ContainerStatus({ container_id: id })).status!.log_path
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 10))
      h.fake.clock.advance(1000)
    }
    const lines = await eventually(() => {
      const text = readFileSync(path, 'utf8')
      return (text.match(/tick/g) ?? []).length >= 4 ? text : undefined
    }, 'four ticks')
    expect(
      lines
        .trim()
        .split('\n')
        .slice(0, 4)
        .map((l) => l.split(' ').slice(3).join(' ')),
    ).toEqual(['tick 1', 'tick 2', 'tick 3', 'tick 4'])
  })

  test('pipes, command substitution and traps in container scripts', async () => {
    const id = await start('script', {
      command: ['sh', '-c', 'trap "echo stopping; exit 0" TERM; echo "$(echo hi | tr a-z A-Z)"; while true; do sleep 1; done'],
      log_path: 'script/0.log',
      linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } },
    })
    const path = (await h.runtime.ContainerStatus({ container_id: id })).status!.log_path
    await eventually(() => (readFileSync(path, 'utf8').includes('HI') ? true : undefined), 'HI in the log')
    await h.runtime.StopContainer({ container_id: id, timeout: 5 })
    expect((await h.runtime.ContainerStatus({ container_id: id })).status).toMatchObject({ exit_code: 0, reason: 'Completed' })
    expect(readFileSync(path, 'utf8')).toContain('stopping')
  })

  test('an entrypoint that is not in the image fails StartContainer as containerd reports it', async () => {
    await h.image.PullImage({ image: { image: 'busybox' } })
    const { container_id } = await h.runtime.CreateContainer({
      pod_sandbox_id: pod,
      config: containerConfig('missing', { command: ['/no/such/binary'] }),
      sandbox_config: config,
    })
    const err = await grpcError(h.runtime.StartContainer({ container_id }))
    expect(err.details).toMatch(
      /failed to create containerd task: failed to create shim task: OCI runtime create failed: .*exec: "\/no\/such\/binary": executable file not found in \$PATH/,
    )
    expect(await waitForState(h, container_id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 128, reason: 'StartError' })
  })

  test('an unknown command inside a shell is sh: X: not found (127)', async () => {
    const id = await start('unknown')
    expect(await exec(id, ['sh', '-c', 'frobnicate'])).toMatchObject({ code: 127, err: 'sh: frobnicate: not found\n' })
  })
})

describe('users by name', () => {
  test('RunAsUsername is looked up in the image /etc/passwd; an unknown one is refused', async () => {
    const id = await start('named', { linux: { security_context: { run_as_username: 'nobody' } } })
    expect((await exec(id, ['id', '-nu'])).out).toBe('nobody\n')
    expect((await exec(id, ['id', '-u'])).out).toBe('65534\n')
    expect((await h.runtime.ContainerStatus({ container_id: id })).status!.user!.linux).toMatchObject({ uid: '65534' })
    const err = await grpcError(
      h.runtime.CreateContainer({
        pod_sandbox_id: pod,
        config: containerConfig('ghost', { command: ['sleep', '1'], linux: { security_context: { run_as_username: 'ghost' } } }),
        sandbox_config: config,
      }),
    )
    expect([err.code, err.details]).toEqual([3, expect.stringContaining('unable to find user ghost')])
  })
})

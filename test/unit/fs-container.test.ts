import * as nodeFs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import {
  capabilityMask,
  createContainerFs,
  DEFAULT_CAPABILITIES,
  DEVICE_READ_BYTES,
  FsError,
  sandboxFiles,
  type ContainerFsInput,
  type FsErrorCode,
} from '../../src/sim/fs/index.js'

const base = (extra: Partial<ContainerFsInput> = {}): ContainerFsInput => ({
  image: { name: 'docker.io/library/busybox:1.36' },
  hostname: 'web-0',
  podIp: '10.88.0.9',
  user: { uid: 0, gid: 0 },
  ...extra,
})
const make = (extra: Partial<ContainerFsInput> = {}) => createContainerFs(base(extra))

/** The FsError code a call throws. */
function code(f: () => unknown): FsErrorCode | undefined {
  try {
    f()
  } catch (err) {
    if (err instanceof FsError) return err.code
    throw err
  }
  return undefined
}

const status = (fs: { readFile(p: string): Buffer }, path = '/proc/self/status'): Record<string, string> =>
  Object.fromEntries(
    fs
      .readFile(path)
      .toString()
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).replace(/^\t/, '')]),
  )

let host: string
beforeEach(() => {
  host = nodeFs.mkdtempSync(join(tmpdir(), 'fake-containerd-fs-test-'))
})
afterEach(() => {
  nodeFs.rmSync(host, { recursive: true, force: true })
})

describe('root filesystem', () => {
  test('writes go to the writable layer; the image layer is untouched', () => {
    const fs = make()
    fs.writeFile('/etc/motd', 'hello\n')
    fs.writeFile('/etc/motd', 'again\n', { append: true })
    fs.mkdir('/var/lib/app', { recursive: true })
    fs.rm('/etc/shadow')
    expect(fs.readFile('/etc/motd').toString()).toBe('hello\nagain\n')
    expect(fs.stat('/etc/shadow')).toBeUndefined()
    expect(fs.changes()).toEqual([
      { kind: 'modify', path: '/etc' },
      { kind: 'add', path: '/etc/motd' },
      { kind: 'delete', path: '/etc/shadow' },
      { kind: 'modify', path: '/var' },
      { kind: 'add', path: '/var/lib' },
      { kind: 'add', path: '/var/lib/app' },
    ])
    expect(createContainerFs(base()).stat('/etc/shadow')).toBeDefined()
  })

  test('new files get the umask applied and the caller as owner', () => {
    const fs = make({ user: { uid: 1000, gid: 1000 } })
    fs.writeFile('/tmp/f', 'x')
    fs.mkdir('/tmp/d')
    expect(fs.stat('/tmp/f')).toMatchObject({ type: 'file', mode: 0o644, uid: 1000, gid: 1000, size: 1 })
    expect(fs.stat('/tmp/d')).toMatchObject({ type: 'dir', mode: 0o755, uid: 1000 })
  })

  test('errors: ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY', () => {
    const fs = make()
    expect(code(() => fs.readFile('/nope'))).toBe('ENOENT')
    expect(code(() => fs.writeFile('/nope/x', ''))).toBe('ENOENT')
    expect(code(() => fs.mkdir('/etc'))).toBe('EEXIST')
    expect(code(() => fs.readFile('/etc/passwd/x'))).toBe('ENOTDIR')
    expect(code(() => fs.readdir('/etc/passwd'))).toBe('ENOTDIR')
    expect(code(() => fs.readFile('/etc'))).toBe('EISDIR')
    expect(code(() => fs.writeFile('/etc', 'x'))).toBe('EISDIR')
    expect(code(() => fs.rm('/etc'))).toBe('ENOTEMPTY')
    expect(code(() => fs.mkdir('/etc/passwd/x', { recursive: true }))).toBe('ENOTDIR')
    fs.rm('/home')
    expect(fs.stat('/home')).toBeUndefined()
  })

  test('rename: replaces files, refuses a non-empty directory, a move into itself, a mount point', () => {
    const fs = make()
    fs.writeFile('/tmp/a', 'A')
    fs.writeFile('/tmp/b', 'B')
    fs.rename('/tmp/a', '/tmp/b')
    expect(fs.readFile('/tmp/b').toString()).toBe('A')
    expect(fs.stat('/tmp/a')).toBeUndefined()
    expect(code(() => fs.rename('/tmp', '/etc'))).toBe('ENOTEMPTY')
    expect(code(() => fs.rename('/var', '/var/x'))).toBe('EINVAL')
    expect(code(() => fs.rename('/etc/hosts', '/tmp/hosts'))).toBe('EBUSY')
    expect(code(() => fs.rm('/etc/hosts'))).toBe('EBUSY')
    expect(code(() => fs.rename('/tmp/b', '/etc'))).toBe('EISDIR')
  })

  test('a rename across mounts copies and removes', () => {
    const fs = make()
    fs.mkdir('/tmp/dir')
    fs.writeFile('/tmp/dir/f', 'data')
    fs.rename('/tmp/dir', '/dev/shm/dir')
    expect(fs.readFile('/dev/shm/dir/f').toString()).toBe('data')
    expect(fs.stat('/tmp/dir')).toBeUndefined()
  })

  test('one filesystem for the container: a write by one process is read by another', () => {
    const fs = make({ processes: () => [{ pid: 1, args: ['sh'], uid: 0, gid: 0 }] })
    fs.view({ pid: 1 }).writeFile('/tmp/shared', 'from 1')
    expect(
      fs
        .view({ pid: 7, args: ['cat'] })
        .readFile('/tmp/shared')
        .toString(),
    ).toBe('from 1')
  })
})

describe('read-only root filesystem', () => {
  test('EROFS on the root; mounts stay writable', () => {
    const fs = make({ readonlyRootfs: true })
    expect(code(() => fs.writeFile('/etc/motd', 'x'))).toBe('EROFS')
    expect(code(() => fs.writeFile('/tmp/x', 'x'))).toBe('EROFS')
    expect(code(() => fs.mkdir('/data'))).toBe('EROFS')
    expect(code(() => fs.rm('/etc/shadow'))).toBe('EROFS')
    expect(code(() => fs.symlink('/x', '/tmp/l'))).toBe('EROFS')
    expect(code(() => fs.mkdir('/etc'))).toBe('EEXIST')
    expect(code(() => fs.rm('/nope'))).toBe('ENOENT')
    // containerd mounts the pod's files read-only along with the root.
    expect(code(() => fs.writeFile('/etc/hosts', 'x'))).toBe('EROFS')
    fs.writeFile('/dev/shm/ok', 'shm')
    fs.writeFile('/dev/ok', 'dev')
    fs.writeFile('/dev/null', 'discarded')
    expect(fs.readFile('/dev/shm/ok').toString()).toBe('shm')
  })

  test('security_context.readonly_rootfs is the default', () => {
    const fs = make({ security: { readonly_rootfs: true } })
    expect(code(() => fs.writeFile('/x', ''))).toBe('EROFS')
    expect(fs.procMounts().split('\n')[0]).toMatch(/^overlay \/ overlay ro,relatime,lowerdir=/)
  })
})

describe('bind mounts', () => {
  test('read through to the host directory and write to it when writable', () => {
    nodeFs.writeFileSync(join(host, 'config.yaml'), 'key: value\n')
    nodeFs.mkdirSync(join(host, 'sub'))
    const fs = make({ mounts: [{ container_path: '/data', host_path: host }] })
    expect(fs.readdir('/')).toContain('data')
    expect(fs.readdir('/data')).toEqual(['config.yaml', 'sub'])
    expect(fs.readFile('/data/config.yaml').toString()).toBe('key: value\n')
    expect(fs.stat('/data/sub')?.type).toBe('dir')
    fs.writeFile('/data/out.txt', 'written in the container\n')
    fs.writeFile('/data/out.txt', 'more\n', { append: true })
    fs.mkdir('/data/sub/new')
    fs.rename('/data/config.yaml', '/data/sub/config.yaml')
    fs.symlink('out.txt', '/data/link')
    expect(nodeFs.readFileSync(join(host, 'out.txt'), 'utf8')).toBe('written in the container\nmore\n')
    expect(nodeFs.statSync(join(host, 'sub', 'new')).isDirectory()).toBe(true)
    expect(nodeFs.existsSync(join(host, 'sub', 'config.yaml'))).toBe(true)
    expect(nodeFs.readlinkSync(join(host, 'link'))).toBe('out.txt')
    fs.rm('/data/out.txt')
    expect(nodeFs.existsSync(join(host, 'out.txt'))).toBe(false)
    expect(fs.procMounts()).toContain('/dev/sda1 /data ext4 rw,relatime 0 0')
  })

  test('a read-only bind mount refuses writes (EROFS) and the host is untouched', () => {
    nodeFs.writeFileSync(join(host, 'keep'), 'original')
    const fs = make({ mounts: [{ container_path: '/config', host_path: host, readonly: true }] })
    expect(fs.readFile('/config/keep').toString()).toBe('original')
    expect(code(() => fs.writeFile('/config/keep', 'changed'))).toBe('EROFS')
    expect(code(() => fs.writeFile('/config/new', 'x'))).toBe('EROFS')
    expect(code(() => fs.rm('/config/keep'))).toBe('EROFS')
    expect(code(() => fs.mkdir('/config/d'))).toBe('EROFS')
    expect(nodeFs.readdirSync(host)).toEqual(['keep'])
    expect(nodeFs.readFileSync(join(host, 'keep'), 'utf8')).toBe('original')
  })

  test('a single file, and a symlinked host path resolved on the host', () => {
    nodeFs.mkdirSync(join(host, 'real'))
    nodeFs.writeFileSync(join(host, 'real', 'token'), 'secret')
    nodeFs.symlinkSync(join(host, 'real'), join(host, 'alias'))
    const fs = make({
      mounts: [
        { container_path: '/var/run/secrets/token', host_path: join(host, 'real', 'token'), readonly: true },
        { container_path: '/mnt/alias', host_path: join(host, 'alias') },
      ],
    })
    expect(fs.stat('/var/run/secrets/token')?.type).toBe('file')
    expect(fs.readFile('/var/run/secrets/token').toString()).toBe('secret')
    expect(fs.readdir('/var/run/secrets')).toEqual(['token'])
    expect(fs.lstat('/mnt/alias')?.type).toBe('dir')
    expect(fs.readdir('/mnt/alias')).toEqual(['token'])
    fs.writeFile('/mnt/alias/added', 'x')
    expect(nodeFs.existsSync(join(host, 'real', 'added'))).toBe(true)
  })

  test('symlinks inside a bind mount resolve inside the container, not on the host', () => {
    nodeFs.symlinkSync('/etc/hostname', join(host, 'name'))
    const fs = make({ mounts: [{ container_path: '/data', host_path: host }] })
    expect(fs.readlink('/data/name')).toBe('/etc/hostname')
    expect(fs.readFile('/data/name').toString()).toBe('web-0\n')
  })

  test('two containers naming the same host path share it; a missing host path is an empty directory', () => {
    const a = make({ mounts: [{ container_path: '/shared', host_path: host }] })
    const b = make({ mounts: [{ container_path: '/also', host_path: host, propagation: 'PROPAGATION_HOST_TO_CONTAINER' }] })
    a.writeFile('/shared/msg', 'hi')
    expect(b.readFile('/also/msg').toString()).toBe('hi')
    expect(b.procMounts()).toContain('/dev/sda1 /also ext4 rw,relatime,slave 0 0')
    const c = make({ mounts: [{ container_path: '/gone', host_path: join(host, 'missing') }] })
    expect(c.readdir('/gone')).toEqual([])
    expect(code(() => c.writeFile('/gone/x', ''))).toBe('ENOENT')
    expect(nodeFs.existsSync(join(host, 'missing'))).toBe(false)
  })
})

describe('symlinks', () => {
  test('relative and absolute targets resolve inside the container root', () => {
    const fs = make()
    fs.mkdir('/app')
    fs.writeFile('/app/real', 'content')
    fs.symlink('real', '/app/rel')
    fs.symlink('/app/real', '/app/abs')
    fs.symlink('../../../../../../app/real', '/tmp/up')
    fs.symlink('/app', '/tmp/dirlink')
    expect(fs.readFile('/app/rel').toString()).toBe('content')
    expect(fs.readFile('/app/abs').toString()).toBe('content')
    expect(fs.readFile('/tmp/up').toString()).toBe('content')
    expect(fs.readFile('/tmp/dirlink/real').toString()).toBe('content')
    expect(fs.realpath('/tmp/dirlink/rel')).toBe('/app/real')
    expect(fs.readlink('/app/rel')).toBe('real')
    expect(fs.lstat('/app/rel')).toMatchObject({ type: 'symlink', target: 'real', mode: 0o777 })
    expect(fs.stat('/app/rel')?.type).toBe('file')
    expect(code(() => fs.readlink('/app/real'))).toBe('EINVAL')
    expect(code(() => fs.symlink('x', '/app/rel'))).toBe('EEXIST')
  })

  test('a write through a dangling link creates its target', () => {
    const fs = make()
    fs.symlink('/tmp/target', '/tmp/dangling')
    expect(fs.stat('/tmp/dangling')).toBeUndefined()
    fs.writeFile('/tmp/dangling', 'made')
    expect(fs.readFile('/tmp/target').toString()).toBe('made')
  })

  test('loops are ELOOP', () => {
    const fs = make()
    fs.symlink('/tmp/b', '/tmp/a')
    fs.symlink('/tmp/a', '/tmp/b')
    fs.symlink('self', '/tmp/self')
    expect(code(() => fs.readFile('/tmp/a'))).toBe('ELOOP')
    expect(code(() => fs.realpath('/tmp/self'))).toBe('ELOOP')
    expect(code(() => fs.readdir('/tmp/a/x'))).toBe('ELOOP')
    expect(fs.stat('/tmp/a')).toBeUndefined()
    expect(fs.lstat('/tmp/a')?.type).toBe('symlink')
    fs.rm('/tmp/a')
    expect(fs.lstat('/tmp/a')).toBeUndefined()
  })
})

describe('permissions', () => {
  test('a non-root user: EACCES outside what it may write; /tmp is open', () => {
    const fs = make({ user: { uid: 1000, gid: 1000 } })
    expect(code(() => fs.writeFile('/etc/passwd', 'x'))).toBe('EACCES')
    expect(code(() => fs.writeFile('/etc/new', 'x'))).toBe('EACCES')
    expect(code(() => fs.readdir('/root'))).toBe('EACCES')
    expect(code(() => fs.readFile('/root/../etc/passwd'))).toBe('EACCES')
    expect(code(() => fs.readFile('/etc/shadow'))).toBe('EACCES')
    expect(code(() => fs.rm('/bin/busybox'))).toBe('EACCES')
    expect(fs.readFile('/etc/passwd').toString()).toContain('root:x:0:0')
    fs.writeFile('/tmp/mine', 'ok')
    expect(code(() => fs.view({ pid: 2, uid: 1001, gid: 1001 }).rm('/tmp/mine'))).toBe('EACCES')
    fs.rm('/tmp/mine')
  })

  test('root without CAP_DAC_OVERRIDE is held to the permission bits', () => {
    const fs = make({ security: { capabilities: { drop_capabilities: ['ALL'] } } })
    fs.view({ pid: 3, uid: 1000, gid: 1000 }).writeFile('/tmp/users', 'x')
    expect(code(() => fs.writeFile('/tmp/users', 'y'))).toBe('EACCES')
    fs.writeFile('/etc/motd', 'root owns /etc')
    expect(make().readFile('/root/../etc/passwd').length).toBeGreaterThan(0)
  })

  test('chmod and utimes: the owner (or CAP_FOWNER) only', () => {
    const fs = make()
    fs.writeFile('/tmp/f', 'x')
    fs.chmod('/tmp/f', 0o600)
    fs.utimes('/tmp/f', 86_400_000)
    expect(fs.stat('/tmp/f')).toMatchObject({ mode: 0o600, mtimeMs: 86_400_000 })
    expect(code(() => fs.view({ pid: 5, uid: 1000, gid: 1000 }).chmod?.('/tmp/f', 0o777))).toBe('EPERM')
  })
})

describe('/etc from the pod', () => {
  test('resolv.conf from the DNS config, as containerd writes it', () => {
    const fs = make({
      dns: { servers: ['10.96.0.10', '10.96.0.11'], searches: ['ns.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
    })
    expect(fs.readFile('/etc/resolv.conf').toString()).toBe(
      'search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5\n',
    )
    expect(make().readFile('/etc/resolv.conf').toString()).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n')
  })

  test('hostname and hosts: localhost lines plus the pod IP and hostname', () => {
    const fs = make()
    expect(fs.readFile('/etc/hostname').toString()).toBe('web-0\n')
    const hosts = fs.readFile('/etc/hosts').toString()
    expect(hosts).toMatch(/^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n/)
    expect(hosts.endsWith('10.88.0.9\tweb-0\n')).toBe(true)
    expect(make({ podIp: '' }).readFile('/etc/hosts').toString()).not.toContain('web-0')
    expect(fs.readFile('/proc/sys/kernel/hostname').toString()).toBe('web-0\n')
  })

  test('a CRI mount of /etc/hosts replaces the pod file', () => {
    nodeFs.writeFileSync(join(host, 'etc-hosts'), '127.0.0.1\tlocalhost\n10.1.1.1\tkubelet-managed\n')
    const fs = make({ mounts: [{ container_path: '/etc/hosts', host_path: join(host, 'etc-hosts') }] })
    expect(fs.readFile('/etc/hosts').toString()).toContain('kubelet-managed')
    expect(fs.procMounts().match(/ \/etc\/hosts /g)).toHaveLength(1)
  })

  test("a pod's files are shared by its containers", () => {
    const pod = sandboxFiles({ hostname: 'web-0', podIp: '10.88.0.9' })
    const a = make({ sandbox: pod })
    const b = make({ sandbox: pod, readonlyRootfs: true })
    a.writeFile('/etc/hosts', '10.0.0.1\textra\n', { append: true })
    a.writeFile('/dev/shm/seg', 'shared memory')
    expect(b.readFile('/etc/hosts').toString()).toContain('10.0.0.1\textra')
    expect(b.readFile('/dev/shm/seg').toString()).toBe('shared memory')
    expect(code(() => b.writeFile('/etc/hosts', ''))).toBe('EROFS')
  })

  test('passwd and group gain entries for ids the image does not name', () => {
    const fs = make({ user: { uid: 1000, gid: 3000, supplementalGroups: [4000, 10, 4000] } })
    const passwd = fs.readFile('/etc/passwd').toString()
    const group = fs.readFile('/etc/group').toString()
    expect(passwd.endsWith('nobody:x:65534:65534:nobody:/home:/bin/false\n1000:x:1000:3000:1000 user:/:/sbin/nologin\n')).toBe(true)
    expect(group.endsWith('nogroup:x:65534:\n3000:x:3000:\n4000:x:4000:\n')).toBe(true)
    // Sorted, as the kernel keeps a process's supplementary groups.
    expect(fs.identity()).toEqual({ uid: 1000, gid: 3000, groups: [10, 3000, 4000], user: '1000', group: '3000' })
    const named = make({ user: { uid: 1234, gid: 1234, username: 'app' } })
    expect(named.readFile('/etc/passwd').toString()).toContain('app:x:1234:1234:app user:/:/sbin/nologin\n')
    expect(
      make({ user: { uid: 33, gid: 33 } })
        .readFile('/etc/passwd')
        .toString(),
    ).toBe(make().readFile('/etc/passwd').toString())
    expect(make({ user: { uid: 0, gid: 0 } }).identity()).toEqual({ uid: 0, gid: 0, groups: [0, 10], user: 'root', group: 'root' })
  })
})

describe('/proc', () => {
  test('status of the default capability set, NoNewPrivs and Seccomp', () => {
    const s = status(make())
    expect(s).toMatchObject({
      Name: '',
      State: 'R (running)',
      Pid: '1',
      PPid: '0',
      Uid: '0\t0\t0\t0',
      Gid: '0\t0\t0\t0',
      Groups: '0 10 ',
      CapInh: '0000000000000000',
      CapPrm: '00000000a80425fb',
      CapEff: '00000000a80425fb',
      CapBnd: '00000000a80425fb',
      CapAmb: '0000000000000000',
      NoNewPrivs: '0',
      Seccomp: '0',
    })
    expect(capabilityMask(DEFAULT_CAPABILITIES)).toBe(0xa80425fbn)
  })

  test('drop ALL, add NET_ADMIN, privileged', () => {
    expect(status(make({ security: { capabilities: { drop_capabilities: ['ALL'] } } })).CapEff).toBe('0000000000000000')
    expect(status(make({ security: { capabilities: { add_capabilities: ['NET_ADMIN'] } } })).CapEff).toBe('00000000a80435fb')
    const both = status(
      make({ security: { capabilities: { drop_capabilities: ['ALL'], add_capabilities: ['NET_ADMIN', 'CAP_NET_RAW'] } } }),
    )
    expect(both.CapEff).toBe('0000000000003000')
    expect(both.CapBnd).toBe('0000000000003000')
    const dropped = status(make({ security: { capabilities: { drop_capabilities: ['KILL', 'chown'] } } }))
    expect(dropped.CapEff).toBe('00000000a80425da')
    const all = status(make({ security: { privileged: true, capabilities: { drop_capabilities: ['ALL'] } } }))
    expect(all.CapEff).toBe('000001ffffffffff')
    expect(all.CapBnd).toBe('000001ffffffffff')
  })

  test('a non-root process keeps only its bounding set (and ambient capabilities)', () => {
    const s = status(make({ user: { uid: 1000, gid: 1000 } }))
    expect(s).toMatchObject({
      Uid: '1000\t1000\t1000\t1000',
      CapPrm: '0000000000000000',
      CapEff: '0000000000000000',
      CapBnd: '00000000a80425fb',
    })
    const amb = status(
      make({
        user: { uid: 1000, gid: 1000 },
        security: { capabilities: { add_capabilities: ['NET_BIND_SERVICE'], add_ambient_capabilities: ['NET_BIND_SERVICE'] } },
      }),
    )
    expect(amb).toMatchObject({
      CapInh: '0000000000000400',
      CapPrm: '0000000000000400',
      CapEff: '0000000000000400',
      CapAmb: '0000000000000400',
    })
  })

  test('no_new_privs and seccomp profiles', () => {
    expect(status(make({ security: { no_new_privs: true } })).NoNewPrivs).toBe('1')
    expect(status(make({ security: { seccomp: { profile_type: 'RuntimeDefault' } } }))).toMatchObject({
      Seccomp: '2',
      Seccomp_filters: '1',
    })
    expect(status(make({ security: { seccomp: { profile_type: 'Localhost', localhost_ref: 'profiles/audit.json' } } })).Seccomp).toBe('2')
    expect(status(make({ security: { seccomp: { profile_type: 'Unconfined' } } })).Seccomp).toBe('0')
    expect(status(make({ security: { seccomp_profile_path: 'runtime/default' } })).Seccomp).toBe('2')
    expect(status(make({ security: { privileged: true, seccomp: { profile_type: 'RuntimeDefault' } } })).Seccomp).toBe('0')
  })

  test('the processes of the PID namespace: status, cmdline, comm, cgroup; /proc/self per view', () => {
    const fs = make({
      processes: () => [
        { pid: 1, args: ['/bin/sh', '-c', 'sleep 3600'], uid: 0, gid: 0 },
        { pid: 12, ppid: 1, args: ['/usr/local/bin/a-very-long-program-name', '--flag'], uid: 1000, gid: 1000, groups: [1000, 5] },
      ],
    })
    expect(fs.readdir('/proc').filter((n) => /^\d+$/.test(n))).toEqual(['1', '12'])
    expect(fs.readFile('/proc/1/cmdline').toString()).toBe('/bin/sh\0-c\0sleep 3600\0')
    expect(fs.readFile('/proc/12/comm').toString()).toBe('a-very-long-pro\n')
    expect(fs.readFile('/proc/1/cgroup').toString()).toBe('0::/\n')
    expect(status(fs, '/proc/12/status')).toMatchObject({
      Name: 'a-very-long-pro',
      State: 'S (sleeping)',
      PPid: '1',
      Uid: '1000\t1000\t1000\t1000',
      Groups: '1000 5 ',
    })
    expect(fs.stat('/proc/12')).toMatchObject({ type: 'dir', uid: 1000 })
    expect(fs.readlink('/proc/self')).toBe('1')
    const exec = fs.view({ pid: 40, args: ['cat', '/proc/self/status'] })
    expect(exec.readlink('/proc/self')).toBe('40')
    expect(exec.readdir('/proc')).toContain('40')
    expect(status(exec)).toMatchObject({ Name: 'cat', Pid: '40', State: 'R (running)' })
    expect(exec.readFile('/proc/self/cmdline').toString()).toBe('cat\0/proc/self/status\0')
    expect(code(() => fs.readFile('/proc/99/status'))).toBe('ENOENT')
    expect(code(() => fs.writeFile('/proc/1/status', 'x'))).toBe('EACCES')
  })

  test('sysctls appear under /proc/sys, read-only unless privileged', () => {
    const sysctls = { 'kernel.shm_rmid_forced': '1', 'net.ipv4.ip_local_port_range': '1024 65000', 'net/ipv4/conf/eth0.100/rp_filter': '2' }
    const fs = make({ sysctls })
    expect(fs.readFile('/proc/sys/kernel/shm_rmid_forced').toString()).toBe('1\n')
    expect(fs.readFile('/proc/sys/net/ipv4/ip_local_port_range').toString()).toBe('1024 65000\n')
    expect(fs.readFile('/proc/sys/net/ipv4/conf/eth0.100/rp_filter').toString()).toBe('2\n')
    expect(fs.readFile('/proc/sys/net/ipv4/ip_unprivileged_port_start').toString()).toBe('0\n')
    expect(fs.readdir('/proc/sys')).toEqual(['kernel', 'net', 'vm'])
    expect(code(() => fs.writeFile('/proc/sys/kernel/shm_rmid_forced', '0'))).toBe('EROFS')
    const privileged = make({ sysctls, security: { privileged: true } })
    privileged.writeFile('/proc/sys/kernel/shm_rmid_forced', '0\n')
    expect(privileged.readFile('/proc/sys/kernel/shm_rmid_forced').toString()).toBe('0\n')
    expect(code(() => privileged.writeFile('/proc/sys/kernel/nope', '1'))).toBe('EACCES')
  })

  test('masked paths read empty or are empty read-only directories; read-only paths are EROFS', () => {
    const fs = make()
    expect(fs.stat('/proc/kcore')).toMatchObject({ type: 'char', rdev: [1, 3] })
    expect(fs.readFile('/proc/kcore').length).toBe(0)
    expect(fs.readFile('/proc/keys').length).toBe(0)
    fs.writeFile('/proc/keys', 'discarded')
    expect(fs.readdir('/proc/acpi')).toEqual([])
    expect(fs.readdir('/sys/firmware')).toEqual([])
    expect(code(() => fs.writeFile('/proc/acpi/x', ''))).toBe('EROFS')
    expect(code(() => fs.writeFile('/proc/sysrq-trigger', 'b'))).toBe('EROFS')
    expect(fs.procMounts()).toContain('tmpfs /proc/acpi tmpfs ro,relatime,size=0k 0 0')
    expect(fs.procMounts()).toContain('proc /proc/sys proc ro,nosuid,nodev,noexec,relatime 0 0')
    const privileged = make({ security: { privileged: true } })
    expect(privileged.stat('/proc/kcore')).toMatchObject({ type: 'file', mode: 0o400 })
    const custom = make({ maskedPaths: ['/etc/shadow'], readonlyPaths: ['/var'] })
    expect(custom.readFile('/etc/shadow').length).toBe(0)
    expect(custom.stat('/proc/kcore')?.type).toBe('file')
    expect(code(() => custom.writeFile('/var/x', ''))).toBe('EROFS')
    const fromSc = make({ security: { masked_paths: ['/proc/meminfo'], readonly_paths: [] } })
    expect(fromSc.readFile('/proc/meminfo').length).toBe(0)
    expect(fromSc.stat('/proc/kcore')?.type).toBe('file')
  })

  test('mounts, meminfo, cpuinfo, uptime', () => {
    let now = 7_200_000
    const fs = make({ now: () => now, bootTimeMs: 0 })
    expect(fs.readFile('/proc/uptime').toString()).toBe('7200.00 12960.00\n')
    now += 1500
    expect(fs.readFile('/proc/uptime').toString()).toMatch(/^7201\.50 /)
    expect(fs.readlink('/proc/mounts')).toBe('self/mounts')
    const mounts = fs.readFile('/proc/mounts').toString()
    expect(mounts).toBe(fs.procMounts())
    expect(mounts.split('\n').slice(1, 3)).toEqual([
      'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0',
      'tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755 0 0',
    ])
    expect(fs.readFile('/proc/meminfo').toString()).toMatch(/^MemTotal:       16384000 kB\n/)
    expect(fs.readFile('/proc/cpuinfo').toString()).toContain('processor\t: 1\n')
    expect(fs.readFile('/sys/fs/cgroup/memory.max').toString()).toBe('max\n')
    expect(make({ memoryLimitBytes: 67108864 }).readFile('/sys/fs/cgroup/memory.max').toString()).toBe('67108864\n')
    expect(code(() => fs.writeFile('/sys/fs/cgroup/memory.max', '1'))).toBe('EROFS')
  })
})

describe('/dev', () => {
  test('devices read and write as devices', () => {
    let out = ''
    const fs = make()
    expect(fs.readFile('/dev/null').length).toBe(0)
    expect(fs.readFile('/dev/zero')).toEqual(Buffer.alloc(DEVICE_READ_BYTES))
    expect(fs.readFile('/dev/urandom').length).toBe(DEVICE_READ_BYTES)
    const view = fs.view({ pid: 3, output: (stream, text) => (out += `${stream}:${text}`) })
    view.writeFile('/dev/stdout', 'to stdout\n')
    view.writeFile('/dev/stderr', 'to stderr\n', { append: true })
    expect(out).toBe('stdout:to stdout\nstderr:to stderr\n')
    expect(fs.stat('/dev/shm')).toMatchObject({ type: 'dir', mode: 0o1777 })
    expect(fs.readlink('/dev/fd')).toBe('/proc/self/fd')
  })
})

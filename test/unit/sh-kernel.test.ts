// The kernel's decisions: capabilities and seccomp (containerd's default profile, Localhost
// profiles decoded as Go decodes them), sethostname and the UTS namespace.
import { describe, expect, test } from 'vitest'
import type { ContainerFsInput } from '../../src/sim/fs/index.js'
import { DEFAULT_CAPABILITIES, type SecurityContextInput } from '../../src/sim/fs/security.js'
import { execContext } from '../../src/sim/kernel.js'
import { SeccompFilter, decodeProfile, defaultProfile, profileError, type SeccompProfile } from '../../src/sim/seccomp.js'
import { busyboxFs } from './fs-helpers.js'
import { SimClock } from '../../src/sim/clock.js'
import { sh as run, start, until, type MemFs } from './sh-helpers.js'

/** Runs a script in a busybox container with this security context, as a process of it (its view). */
function container(security: SecurityContextInput | null, extra: Partial<ContainerFsInput> = {}) {
  const fs = busyboxFs({ security, ...extra })
  const options = (clock?: SimClock) => ({
    fs: fs.view({ pid: 1 }) as unknown as MemFs,
    identity: fs.identity(),
    hostname: 'test-pod',
    kernel: fs.kernel,
    ...(clock ? { clock } : {}),
  })
  /** Runs to its end. */
  const sh = (script: string) => run(script, options())
  /** Starts it on a frozen simulated clock. */
  const begin = (script: string) => {
    const clock = new SimClock()
    clock.freeze(true)
    return { clock, running: start(script, options(clock)) }
  }
  return { fs, sh, begin }
}

const BLOCK_HOSTNAME: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_ERRNO' }],
}

describe('seccomp filters', () => {
  test("containerd's default profile: sethostname only with CAP_SYS_ADMIN, clone3 is ENOSYS without it, AF_ALG sockets refused", () => {
    const plain = new SeccompFilter(defaultProfile(DEFAULT_CAPABILITIES))
    const admin = new SeccompFilter(defaultProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN']))
    expect(plain.check('sethostname')).toEqual({ action: 'errno', errno: 1 })
    expect(admin.check('sethostname')).toEqual({ action: 'allow' })
    expect(plain.check('chmod')).toEqual({ action: 'allow' })
    expect(plain.check('clone3')).toEqual({ action: 'errno', errno: 38 })
    expect(admin.check('clone3')).toEqual({ action: 'allow' })
    expect(plain.check('socket', [2, 3, 1])).toEqual({ action: 'allow' })
    expect(plain.check('socket', [38])).toEqual({ action: 'errno', errno: 1 })
    expect(plain.check('mount')).toEqual({ action: 'errno', errno: 1 })
  })
  test('rules: the first that matches, argument comparisons, errnoRet, kill actions, the default action', () => {
    const f = new SeccompFilter({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 13,
      syscalls: [
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 22 },
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
        { names: ['reboot'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['ptrace'], action: 'SCMP_ACT_TRACE' },
      ],
    })
    expect(f.check('personality', [8])).toEqual({ action: 'allow' })
    expect(f.check('personality', [9])).toEqual({ action: 'errno', errno: 22 })
    expect(f.check('clone', [0x11])).toEqual({ action: 'allow' })
    expect(f.check('clone', [0x20000000])).toEqual({ action: 'errno', errno: 13 })
    expect(f.check('reboot')).toEqual({ action: 'kill' })
    expect(f.check('ptrace')).toEqual({ action: 'errno', errno: 38 })
    expect(f.check('write')).toEqual({ action: 'errno', errno: 13 })
  })
  test("a profile of the wrong shape (a spec sent through containerd's API) answers with its default action, never throws", () => {
    const odd = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: 'chmod', action: 'SCMP_ACT_ERRNO' }, { action: 'SCMP_ACT_ERRNO' }] }
    const f = new SeccompFilter(odd as unknown as SeccompProfile)
    expect(f.check('chmod')).toEqual({ action: 'allow' })
    expect(profileError({ syscalls: 'x' } as unknown as SeccompProfile)).toBe('string undefined is not a valid action for seccomp')
  })
  test('a Localhost profile is decoded as Go decodes it: keys in any case, unknown keys and nulls ignored', () => {
    const p = decodeProfile(
      '{"DefaultAction":"SCMP_ACT_ALLOW","comment":"x","syscalls":[{"names":["chmod","fchmodat"],"action":"SCMP_ACT_ERRNO","errnoRet":null}]}',
    )
    expect(p).toEqual({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO' }] })
  })
  test("Go's texts for what it cannot decode", () => {
    const err = (text: string) => {
      try {
        decodeProfile(text)
      } catch (e) {
        return (e as Error).message
      }
      return 'decoded'
    }
    expect(err('')).toBe('unexpected end of JSON input')
    expect(err('{"defaultAction": ')).toBe('unexpected end of JSON input')
    expect(err('xml')).toBe("invalid character 'x' looking for beginning of value")
    expect(err('{a:1}')).toBe("invalid character 'a' looking for beginning of object key string")
    expect(err('{"a":1 "b":2}')).toBe("invalid character '\"' after object key:value pair")
    expect(err('{"a":1}}')).toBe("invalid character '}' after top-level value")
    expect(err('{"defaultAction": 5}')).toBe(
      'json: cannot unmarshal number into Go struct field LinuxSeccomp.defaultAction of type specs.LinuxSeccompAction',
    )
    expect(err('{"syscalls": {}}')).toBe(
      'json: cannot unmarshal object into Go struct field LinuxSeccomp.syscalls of type []specs.LinuxSyscall',
    )
    expect(err('{"syscalls": [{"names": "chmod"}]}')).toBe(
      'json: cannot unmarshal string into Go struct field LinuxSyscall.syscalls.names of type []string',
    )
    expect(err('{"syscalls": [{"errnoRet": -1}]}')).toBe(
      'json: cannot unmarshal number -1 into Go struct field LinuxSyscall.syscalls.errnoRet of type uint',
    )
    expect(err('[1]')).toBe('json: cannot unmarshal array into Go value of type specs.LinuxSeccomp')
  })
  test('runc refuses an unknown action or operator', () => {
    expect(profileError({ defaultAction: 'SCMP_ACT_ALLOW' })).toBeUndefined()
    expect(profileError({ defaultAction: 'SCMP_ACT_NOPE' })).toBe('string SCMP_ACT_NOPE is not a valid action for seccomp')
    expect(
      profileError({
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'EQ' }] }],
      }),
    ).toBe('string EQ is not a valid operator for seccomp')
  })
})

describe('the filesystem calls under a filter', () => {
  test("RuntimeDefault allows what a shell's file commands call", async () => {
    const { sh } = container({ seccomp: { profile_type: 'RuntimeDefault' } })
    const script =
      'mkdir -p /tmp/d && echo x > /tmp/d/f && cat /tmp/d/f && chmod 600 /tmp/d/f && touch /tmp/d/f && ln -s f /tmp/d/l && mv /tmp/d/f /tmp/d/g && rm -r /tmp/d && echo done'
    expect(await sh(script)).toEqual({ stdout: 'x\ndone\n', stderr: '', code: 0 })
  })
  test('a profile refusing mkdirat or openat refuses mkdir and redirections, with the errno it names', async () => {
    const { sh } = container(
      { seccomp: { profile_type: 'Localhost' } },
      {
        seccomp: {
          defaultAction: 'SCMP_ACT_ALLOW',
          syscalls: [
            { names: ['mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
            { names: ['openat'], action: 'SCMP_ACT_ERRNO' },
          ],
        },
      },
    )
    expect(await sh('mkdir /tmp/x; echo y > /tmp/y')).toEqual({
      stdout: '',
      stderr: "mkdir: can't create directory '/tmp/x': Permission denied\nsh: can't create /tmp/y: Operation not permitted\n",
      code: 1,
    })
  })
})

describe('sethostname and the UTS namespace', () => {
  test("containerd's defaults: no CAP_SYS_ADMIN, so busybox's message and status 1; the name stays", async () => {
    const { sh } = container(null)
    expect(await sh('hostname other; echo "status $?"; hostname')).toEqual({
      stdout: 'status 1\ntest-pod\n',
      stderr: 'hostname: sethostname: Operation not permitted\n',
      code: 0,
    })
  })
  test('with CAP_SYS_ADMIN (unconfined, or RuntimeDefault, which allows it then) the new name is what hostname, uname -n and /proc tell', async () => {
    for (const seccomp of [{ profile_type: 'Unconfined' }, { profile_type: 'RuntimeDefault' }]) {
      const { sh, fs } = container({ capabilities: { add_capabilities: ['SYS_ADMIN'] }, seccomp })
      expect(await sh('hostname renamed && hostname && uname -n && cat /proc/sys/kernel/hostname')).toEqual({
        stdout: 'renamed\nrenamed\nrenamed\n',
        stderr: '',
        code: 0,
      })
      expect(fs.kernel.uts.hostname).toBe('renamed')
      // /etc/hostname is a file the runtime wrote: it does not change.
      expect(fs.readFile('/etc/hostname').toString()).toBe('test-pod\n')
    }
  })
  test('a longer name than the kernel takes is EINVAL', async () => {
    const { sh } = container({ privileged: true })
    expect((await sh(`hostname ${'x'.repeat(65)}`)).stderr).toBe('hostname: sethostname: Invalid argument\n')
  })
  test('a profile that blocks sethostname wins over CAP_SYS_ADMIN; a privileged container has no filter', async () => {
    const blocked = container(
      { capabilities: { add_capabilities: ['SYS_ADMIN'] }, seccomp: { profile_type: 'Localhost' } },
      { seccomp: BLOCK_HOSTNAME },
    )
    expect(await blocked.sh('hostname other')).toEqual({ stdout: '', stderr: 'hostname: sethostname: Operation not permitted\n', code: 1 })
    const privileged = container({ privileged: true, seccomp: { profile_type: 'Localhost' } }, { seccomp: BLOCK_HOSTNAME })
    expect(await privileged.sh('hostname other; hostname')).toEqual({ stdout: 'other\n', stderr: '', code: 0 })
  })
  test('containers given one UTS namespace see each other’s change', async () => {
    const uts = { hostname: 'pod-a' }
    const a = container({ privileged: true }, { uts })
    const b = container(null, { uts })
    await a.sh('hostname changed')
    expect((await b.sh('hostname; cat /proc/sys/kernel/hostname')).stdout).toBe('changed\nchanged\n')
  })
  test('a filter that kills ends the command with SIGSYS (159); the shell goes on', async () => {
    const { sh } = container(
      { privileged: false, capabilities: { add_capabilities: ['SYS_ADMIN'] }, seccomp: { profile_type: 'Localhost' } },
      { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['sethostname'], action: 'SCMP_ACT_KILL' }] } },
    )
    expect(await sh('hostname x; echo "status $?"')).toEqual({ stdout: 'status 159\n', stderr: '', code: 0 })
  })
})

describe('brctl: bridges need CAP_NET_ADMIN', () => {
  test("containerd's defaults: busybox's message for the ioctl, status 1", async () => {
    const { sh } = container(null)
    expect(await sh('brctl addbr foobar')).toEqual({ stdout: '', stderr: 'brctl: bridge foobar: Operation not permitted\n', code: 1 })
  })
  test('with NET_ADMIN (added, or privileged): bridges are made, shown, given ports and removed', async () => {
    for (const security of [{ capabilities: { add_capabilities: ['NET_ADMIN'] } }, { privileged: true }]) {
      const { sh } = container(security)
      const r = await sh(
        'brctl addbr br0 && brctl addif br0 eth0 && brctl show; brctl addbr br0; brctl addif br0 nope; brctl delbr nope; brctl delbr br0; brctl show',
      )
      expect(r.stdout).toBe('bridge name\tbridge id\t\tSTP enabled\tinterfaces\nbr0\t\t8000.000000000000\tno\t\teth0\n')
      expect(r.stderr).toBe(
        'brctl: bridge br0: File exists\nbrctl: iface nope: No such device\nbrctl: bridge nope: No such device or address\n',
      )
    }
  })
  test('bad use', async () => {
    const { sh } = container({ privileged: true })
    expect((await sh('brctl stp br0 on')).stderr).toBe("brctl: invalid argument 'stp' to 'brctl'\n")
    expect((await sh('brctl addbr')).stderr).toMatch(/\n\nUsage: brctl COMMAND \[BRIDGE \[ARGS\]\]\n$/)
  })
})

describe('ping: a raw socket needs CAP_NET_RAW', () => {
  test('without it: the header on stdout, "permission denied (are you root?)" on stderr, status 1', async () => {
    const { sh } = container({ capabilities: { drop_capabilities: ['NET_RAW'] } })
    expect(await sh('ping 127.0.0.1')).toEqual({
      stdout: 'PING 127.0.0.1 (127.0.0.1): 56 data bytes\n',
      stderr: 'ping: permission denied (are you root?)\n',
      code: 1,
    })
  })
  test('with it (the default): loopback, the pod IP and names from /etc/hosts answer once a second of simulated time', async () => {
    const { clock, running } = container(null).begin('ping -c 3 localhost; echo "status $?"; ping -c 1 -q 10.88.0.7')
    await until(() => running.out.stdout.includes('seq=0'))
    expect(running.out.stdout).toBe('PING localhost (127.0.0.1): 56 data bytes\n64 bytes from 127.0.0.1: seq=0 ttl=64 time=0.041 ms\n')
    clock.advance(1000)
    await until(() => running.out.stdout.includes('seq=1'))
    clock.advance(1000)
    await running.exited
    expect(running.out.stdout).toBe(
      'PING localhost (127.0.0.1): 56 data bytes\n' +
        '64 bytes from 127.0.0.1: seq=0 ttl=64 time=0.041 ms\n' +
        '64 bytes from 127.0.0.1: seq=1 ttl=64 time=0.041 ms\n' +
        '64 bytes from 127.0.0.1: seq=2 ttl=64 time=0.041 ms\n' +
        '\n--- localhost ping statistics ---\n3 packets transmitted, 3 packets received, 0% packet loss\n' +
        'round-trip min/avg/max = 0.041/0.041/0.041 ms\n' +
        'status 0\n' +
        'PING 10.88.0.7 (10.88.0.7): 56 data bytes\n' +
        '\n--- 10.88.0.7 ping statistics ---\n1 packets transmitted, 1 packets received, 0% packet loss\n' +
        'round-trip min/avg/max = 0.041/0.041/0.041 ms\n',
    )
  })
  test('an address nothing answers: after the last request ping waits -W seconds and reports the loss, status 1', async () => {
    const { clock, running } = container(null).begin('ping -c 2 -W 5 10.99.0.1')
    await until(() => running.out.stdout !== '')
    clock.advance(1000)
    await new Promise((r) => setImmediate(r))
    clock.advance(5000)
    expect((await running.exited).code).toBe(1)
    expect(running.out.stdout).toBe(
      'PING 10.99.0.1 (10.99.0.1): 56 data bytes\n\n--- 10.99.0.1 ping statistics ---\n2 packets transmitted, 0 packets received, 100% packet loss\n',
    )
  })
  test('an unknown name, bad use', async () => {
    const { sh } = container(null)
    expect(await sh('ping nowhere.example')).toEqual({ stdout: '', stderr: "ping: bad address 'nowhere.example'\n", code: 1 })
    expect((await sh('ping')).stderr).toMatch(/\n\nUsage: ping \[OPTIONS\] HOST\n$/)
  })
})

describe('set-user-ID programs and no_new_privs', () => {
  const image = {
    name: 'example.com/suid:1',
    extraFiles: {
      '/usr/local/bin/suid': { program: 'nnp', mode: 0o4755 },
      '/usr/local/bin/plain': { program: 'nnp', mode: 0o755 },
    },
  }
  const user = { uid: 1000, gid: 1000 }
  test("a set-user-ID root file runs with euid 0; a plain one, or a copy the user owns, with the caller's", async () => {
    const { sh } = container(null, { image, user })
    expect(await sh('suid; plain; cp /usr/local/bin/suid /tmp/copy && /tmp/copy; id -u; id -ur')).toEqual({
      stdout: 'Effective uid: 0\nEffective uid: 1000\nEffective uid: 1000\n1000\n1000\n',
      stderr: '',
      code: 0,
    })
  })
  test("after the exec, files are checked with the effective ids (root's /etc/shadow becomes readable)", () => {
    const fs = busyboxFs({ user })
    const ctx = { fs: fs.view({ pid: 1 }), identity: fs.identity(), hostname: 'h', kernel: fs.kernel }
    expect(() => ctx.fs.readFile('/etc/shadow')).toThrow(/Permission denied/)
    const file = { type: 'file' as const, mode: 0o4755, uid: 0, gid: 0, size: 0, mtimeMs: 0 }
    const after = execContext(ctx, file)
    expect(after.identity).toMatchObject({ uid: 1000, euid: 0 })
    expect(after.fs.readFile('/etc/shadow').toString()).toMatch(/^root:/)
    expect(execContext(ctx, { ...file, mode: 0o755 })).toBe(ctx)
  })
  test('no_new_privs: the bit gives nothing', async () => {
    const { sh } = container({ no_new_privs: true }, { image, user })
    expect((await sh('suid')).stdout).toBe('Effective uid: 1000\n')
  })
})

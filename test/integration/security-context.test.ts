// A container's security context has its effects on what its processes may do, over CRI, as
// critest's "Security Context" specs check them: capabilities (brctl, ping), privileged, seccomp
// (RuntimeDefault, Unconfined, Localhost profiles read from the host), sethostname, masked and
// read-only paths, no_new_privs against a set-user-ID program, supplemental groups and their policy.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { ContainerConfig } from '../../src/generated/runtime/v1/ContainerConfig.js'
import type { LinuxContainerSecurityContext } from '../../src/generated/runtime/v1/LinuxContainerSecurityContext.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { containerConfig, eventually, grpcError, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

let h: Harness
let pod: string
let config: PodSandboxConfig
beforeEach(async () => {
  h = await harness()
  config = podConfig('secctx', { log_directory: join(h.logDir, 'pods') })
  pod = await runPod(h, config)
})
afterEach(() => h.close())

const profiles = mkdtempSync(join(tmpdir(), 'fc-seccomp-'))
afterAll(() => rmSync(profiles, { recursive: true, force: true }))
/** Writes a profile file on the host, as critest does, and returns its path. */
const profile = (name: string, text: string): string => {
  const path = join(profiles, name)
  writeFileSync(path, text)
  return path
}
const BLOCK_HOSTNAME = '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO"}]}'
const BLOCK_CHMOD = '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]}'

/** Starts `sleep 3600` (or the config's command) with this security context. */
const start = (name: string, sc: LinuxContainerSecurityContext | null, extra: Partial<ContainerConfig> = {}) =>
  runContainer(
    h,
    pod,
    config,
    containerConfig(name, { command: ['sleep', '3600'], ...(sc ? { linux: { security_context: sc } } : {}), ...extra }),
  )
const exec = async (id: string, cmd: string[]) => {
  const r = await h.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code }
}
const create = (name: string, sc: LinuxContainerSecurityContext) =>
  h.runtime.CreateContainer({
    pod_sandbox_id: pod,
    config: containerConfig(name, { command: ['sleep', '60'], linux: { security_context: sc } }),
    sandbox_config: config,
  })
const logOf = (name: string) =>
  readFileSync(join(h.logDir, 'pods', `${name}.log`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\S+ /, ''))

describe('capabilities', () => {
  test('brctl addbr needs CAP_NET_ADMIN: privileged or added, it works; by default it fails as busybox says', async () => {
    const privileged = await start('priv', { privileged: true })
    expect(await exec(privileged, ['brctl', 'addbr', 'foobar'])).toEqual({ out: '', err: '', code: 0 })
    const added = await start('netadmin', { capabilities: { add_capabilities: ['NET_ADMIN'] } })
    expect((await exec(added, ['brctl', 'addbr', 'barbaz'])).code).toBe(0)
    const plain = await start('plain', null)
    expect(await exec(plain, ['brctl', 'addbr', 'quux'])).toEqual({
      out: '',
      err: 'brctl: bridge quux: Operation not permitted\n',
      code: 1,
    })
    // The bridges live in the pod's network namespace, which the pod's containers share.
    expect((await exec(plain, ['brctl', 'show'])).out).toBe(
      'bridge name\tbridge id\t\tSTP enabled\tinterfaces\nbarbaz\t\t8000.000000000000\tno\t\t\nfoobar\t\t8000.000000000000\tno\t\t\n',
    )
    expect((await exec(added, ['brctl', 'addbr', 'foobar'])).err).toBe('brctl: bridge foobar: File exists\n')
  })

  test('ping needs CAP_NET_RAW: dropped, the header then "permission denied (are you root?)"; with it, loopback and the pod IP answer', async () => {
    const dropped = await start('noraw', { capabilities: { drop_capabilities: ['NET_RAW'] } })
    expect(await exec(dropped, ['ping', '127.0.0.1'])).toEqual({
      out: 'PING 127.0.0.1 (127.0.0.1): 56 data bytes\n',
      err: 'ping: permission denied (are you root?)\n',
      code: 1,
    })
    const id = await start('raw', null)
    const r = await exec(id, ['ping', '-c', '1', '127.0.0.1'])
    expect(r).toMatchObject({ code: 0, err: '' })
    expect(r.out).toContain('64 bytes from 127.0.0.1: seq=0 ttl=64 time=0.041 ms\n')
    expect(r.out).toContain('1 packets transmitted, 1 packets received, 0% packet loss\n')
    expect((await exec(id, ['sh', '-c', 'ping -c 1 -q $(hostname)'])).out).toMatch(/^PING secctx \(10\.88\.0\.\d+\): 56 data bytes\n/)
  })

  test('ping another pod on the node: its IP answers, once a second of simulated time', async () => {
    const other = podConfig('other')
    await runPod(h, other)
    const { items } = await h.runtime.ListPodSandbox({ filter: null })
    const otherIp = (
      await h.runtime.PodSandboxStatus({ pod_sandbox_id: items.find((p) => p.metadata?.name === 'other')!.id, verbose: false })
    ).status!.network!.ip
    const id = await start('pinger', null)
    h.fake.clock.freeze(true)
    let done = false
    const running = exec(id, ['ping', '-c', '2', otherIp]).finally(() => (done = true))
    // Simulated seconds pass until ping has had its two answers.
    await eventually(() => (done ? true : void h.fake.clock.advance(1000)), 'ping to end')
    const r = await running
    expect(r.code).toBe(0)
    expect(r.out).toContain(`64 bytes from ${otherIp}: seq=1 ttl=64`)
  })

  test('ALL added: a full bounding set; ALL dropped: an empty one', async () => {
    const all = await start('all', { capabilities: { add_capabilities: ['ALL'] } })
    expect((await exec(all, ['cat', '/proc/self/status'])).out).toMatch(/^CapBnd:\s000001ffffffffff$/m)
    const none = await start('none', { capabilities: { drop_capabilities: ['ALL'] } })
    expect((await exec(none, ['cat', '/proc/self/status'])).out).toMatch(/^CapBnd:\s0000000000000000$/m)
  })
})

describe('masked and read-only paths', () => {
  test('a masked /bin/ls: the shell finds no program there, "Permission denied", as busybox ash reports it (127)', async () => {
    const id = await start('masked', { masked_paths: ['/bin/ls'] })
    expect(await exec(id, ['/bin/sh', '-c', 'ls'])).toEqual({ out: '', err: '/bin/sh: ls: Permission denied\n', code: 127 })
    // Other commands on PATH still run.
    expect((await exec(id, ['/bin/sh', '-c', 'cat /etc/hostname'])).out).toBe('secctx\n')
  })
  test('a read-only /tmp refuses writes', async () => {
    const id = await start('ro', { readonly_paths: ['/tmp'] })
    expect(await exec(id, ['touch', '/tmp/test'])).toEqual({ out: '', err: 'touch: /tmp/test: Read-only file system\n', code: 1 })
  })
})

describe('seccomp', () => {
  const mode = async (sc: LinuxContainerSecurityContext | null, name: string) =>
    (await exec(await start(name, sc), ['grep', 'Seccomp:', '/proc/self/status'])).out
  test('Unconfined and no profile: mode 0; RuntimeDefault, also an empty SecurityProfile: mode 2', async () => {
    expect(await mode({ seccomp: { profile_type: 'Unconfined' } }, 'unconfined')).toBe('Seccomp:\t0\n')
    expect(await mode(null, 'nil')).toBe('Seccomp:\t0\n')
    expect(await mode({ seccomp: {} }, 'default')).toBe('Seccomp:\t2\n')
  })

  test('a Localhost profile blocking chmod: "Operation not permitted", status 1; read when the container is created', async () => {
    const path = profile('block-chmod.json', BLOCK_CHMOD)
    const id = await start('chmod', { seccomp: { profile_type: 'Localhost', localhost_ref: path } })
    rmSync(path)
    expect(await exec(id, ['chmod', '400', '/'])).toEqual({ out: '', err: 'chmod: /: Operation not permitted\n', code: 1 })
    expect((await exec(id, ['grep', 'Seccomp:', '/proc/self/status'])).out).toBe('Seccomp:\t2\n')
    // Without a profile, root may.
    expect((await exec(await start('chmod-ok', null), ['chmod', '400', '/'])).code).toBe(0)
    const spec = JSON.parse((await h.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!).runtimeSpec
    expect(spec.linux.seccomp).toEqual({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO' }],
    })
  })

  test('sethostname: with SYS_ADMIN and unconfined it works, and the pod sees the new name; a profile blocks it; privileged ignores the profile', async () => {
    const blockPath = profile('block-host-name.json', BLOCK_HOSTNAME)
    const free = await start('free', { capabilities: { add_capabilities: ['SYS_ADMIN'] }, seccomp: { profile_type: 'Unconfined' } })
    const other = await start('other', null)
    expect(await exec(free, ['hostname', 'ANewHostName'])).toEqual({ out: '', err: '', code: 0 })
    expect((await exec(free, ['sh', '-c', 'hostname; uname -n'])).out).toBe('ANewHostName\nANewHostName\n')
    expect((await exec(other, ['hostname'])).out).toBe('ANewHostName\n')
    const blocked = await start('blocked', {
      capabilities: { add_capabilities: ['SYS_ADMIN'] },
      seccomp: { profile_type: 'Localhost', localhost_ref: blockPath },
    })
    expect(await exec(blocked, ['hostname', 'Again'])).toEqual({
      out: '',
      err: 'hostname: sethostname: Operation not permitted\n',
      code: 1,
    })
    expect(await exec(other, ['hostname', 'Again'])).toEqual({ out: '', err: 'hostname: sethostname: Operation not permitted\n', code: 1 })
    const privileged = await start('privileged', { privileged: true, seccomp: { profile_type: 'Localhost', localhost_ref: blockPath } })
    expect(await exec(privileged, ['hostname', 'Privileged'])).toEqual({ out: '', err: '', code: 0 })
    expect((await exec(privileged, ['grep', 'Seccomp:', '/proc/self/status'])).out).toBe('Seccomp:\t0\n')
  })

  test("a profile that cannot be used fails CreateContainer with containerd's message; one runc refuses fails StartContainer", async () => {
    await h.image.PullImage({ image: { image: 'busybox' } })
    const missing = join(profiles, 'missing.json')
    const notFound = await grpcError(create('missing', { seccomp: { profile_type: 'Localhost', localhost_ref: missing } }))
    expect(notFound.code).toBe(2)
    expect(notFound.details).toBe(
      `failed to create containerd container: cannot load seccomp profile "${missing}": open ${missing}: no such file or directory`,
    )
    expect((await grpcError(create('dir', { seccomp: { profile_type: 'Localhost', localhost_ref: profiles } }))).details).toBe(
      `failed to create containerd container: cannot load seccomp profile "${profiles}": read ${profiles}: is a directory`,
    )
    // A device (or a FIFO) is not read: it could block the server.
    expect((await grpcError(create('dev', { seccomp: { profile_type: 'Localhost', localhost_ref: '/dev/null' } }))).details).toBe(
      'failed to create containerd container: cannot load seccomp profile "/dev/null": read /dev/null: not a regular file',
    )
    const bad = profile('bad.json', '{"defaultAction": 1}')
    expect((await grpcError(create('bad', { seccomp: { profile_type: 'Localhost', localhost_ref: bad } }))).details).toBe(
      `failed to create containerd container: decoding seccomp profile failed "${bad}": json: cannot unmarshal number into Go struct field LinuxSeccomp.defaultAction of type specs.LinuxSeccompAction`,
    )
    // A file that is not JSON (a host's secret, say): the error does not show what it holds.
    const secret = profile('secret.json', 'root:x:0:0:root:/root:/bin/bash\n')
    expect((await grpcError(create('secret', { seccomp: { profile_type: 'Localhost', localhost_ref: secret } }))).details).toBe(
      `failed to create containerd container: decoding seccomp profile failed "${secret}": invalid character looking for beginning of value`,
    )
    expect((await grpcError(create('ref', { seccomp: { profile_type: 'Unconfined', localhost_ref: bad } }))).details).toBe(
      'failed to get container spec opts: failed to generate seccomp spec opts: seccomp config invalid LocalhostRef must only be set if ProfileType is Localhost',
    )
    expect((await grpcError(create('path', { seccomp_profile_path: 'my-profile' }))).details).toBe(
      'failed to get container spec opts: failed to generate seccomp spec opts: invalid profile "my-profile"',
    )
    // None of them was created.
    expect((await h.runtime.ListContainers({ filter: null })).containers).toHaveLength(0)

    const action = profile('action.json', '{"defaultAction": "SCMP_ACT_MAYBE"}')
    const { container_id } = await create('action', { seccomp: { profile_type: 'Localhost', localhost_ref: action } })
    const refused = await grpcError(h.runtime.StartContainer({ container_id }))
    expect(refused.details).toBe(
      'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: string SCMP_ACT_MAYBE is not a valid action for seccomp: unknown',
    )
    expect(await waitForState(h, container_id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 128, reason: 'StartError' })
  })
})

describe('no_new_privs and a set-user-ID program', () => {
  const nnp = async (name: string, noNewPrivs: boolean) => {
    const id = await runContainer(h, pod, config, {
      metadata: { name, attempt: 0 },
      image: { image: 'registry.k8s.io/e2e-test-images/nonewprivs:1.3' },
      linux: { security_context: { no_new_privs: noNewPrivs, run_as_user: { value: 1000 } } },
      log_path: `${name}.log`,
    })
    await waitForState(h, id, 'CONTAINER_EXITED')
    return logOf(name)
  }
  test('nnp runs as root through its set-user-ID bit, unless no_new_privs is set', async () => {
    expect(await nnp('nnp-false', false)).toEqual(['stdout F Effective uid: 0'])
    expect(await nnp('nnp-true', true)).toEqual(['stdout F Effective uid: 1000'])
  })
  test('nnp is only in that image, as a set-user-ID root file', async () => {
    await h.image.PullImage({ image: { image: 'registry.k8s.io/e2e-test-images/nonewprivs:1.3' } })
    const { container_id } = await h.runtime.CreateContainer({
      pod_sandbox_id: pod,
      config: {
        metadata: { name: 'look' },
        image: { image: 'registry.k8s.io/e2e-test-images/nonewprivs:1.3' },
        command: ['sleep', '3600'],
        linux: { security_context: { run_as_user: { value: 1000 } } },
      },
      sandbox_config: config,
    })
    await h.runtime.StartContainer({ container_id })
    expect((await exec(container_id, ['stat', '-c', '%A %U', '/usr/local/bin/nnp'])).out).toBe('-rwsr-xr-x root\n')
    expect((await exec(container_id, ['sh', '-c', 'nnp; id; id -u'])).out).toBe(
      'Effective uid: 0\nuid=1000(1000) gid=0(root) groups=0(root)\n1000\n',
    )
    const busybox = await start('busybox', null)
    expect(await exec(busybox, ['sh', '-c', 'nnp'])).toEqual({ out: '', err: 'sh: nnp: not found\n', code: 127 })
  })
})

describe('supplemental groups', () => {
  test('id -G shows the SupplementalGroups', async () => {
    const id = await start('groups', { supplemental_groups: [1234, 5678] })
    expect((await exec(id, ['id', '-G'])).out).toBe('0 10 1234 5678\n')
  })
  test("the groups the image's /etc/group gives the user join them, sorted, for the first process and an exec'd one", async () => {
    const name = 'predefined'
    const id = await runContainer(h, pod, config, {
      metadata: { name, attempt: 0 },
      image: { image: 'gcr.io/k8s-staging-cri-tools/test-image-predefined-group' },
      command: ['sh', '-c', 'id -G; while :; do sleep 1; done'],
      linux: { security_context: { run_as_user: { value: 1000 }, supplemental_groups: [1234] } },
      log_path: `${name}.log`,
    })
    await eventually(() => (logOf(name).length > 0 ? true : undefined), 'the first line of the log')
    expect(logOf(name)).toEqual(['stdout F 1000 1234 50000'])
    expect((await exec(id, ['id', '-G'])).out).toBe('1000 1234 50000\n')
    expect((await exec(id, ['id'])).out).toBe(
      // The runtime names the group the image lacks after its number (see src/sim/fs/users.ts).
      'uid=1000(default-user) gid=1000(default-user) groups=1000(default-user),1234(1234),50000(group-defined-in-image)\n',
    )
    expect((await exec(id, ['grep', 'Groups:', '/proc/self/status'])).out).toBe('Groups:\t1000 1234 50000 \n')
    const spec = JSON.parse((await h.runtime.ContainerStatus({ container_id: id, verbose: true })).info.info!).runtimeSpec
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 1234, 50000] })
    expect((await h.runtime.ContainerStatus({ container_id: id })).status?.user).toEqual({
      linux: { uid: '1000', gid: '1000', supplemental_groups: ['1000', '1234', '50000'] },
    })
  })
  test("SupplementalGroupsPolicy Strict: the image's /etc/group adds nothing (first process, exec, ContainerStatus.user)", async () => {
    expect((await h.runtime.Status({ verbose: false })).features?.supplemental_groups_policy).toBe(true)
    const name = 'strict'
    const id = await runContainer(h, pod, config, {
      metadata: { name, attempt: 0 },
      image: { image: 'gcr.io/k8s-staging-cri-tools/test-image-predefined-group' },
      command: ['sh', '-c', 'id -G; while :; do sleep 1; done'],
      linux: { security_context: { run_as_user: { value: 1000 }, supplemental_groups: [1234], supplemental_groups_policy: 'Strict' } },
      log_path: `${name}.log`,
    })
    await eventually(() => (logOf(name).length > 0 ? true : undefined), 'the first line of the log')
    expect(logOf(name)).toEqual(['stdout F 1000 1234'])
    expect((await exec(id, ['id', '-G'])).out).toBe('1000 1234\n')
    expect((await exec(id, ['id'])).out).toBe('uid=1000(default-user) gid=1000(default-user) groups=1000(default-user),1234(1234)\n')
    expect((await exec(id, ['grep', 'Groups:', '/proc/self/status'])).out).toBe('Groups:\t1000 1234 \n')
    const status = await h.runtime.ContainerStatus({ container_id: id, verbose: true })
    expect(status.status?.user).toEqual({ linux: { uid: '1000', gid: '1000', supplemental_groups: ['1000', '1234'] } })
    expect(JSON.parse(status.info.info!).runtimeSpec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 1234] })
  })
})

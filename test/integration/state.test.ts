import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { startFakeContainerd } from '../../src/server.js'
import { containerConfig, eventually, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

let dir: string
let file: string
const open: Harness[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fc-state-'))
  file = join(dir, 'state.json')
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()))
})

async function start(): Promise<Harness> {
  const h = await harness({ state: file })
  open.push(h)
  return h
}

describe('--state', () => {
  test("a hostname a process set stays after a restart, as the pod's UTS namespace does", async () => {
    let h = await start()
    const config = podConfig('uts', { hostname: 'given' })
    const pod = await runPod(h, config)
    const privileged = { linux: { security_context: { privileged: true } } }
    const id = await runContainer(h, pod, config, containerConfig('namer', { command: ['sleep', '3600'], ...privileged }))
    const hostname = async (cmd: string[]) => (await h.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })).stdout.toString()
    await hostname(['hostname', 'renamed'])
    expect(await hostname(['hostname'])).toBe('renamed\n')
    await h.close()
    open.pop()

    h = await start()
    expect(await hostname(['hostname'])).toBe('renamed\n')
    expect(await hostname(['cat', '/etc/hostname'])).toBe('given\n')
  })

  test("a container's writable layer survives a restart: files written, changed and removed", async () => {
    let h = await start()
    const config = podConfig('files')
    const pod = await runPod(h, config)
    const id = await runContainer(h, pod, config, containerConfig('writer', { command: ['sleep', '3600'] }))
    const sh = async (script: string) =>
      (await h.runtime.ExecSync({ container_id: id, cmd: ['sh', '-c', script], timeout: 10 })).stdout.toString()
    await sh('mkdir -p /data/sub && printf "two\\nlines" > /data/sub/f; ln -s sub/f /data/link; rm /etc/os-release; echo x > /tmp/t')
    await h.close()
    open.pop()

    h = await start()
    expect(await sh('cat /data/link; echo; readlink /data/link; ls /etc/os-release 2>&1; cat /tmp/t')).toBe(
      'two\nlines\nsub/f\nls: /etc/os-release: No such file or directory\nx\n',
    )
  })

  test('after a restart everything is back: pods keep IPs, running containers keep running, exits are kept', async () => {
    let h = await start()
    const config = podConfig('keep', { log_directory: join(dir, 'logs') })
    const pod = await runPod(h, config)
    const long = await runContainer(h, pod, config, containerConfig('long', { command: ['sleep', '3600'] }))
    const done = await runContainer(h, pod, config, containerConfig('done', { command: ['sh', '-c', 'exit 4'] }))
    await waitForState(h, done, 'CONTAINER_EXITED')
    const before = (await h.runtime.ContainerStatus({ container_id: long, verbose: false })).status!
    const ipBefore = (await h.runtime.PodSandboxStatus({ pod_sandbox_id: pod, verbose: false })).status!.network!.ip
    await h.close()
    open.pop()

    h = await start()
    const podStatus = (await h.runtime.PodSandboxStatus({ pod_sandbox_id: pod, verbose: false })).status!
    expect(podStatus).toMatchObject({ state: 'SANDBOX_READY', network: { ip: ipBefore } })
    const after = (await h.runtime.ContainerStatus({ container_id: long, verbose: false })).status!
    expect(after).toMatchObject({ state: 'CONTAINER_RUNNING', started_at: before.started_at })
    expect((await h.runtime.ContainerStatus({ container_id: done, verbose: false })).status).toMatchObject({
      state: 'CONTAINER_EXITED',
      exit_code: 4,
    })
    // Still a live process: it can be stopped, and exec works in it.
    expect((await h.runtime.ExecSync({ container_id: long, cmd: ['echo', 'alive'], timeout: 0 })).stdout.toString()).toBe('alive\n')
    await h.runtime.StopContainer({ container_id: long, timeout: 0 })
    expect((await h.runtime.ContainerStatus({ container_id: long, verbose: false })).status!.exit_code).toBe(137)
    // A new pod does not take the kept IP.
    const second = await runPod(h, podConfig('second'))
    expect((await h.runtime.PodSandboxStatus({ pod_sandbox_id: second, verbose: false })).status!.network!.ip).not.toBe(ipBefore)
  })

  test('log files continue after a restart', async () => {
    let h = await start()
    const config = podConfig('logs', { log_directory: join(dir, 'logs') })
    const pod = await runPod(h, config)
    const id = await runContainer(
      h,
      pod,
      config,
      containerConfig('writer', {
        command: ['sh', '-c', 'sleep 0.3; echo late'],
        log_path: 'writer/0.log',
        annotations: { 'fake-containerd.io/stdout': 'early' },
      }),
    )
    const path = (await h.runtime.ContainerStatus({ container_id: id, verbose: false })).status!.log_path
    await eventually(() => (existsSync(path) && readFileSync(path, 'utf8').includes('early') ? true : undefined), 'early line')
    await h.close()
    open.pop()
    h = await start()
    await waitForState(h, id, 'CONTAINER_EXITED')
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(1).join(' '))
    expect(lines).toEqual(['stdout F early', 'stdout F late'])
  })

  test('the file is plain versioned JSON, written atomically, and a burst of changes is coalesced', async () => {
    const h = await start()
    await Promise.all(Array.from({ length: 30 }, (_, i) => runPod(h, podConfig(`burst-${i}`))))
    await h.fake.node.store.flush()
    const state = JSON.parse(readFileSync(file, 'utf8'))
    expect(state.version).toBe(4)
    expect(Object.keys(state.containers)).toHaveLength(30)
    // 30 sandboxes are well over 60 mutations; they reach the disk in a handful of writes.
    expect(h.fake.node.store.writes).toBeLessThan(10)
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  test('a state file with an unknown schema version is refused with a clear message', async () => {
    writeFileSync(file, JSON.stringify({ version: 99, containers: {} }))
    await expect(startFakeContainerd({ state: file })).rejects.toThrow(/state schema version 99, but this fake-containerd reads version 4/)
    // The file is left untouched.
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(99)
  })

  test('a version 1 file is migrated: the paths its snapshots recorded are the files of their layers (without bytes)', async () => {
    const now = '2024-01-01T00:00:00Z'
    const snapshot = { kind: 'committed', parent: '', labels: {}, createdAt: now, updatedAt: now, usageBytes: 5 }
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        uuid: 'u',
        namespaces: {},
        images: [],
        imageContent: {},
        containers: {},
        content: {},
        snapshots: { overlayfs: { default: { s1: { ...snapshot, files: ['/etc', '/etc/motd', '/etc/passwd', '/.wh.gone', '/bin/sh'] } } } },
        leases: {},
        podCidr: '10.88.0.0/16',
        nextPid: 1000,
      }),
    )
    const fake = await startFakeContainerd({ state: file })
    try {
      expect(fake.node.snapshots.files('overlayfs', 'default', 's1')).toEqual(['/bin', '/bin/sh', '/etc', '/etc/motd', '/etc/passwd'])
      expect(fake.node.snapshots.usage('overlayfs', 'default', 's1')).toEqual({ size: 5, inodes: 5 })
      expect(fake.node.state.version).toBe(4)
      expect(fake.node.snapshots.layers('overlayfs', 'default', 's1')[0]?.entries).toContainEqual(['/bin/sh', 'f', 0o755, 0, 0, 0, 0])
    } finally {
      await fake.close()
    }
  })

  test('a corrupt state file is refused, not overwritten', async () => {
    writeFileSync(file, '{"version": 1, "contai')
    await expect(startFakeContainerd({ state: file })).rejects.toThrow(/cannot read state file/)
    expect(readFileSync(file, 'utf8')).toBe('{"version": 1, "contai')
  })
})

// The node's process table as containers see it: PIDs per PID namespace (the container's own, the
// pod's shared one, the host's), exec'd processes and a shell's children listed by ps and /proc,
// signalled by kill, and the host PIDs containerd's API reports.
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import type { ContainerConfig } from '../../src/generated/runtime/v1/ContainerConfig.js'
import type { PodSandboxConfig } from '../../src/generated/runtime/v1/PodSandboxConfig.js'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import { containerConfig, eventually, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

type Mode = 'POD' | 'CONTAINER' | 'NODE'
const pidMode = (pid: Mode): Partial<PodSandboxConfig> => ({ linux: { security_context: { namespace_options: { pid } } } })

async function pod(name: string, mode: Mode): Promise<{ id: string; config: PodSandboxConfig }> {
  const config = podConfig(name, pidMode(mode))
  return { id: await runPod(h, config), config }
}

const start = (p: { id: string; config: PodSandboxConfig }, name: string, mode: Mode, extra: Partial<ContainerConfig> = {}) =>
  runContainer(h, p.id, p.config, containerConfig(name, { command: ['sleep', '3600'], ...pidMode(mode), ...extra }))

const exec = async (id: string, cmd: string[]) => {
  const r = await h.runtime.ExecSync({ container_id: id, cmd, timeout: 10 })
  return { out: r.stdout.toString(), err: r.stderr.toString(), code: r.exit_code }
}

/** `ps -o pid,args` as [pid, args] pairs. */
async function ps(id: string): Promise<[number, string][]> {
  const { out } = await exec(id, ['ps', '-o', 'pid,args'])
  return out
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const m = /^\s*(\d+)\s+(.*)$/.exec(l)!
      return [Number(m[1]), m[2]!]
    })
}

describe('PID namespaces', () => {
  test("a container's own namespace: its command is PID 1, an exec'd ps sees itself and the init", async () => {
    const p = await pod('own', 'CONTAINER')
    const id = await start(p, 'c', 'CONTAINER')
    expect((await exec(id, ['cat', '/proc/1/cmdline'])).out).toBe('sleep\x003600\0')
    const table = await ps(id)
    expect(table[0]).toEqual([1, 'sleep 3600'])
    expect(table.map(([, args]) => args)).toEqual(['sleep 3600', 'ps -o pid,args'])
    expect(table[1]![0]).toBeGreaterThan(1)
  })

  test("a pod-shared namespace: pause is PID 1, each container's init and a sibling's exec are seen", async () => {
    const p = await pod('shared', 'POD')
    const a = await start(p, 'a', 'POD', { command: ['sh', '-c', 'while true; do sleep 1; done'] })
    const b = await start(p, 'b', 'POD')
    const table = await ps(b)
    expect(table.slice(0, 3)).toEqual([
      [1, '/pause'],
      [2, 'sh -c while true; do sleep 1; done'],
      [3, 'sleep 3600'],
    ])
    // The exec'd process in b is visible from a, and a's kill reaches b's init.
    const pidOfB = table.find(([, args]) => args === 'sleep 3600')![0]
    expect((await exec(a, ['sh', '-c', `cat /proc/${pidOfB}/cmdline | tr '\\0' ' '`])).out).toBe('sleep 3600 ')
    expect((await exec(a, ['kill', '-9', String(pidOfB)])).code).toBe(0)
    await eventually(async () => {
      const { status } = await h.runtime.ContainerStatus({ container_id: b })
      return status?.state === 'CONTAINER_EXITED' ? status : undefined
    }, 'b killed from a')
    expect((await h.runtime.ContainerStatus({ container_id: b })).status?.exit_code).toBe(137)
  })

  test('the host namespace: a host-PID container sees other pods by their host PIDs, which containerd reports', async () => {
    const other = await pod('other', 'CONTAINER')
    const target = await start(other, 'target', 'CONTAINER', { command: ['sleep', '4242'] })
    const host = await pod('host', 'NODE')
    const viewer = await start(host, 'viewer', 'NODE')
    const table = await ps(viewer)
    expect(table[0]).toEqual([1, '/sbin/init'])
    const seen = table.find(([, args]) => args === 'sleep 4242')
    expect(seen).toBeDefined()
    // The same PID that containerd's Tasks.Get reports for the container's task.
    const c: ContainerdClients = containerdClients(h.fake.address, 'k8s.io')
    try {
      const { process } = await c.tasks.Get({ container_id: target })
      expect(process?.pid).toBe(seen![0])
    } finally {
      c.close()
    }
    // A container in its own namespace does not see the host's.
    expect((await ps(target)).map(([, args]) => args)).toEqual(['sleep 4242', 'ps -o pid,args'])
  })
})

test('a restart keeps the PIDs processes had in their namespaces', async () => {
  await h.close()
  const { mkdtempSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  h = await harness({ state: join(mkdtempSync(join(tmpdir(), 'fc-pids-')), 'state.json') })
  const p = await pod('kept', 'POD')
  const first = await start(p, 'first', 'POD', { command: ['sleep', '111'] })
  const second = await start(p, 'second', 'POD', { command: ['sleep', '222'] })
  await h.runtime.StopContainer({ container_id: first, timeout: 0 })
  const before = await ps(second)
  expect(before.slice(0, 2)).toEqual([
    [1, '/pause'],
    [3, 'sleep 222'],
  ])
  await h.fake.restart()
  expect((await ps(second)).slice(0, 2)).toEqual(before.slice(0, 2))
})

test('the last command of sh -c replaces the shell (ps shows it), unless a trap keeps the shell', async () => {
  const p = await pod('execd', 'CONTAINER')
  const execd = await start(p, 'execd', 'CONTAINER', { command: ['sh', '-c', 'echo starting; sleep 3600'] })
  expect((await ps(execd))[0]).toEqual([1, 'sleep 3600'])
  expect((await exec(execd, ['cat', '/proc/1/comm'])).out).toBe('sleep\n')
  const kept = await start(p, 'kept', 'CONTAINER', { command: ['sh', '-c', 'trap "exit 0" TERM; sleep 3600'] })
  expect((await ps(kept))[0]).toEqual([1, 'sh -c trap "exit 0" TERM; sleep 3600'])
})

test('a container holds at most 1,024 processes: a fork bomb gets "can\'t fork" and the server goes on', async () => {
  const p = await pod('bomb', 'CONTAINER')
  const id = await start(p, 'c', 'CONTAINER')
  const r = await exec(id, ['sh', '-c', 'f() { f | f & }; f; wait; echo survived'])
  expect(r.err).toContain("sh: can't fork: Resource temporarily unavailable\n")
  expect(r.out).toBe('survived\n')
  expect((await ps(id)).map(([, args]) => args)).toEqual(['sleep 3600', 'ps -o pid,args'])
  expect((await h.runtime.Version({ version: '' })).runtime_name).toBe('containerd')
})

describe("a shell's children", () => {
  test('background jobs and pipeline stages get PIDs that ps lists and kill signals', async () => {
    const p = await pod('jobs', 'CONTAINER')
    const id = await start(p, 'c', 'CONTAINER')
    const r = await exec(id, [
      'sh',
      '-c',
      'sleep 300 & echo $!; ps -o pid,ppid,args | grep "[0-9] sleep 300$"; kill $!; wait $!; echo "status $?"',
    ])
    const [jobPid, psLine, status] = r.out.trim().split('\n')
    const m = /^\s*(\d+)\s+(\d+)\s+sleep 300$/.exec(psLine!)
    expect(m?.[1]).toBe(jobPid)
    expect(Number(m?.[2])).toBeGreaterThan(1) // its parent: the exec'd shell
    expect(status).toBe('status 143')
    // Gone from the table once it has ended.
    expect((await ps(id)).some(([, args]) => args === 'sleep 300')).toBe(false)
  })

  test('containerd ListPids counts every process of the container, children included', async () => {
    const p = await pod('pids', 'CONTAINER')
    const id = await start(p, 'c', 'CONTAINER', { command: ['sh', '-c', 'sleep 1000 | cat & wait'] })
    const c: ContainerdClients = containerdClients(h.fake.address, 'k8s.io')
    try {
      const pids = await eventually(async () => {
        const { processes } = await c.tasks.ListPids({ container_id: id })
        return processes.length === 4 ? processes.map((x) => x.pid) : undefined
      }, 'init, the background job and its two pipeline stages')
      expect(new Set(pids).size).toBe(4)
    } finally {
      c.close()
    }
  })
})

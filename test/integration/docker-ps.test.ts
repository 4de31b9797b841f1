// The package's `ps` for `docker top` (docker/ps): dockerd runs `ps <args> -q<pids>` with the host
// PIDs Tasks.ListPids gave it; this ps asks the fake (Control.ListProcesses) and prints those
// simulated processes in ps's formats. It needs the built package (npm test builds first).
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { containerdClients, controlClient, type ContainerdClients } from '../../src/client.js'
import { eventually, harness, type Harness } from '../helpers.js'
import { ociSpec } from '../containerd.js'

const PS = join(import.meta.dirname, '../../docker/ps')

let h: Harness
let ctr: ContainerdClients
beforeEach(async () => {
  h = await harness()
  ctr = containerdClients(h.fake.address, 'moby')
})
afterEach(async () => {
  ctr.close()
  await h.close()
})

const ps = (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> =>
  new Promise((resolve) => {
    execFile(PS, args, { env: { ...process.env, FAKE_CONTAINERD_SOCKET: h.fake.socketPath }, timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? Number((err as { code?: number }).code ?? -1) : 0 }),
    )
  })

async function running(id: string, args: string[]): Promise<number[]> {
  await ctr.containers.Create({
    container: {
      id,
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: ociSpec(args),
    },
  })
  const out = join(h.logDir, `${id}.out`)
  writeFileSync(out, '')
  await ctr.tasks.Create({ container_id: id, stdout: out })
  await ctr.tasks.Start({ container_id: id })
  return eventually(async () => {
    const pids = (await ctr.tasks.ListPids({ container_id: id })).processes.map((p) => p.pid)
    return pids.length === 2 ? pids.sort((a, b) => a - b) : undefined
  }, 'two processes')
}

test('ps -ef -q, aux, -o list the simulated processes with those host PIDs', async () => {
  const [init, child] = await running('web', ['sh', '-c', 'sleep 1000 & sleep 2000'])
  const ef = await ps('-ef', `-q${init},${child}`)
  expect(ef.code).toBe(0)
  const lines = ef.stdout.trimEnd().split('\n')
  expect(lines[0]).toMatch(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/)
  expect(lines.slice(1)).toEqual([
    expect.stringMatching(new RegExp(`^root\\s+${init}\\s+0\\s+0\\s+\\d\\d:\\d\\d\\s+\\?\\s+00:00:00 sleep 2000$`)),
    expect.stringMatching(new RegExp(`^root\\s+${child}\\s+${init}\\s+0\\s+\\d\\d:\\d\\d\\s+\\?\\s+00:00:00 sleep 1000$`)),
  ])
  const aux = (await ps('aux', `-q${init}`)).stdout.split('\n')
  expect(aux[0]).toMatch(/^USER\s+PID\s+%CPU\s+%MEM\s+VSZ\s+RSS\s+TTY\s+STAT\s+START\s+TIME\s+COMMAND$/)
  expect(aux[1]).toMatch(
    new RegExp(`^root\\s+${init}\\s+0\\.0\\s+0\\.0\\s+\\d+\\s+\\d+\\s+\\?\\s+S\\s+\\d\\d:\\d\\d\\s+00:00:00 sleep 2000$`),
  )
  await ctr.tasks.Pause({ container_id: 'web' })
  expect((await ps('-o', 'pid,stat,comm', '-q', `${child}`)).stdout).toMatch(
    new RegExp(`^\\s*PID\\s+STAT\\s+COMMAND\\n${child}\\s+T\\s+sleep\\n$`),
  )
})

test("a PID the fake has no process for lists nothing (never the host's process of that number); an unknown key is ps's error", async () => {
  // PID 1 is the host's init: the fake knows no process 1 in its table of host PIDs.
  expect(await ps('-ef', '-q1')).toEqual({
    stdout: expect.stringMatching(/^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD\n$/),
    stderr: '',
    code: 0,
  })
  const bad = await ps('-o', 'pid,nonsense', '-q1')
  expect([bad.code, bad.stderr]).toEqual([1, 'error: unknown user-defined format specifier "nonsense"\n'])
})

test('Control.ListProcesses answers the processes by host PID, with their container and namespace', async () => {
  const [init] = await running('job', ['sh', '-c', 'sleep 1000 & sleep 2000'])
  const control = controlClient(h.fake.address)
  try {
    const { processes } = await control.ListProcesses({ pids: [init!, 999_999] })
    expect(processes).toEqual([
      expect.objectContaining({
        pid: init,
        ppid: 0,
        uid: 0,
        args: ['sleep', '2000'],
        comm: 'sleep',
        container_id: 'job',
        namespace: 'moby',
        state: 'S',
      }),
    ])
    expect((await control.ListProcesses({ pids: [] })).processes.map((p) => p.container_id)).toEqual(['job', 'job'])
  } finally {
    control.close()
  }
})

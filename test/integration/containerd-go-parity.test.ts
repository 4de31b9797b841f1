// What containerd's Go client (test/go/) showed to differ from containerd, over the socket: Update
// changes the task's cgroup (not the container record), Metrics reports cgroup v2 limits as
// containerd reads them, the runc shim's state machine refuses with its words and code Unknown,
// Containers.Delete says what the metadata store says, a namespace sent twice is the first, and
// ResizePty is answered as the shim answers it (what `ctr run -t`, `ctr task exec -t` and `ctr
// task attach` rely on): a size set between Create and Start is the one the process starts with
// (runc made the console at create); a process without a terminal ignores it; a stopped exec'd
// process refuses it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import { decodeMessage } from '../../src/proto/load.js'
import { ctrHarness, ociSpec, processSpec, type CtrHarness } from '../containerd.js'
import { eventually, grpcError } from '../helpers.js'

let h: CtrHarness
let ctr: ContainerdClients
let dir: string
beforeEach(async () => {
  h = await ctrHarness()
  ctr = h.ctr
  dir = mkdtempSync(join(tmpdir(), 'fc-tasks-'))
})
afterEach(() => h.close())

async function runningTask(id: string, linux: Record<string, unknown> = {}): Promise<void> {
  await ctr.containers.Create({
    container: {
      id,
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: ociSpec(['sleep', '3600'], { linux: { namespaces: [{ type: 'pid' }], ...linux } }),
    },
  })
  await ctr.tasks.Create({ container_id: id })
  await ctr.tasks.Start({ container_id: id })
}

/** Runs a command in the task and returns its stdout. */
async function exec(id: string, execId: string, args: string[]): Promise<string> {
  const out = join(dir, `${id}-${execId}.out`)
  writeFileSync(out, '')
  await ctr.tasks.Exec({ container_id: id, exec_id: execId, stdout: out, spec: processSpec(args) })
  const waiting = ctr.tasks.Wait({ container_id: id, exec_id: execId })
  await ctr.tasks.Start({ container_id: id, exec_id: execId })
  await waiting
  return eventually(() => readFileSync(out, 'utf8') || undefined, `the output of ${args.join(' ')}`)
}

async function memoryMetrics(id: string): Promise<{ memory: Record<string, string>; pids: Record<string, string> }> {
  const [m] = (await ctr.tasks.Metrics({ filters: [`id==${id}`] })).metrics
  return decodeMessage('io.containerd.cgroups.v2.Metrics', m!.data!.value) as {
    memory: Record<string, string>
    pids: Record<string, string>
  }
}

const MAX = '18446744073709551615'

test('Update sets the task cgroup: the container sees memory.max, Metrics its limit; the container record and events stay', async () => {
  await runningTask('box')
  expect((await exec('box', 'before', ['cat', '/sys/fs/cgroup/memory.max'])).trim()).toBe('max')
  // cgroup v2 "max" reads as the largest uint64, as containerd's cgroups package reports it.
  expect(await memoryMetrics('box')).toMatchObject({ memory: { usage_limit: MAX, swap_limit: MAX }, pids: { limit: MAX } })
  const before = (await ctr.containers.Get({ id: 'box' })).container!
  const mark = h.events.length
  const resources = { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 100 } }
  await ctr.tasks.Update({
    container_id: 'box',
    resources: {
      type_url: 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources',
      value: Buffer.from(JSON.stringify(resources)),
    },
  })
  expect((await exec('box', 'after', ['cat', '/sys/fs/cgroup/memory.max'])).trim()).toBe('67108864')
  expect(await memoryMetrics('box')).toMatchObject({ memory: { usage_limit: '67108864' }, pids: { limit: '100' } })
  const after = (await ctr.containers.Get({ id: 'box' })).container!
  expect(after.spec!.value.toString()).toBe(before.spec!.value.toString())
  expect(after.updated_at).toEqual(before.updated_at)
  expect(h.events.slice(mark).map((e) => e.topic)).not.toContain('/containers/update')
})

test("a spec's memory limit is the cgroup's from the start", async () => {
  await runningTask('limited', { resources: { memory: { limit: 32 * 1024 * 1024 } } })
  expect((await exec('limited', 'cat', ['cat', '/sys/fs/cgroup/memory.max'])).trim()).toBe('33554432')
  expect((await memoryMetrics('limited')).memory.usage_limit).toBe('33554432')
})

test("the shim's state machine: what it refuses is code Unknown with runc's words", async () => {
  await ctr.containers.Create({
    container: {
      id: 'sm',
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: ociSpec(['sleep', '3600']),
    },
  })
  await ctr.tasks.Create({ container_id: 'sm' })
  const refused = async (call: Promise<unknown>) => {
    const e = await grpcError(call)
    return [e.code, e.details]
  }
  expect(await refused(ctr.tasks.Pause({ container_id: 'sm' }))).toEqual([2, 'cannot pause task in created state: unknown'])
  expect(await refused(ctr.tasks.Resume({ container_id: 'sm' }))).toEqual([2, 'cannot resume task in created state: unknown'])
  // Signal 0 asks whether the process is there; a created task takes execs.
  await ctr.tasks.Kill({ container_id: 'sm', signal: 0 })
  await ctr.tasks.Exec({ container_id: 'sm', exec_id: 'early', spec: processSpec(['true']) })
  expect(await refused(ctr.tasks.Kill({ container_id: 'sm', exec_id: 'early', signal: 9 }))).toEqual([
    9,
    'process not created: failed precondition',
  ])
  await ctr.tasks.DeleteProcess({ container_id: 'sm', exec_id: 'early' })
  await ctr.tasks.Start({ container_id: 'sm' })
  expect(await refused(ctr.tasks.Start({ container_id: 'sm' }))).toEqual([2, 'cannot start a running process: unknown'])
  expect(await refused(ctr.tasks.Resume({ container_id: 'sm' }))).toEqual([2, 'cannot resume a running process: unknown'])
  expect(await refused(ctr.tasks.Exec({ container_id: 'sm', exec_id: 'bad id!', spec: processSpec(['true']) }))).toEqual([
    3,
    'invalid exec id bad id!: identifier "bad id!" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument',
  ])
  expect(await refused(ctr.tasks.Kill({ container_id: 'sm', exec_id: 'nosuch', signal: 9 }))).toEqual([
    5,
    'process does not exist nosuch: not found',
  ])
  await ctr.tasks.Pause({ container_id: 'sm' })
  expect(await refused(ctr.tasks.Pause({ container_id: 'sm' }))).toEqual([2, 'cannot pause a paused container: unknown'])
  expect(await refused(ctr.tasks.Start({ container_id: 'sm' }))).toEqual([2, 'cannot start a paused process: unknown'])
  expect(await refused(ctr.tasks.Delete({ container_id: 'sm' }))).toEqual([2, 'cannot delete a paused process: unknown'])
  expect(await refused(ctr.tasks.Exec({ container_id: 'sm', exec_id: 'p', spec: processSpec(['true']) }))).toEqual([
    2,
    'cannot exec in a paused state: unknown',
  ])
  await ctr.tasks.Resume({ container_id: 'sm' })
  const waiting = ctr.tasks.Wait({ container_id: 'sm' })
  await ctr.tasks.Kill({ container_id: 'sm', signal: 9 })
  await waiting
  expect(await refused(ctr.tasks.Pause({ container_id: 'sm' }))).toEqual([2, 'cannot pause a stopped container: unknown'])
  expect(await refused(ctr.tasks.Resume({ container_id: 'sm' }))).toEqual([2, 'cannot resume a stopped container: unknown'])
  expect(await refused(ctr.tasks.Start({ container_id: 'sm' }))).toEqual([2, 'cannot start a stopped process: unknown'])
  expect(await refused(ctr.tasks.Exec({ container_id: 'sm', exec_id: 's', spec: processSpec(['true']) }))).toEqual([
    2,
    'cannot exec in a stopped state: unknown',
  ])
})

test('Containers.Delete of a missing container says what containerd metadata says', async () => {
  await ctr.containers.Create({
    container: {
      id: 'one',
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: ociSpec(['true']),
    },
  })
  const missing = await grpcError(ctr.containers.Delete({ id: 'other' }))
  expect([missing.code, missing.details]).toEqual([5, 'container other: not found'])
  const elsewhere = containerdClients(h.fake.address, 'empty')
  const none = await grpcError(elsewhere.containers.Delete({ id: 'x' }))
  elsewhere.close()
  expect([none.code, none.details]).toEqual([5, 'cannot delete container "x" in namespace "empty": not found'])
})

test('a namespace header sent twice (namespaces.WithNamespace over a namespaced context) is the first', async () => {
  // Node's http2 joins the two values the Go client sends with ", "; grpc-go gives containerd the first.
  const options = { metadata: { 'containerd-namespace': 'first, second' } }
  await ctr.containers.Create(
    {
      container: {
        id: 'twice',
        image: 'docker.io/library/busybox:latest',
        runtime: { name: 'io.containerd.runc.v2' },
        spec: ociSpec(['true']),
      },
    },
    options,
  )
  expect((await h.ns('first').containers.Get({ id: 'twice' })).container!.id).toBe('twice')
  expect(h.events.find((e) => e.topic === '/containers/create')?.namespace).toBe('first')
})

test('a signal to a created task ends it as it ends runc init: 128 + the signal, an exit event, a stopped task', async () => {
  await ctr.containers.Create({
    container: {
      id: 'created',
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: ociSpec(['sleep', '3600']),
    },
  })
  await ctr.tasks.Create({ container_id: 'created' })
  // runc create made its cgroup: Metrics reports it (the Go client's task.Metrics fails on none).
  expect((await ctr.tasks.Metrics({ filters: ['id==created'] })).metrics).toHaveLength(1)
  const waiting = ctr.tasks.Wait({ container_id: 'created' })
  await ctr.tasks.Kill({ container_id: 'created', signal: 28 })
  expect((await ctr.tasks.Get({ container_id: 'created' })).process!.status).toBe('CREATED')
  await ctr.tasks.Kill({ container_id: 'created', signal: 9 })
  expect((await waiting).exit_status).toBe(137)
  expect((await ctr.tasks.Get({ container_id: 'created' })).process).toMatchObject({ status: 'STOPPED', exit_status: 137 })
  expect(h.events.filter((e) => e.topic === '/tasks/exit').map((e) => e.payload)).toMatchObject([
    { container_id: 'created', exit_status: 137 },
  ])
  expect((await ctr.tasks.Metrics({ filters: ['id==created'] })).metrics).toHaveLength(0)
  expect((await ctr.tasks.Delete({ container_id: 'created' })).exit_status).toBe(137)
})

test("ListPids names an exec'd process's exec id in its info, as the runc shim does", async () => {
  await runningTask('pids')
  await ctr.tasks.Exec({ container_id: 'pids', exec_id: 'sleeper', spec: processSpec(['sleep', '3600']) })
  await ctr.tasks.Start({ container_id: 'pids', exec_id: 'sleeper' })
  const { processes } = await ctr.tasks.ListPids({ container_id: 'pids' })
  const init = (await ctr.tasks.Get({ container_id: 'pids' })).process!.pid
  expect(processes.map((p) => [p.pid === init, p.info?.type_url ?? null])).toEqual([
    [true, null],
    [false, 'containerd.runc.v1.ProcessDetails'],
  ])
  expect(decodeMessage('containerd.runc.v1.ProcessDetails', processes[1]!.info!.value)).toEqual({ exec_id: 'sleeper' })
})

test('the /tasks/create event names the rootfs mounts the client sent', async () => {
  await ctr.containers.Create({
    container: {
      id: 'mounted',
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: ociSpec(['true']),
    },
  })
  const rootfs = [{ type: 'overlay', source: 'overlay', target: '', options: ['index=off', 'lowerdir=/l', 'upperdir=/u', 'workdir=/w'] }]
  await ctr.tasks.Create({ container_id: 'mounted', rootfs })
  expect(h.events.find((e) => e.topic === '/tasks/create')?.payload).toMatchObject({ container_id: 'mounted', rootfs })
})

/** A container whose process runs `script` in sh, with a terminal or not; its output goes to a file. */
async function consoleTask(id: string, script: string, terminal: boolean): Promise<string> {
  const args = ['sh', '-c', script]
  await ctr.containers.Create({
    container: {
      id,
      image: 'docker.io/library/busybox:latest',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: ociSpec(args, { process: { args, env: ['PATH=/bin'], cwd: '/', terminal } }),
      snapshotter: 'overlayfs',
      snapshot_key: id,
    },
  })
  const out = join(dir, `${id}.out`)
  writeFileSync(out, '')
  await ctr.tasks.Create({ container_id: id, stdout: out, terminal })
  return out
}
const output = (path: string, want: string) =>
  eventually(() => (readFileSync(path, 'utf8').includes(want) ? readFileSync(path, 'utf8') : undefined), `"${want}" in ${path}`)

test('a size set before Start is the one the process starts with; output has terminal line ends', async () => {
  const out = await consoleTask('tty', 'stty size; sleep 3600', true)
  await ctr.tasks.ResizePty({ container_id: 'tty', width: 101, height: 33 })
  await ctr.tasks.Start({ container_id: 'tty' })
  expect(await output(out, '\n')).toBe('33 101\r\n')
})

test('a resize reaches a running exec with a terminal (stty size); a stopped one refuses it', async () => {
  await consoleTask('host', 'sleep 3600', false)
  await ctr.tasks.Start({ container_id: 'host' })
  const out = join(dir, 'exec.out')
  writeFileSync(out, '')
  await ctr.tasks.Exec({
    container_id: 'host',
    exec_id: 'e1',
    spec: processSpec(['sh', '-c', 'while [ "$(stty size)" = "0 0" ]; do sleep 0.1; done; stty size']),
    stdout: out,
    terminal: true,
  })
  await ctr.tasks.Start({ container_id: 'host', exec_id: 'e1' })
  await ctr.tasks.ResizePty({ container_id: 'host', exec_id: 'e1', width: 90, height: 20 })
  const waited = await ctr.tasks.Wait({ container_id: 'host', exec_id: 'e1' })
  expect(waited.exit_status).toBe(0)
  expect(await output(out, '\n')).toBe('20 90\r\n')
  const stopped = await grpcError(ctr.tasks.ResizePty({ container_id: 'host', exec_id: 'e1', width: 1, height: 1 }))
  expect([stopped.code, stopped.details]).toEqual([2, 'cannot resize a stopped container'])
})

test('a stopped exec without a terminal refuses a resize too: the shim checks the state before the console', async () => {
  await consoleTask('plainhost', 'sleep 3600', false)
  await ctr.tasks.Start({ container_id: 'plainhost' })
  await ctr.tasks.Exec({ container_id: 'plainhost', exec_id: 'e2', spec: processSpec(['true']), terminal: false })
  await ctr.tasks.Start({ container_id: 'plainhost', exec_id: 'e2' })
  expect((await ctr.tasks.Wait({ container_id: 'plainhost', exec_id: 'e2' })).exit_status).toBe(0)
  const stopped = await grpcError(ctr.tasks.ResizePty({ container_id: 'plainhost', exec_id: 'e2', width: 1, height: 1 }))
  expect([stopped.code, stopped.details]).toEqual([2, 'cannot resize a stopped container'])
})

test('a process without a terminal ignores a resize, as the shim does', async () => {
  const out = await consoleTask('plain', 'stty size 2>&1; echo done', false)
  await ctr.tasks.ResizePty({ container_id: 'plain', width: 80, height: 24 })
  await ctr.tasks.Start({ container_id: 'plain' })
  expect(await output(out, 'done')).toBe('stty: standard input: Not a tty\ndone\n')
})

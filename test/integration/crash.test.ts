// Crash safety of --state --state-sync as a user sees it: the built CLI under a mixed CRI load
// (pods and containers created, started, stopped, removed; files written in containers) is killed
// with SIGKILL at random points, many rounds over one state file. After each kill the file parses and
// the server starts again on it, and every change it acknowledged is there: nothing acknowledged is
// lost, nothing whose removal was acknowledged comes back.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { criClients, type CriClients } from '../../src/client.js'
import { containerConfig, podConfig, runContainer, runPod } from '../helpers.js'

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js')
const RPC = { deadline: 10_000 }
const ROUNDS = 12

const dirs: string[] = []
const children = new Set<ChildProcess>()
afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

interface Server {
  child: ChildProcess
  cri: CriClients
  exited: Promise<void>
  stderr(): string
}

/** Starts the CLI on `state` and waits for its ready line; rejects with its stderr when it exits first. */
async function startCli(state: string, socket: string, extra: string[] = []): Promise<Server> {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FAKE_CONTAINERD_')) env[k] = v
  const child = spawn(process.execPath, [CLI, '--state', state, '--state-sync', '--socket', socket, '--log-level', 'error', ...extra], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += String(d)))
  const exited = new Promise<void>((done) => child.once('exit', () => (children.delete(child), done())))
  await new Promise<void>((ready, fail) => {
    child.stdout!.on('data', (d) => String(d).includes('listening on') && ready())
    void exited.then(() => fail(new Error(`the CLI exited before it was ready: ${stderr}`)))
  })
  return { child, cri: criClients(`unix://${socket}`), exited, stderr: () => stderr }
}

type PodState = 'ready' | 'stopped' | 'removed'
type ContainerState = 'created' | 'running' | 'exited' | 'removed'

/** What the server acknowledged about one object, and what it was asked last without answering. */
interface Known<S> {
  id: string
  acked: S
  /** The state a call in flight when the server died would have led to: either may be found. */
  pending?: S
}

interface Model {
  pods: Map<string, Known<PodState>>
  containers: Map<string, Known<ContainerState> & { pod: string; file?: string }>
}

/** Runs `call`, recording an acknowledged change; a call cut off by the kill leaves its change pending. */
async function change<S>(known: Known<S>, next: S, call: () => Promise<unknown>): Promise<void> {
  known.pending = next
  await call()
  known.acked = next
  delete known.pending
}

let serial = 0

/** One client's work until the server dies: a pod and its containers through their lives, stopping anywhere. */
async function worker(cri: CriClients, model: Model, logDir: string): Promise<void> {
  for (;;) {
    const n = ++serial
    const config = { metadata: { name: `p${n}`, namespace: 'crash', uid: `u${n}`, attempt: 0 }, log_directory: logDir }
    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config }, RPC)
    const pod: Known<PodState> = { id: pod_sandbox_id, acked: 'ready' }
    model.pods.set(pod.id, pod)
    for (const name of ['a', 'b']) {
      const { container_id } = await cri.runtime.CreateContainer(
        {
          pod_sandbox_id,
          config: { metadata: { name, attempt: 0 }, image: { image: 'busybox' }, command: ['sleep', '3600'], log_path: `${name}.log` },
          sandbox_config: config,
        },
        RPC,
      )
      const c: Model['containers'] extends Map<string, infer V> ? V : never = { id: container_id, acked: 'created', pod: pod.id }
      model.containers.set(c.id, c)
      if (Math.random() < 0.2) continue
      await change(c, 'running', () => cri.runtime.StartContainer({ container_id }, RPC))
      const token = `written-${n}-${name}`
      await cri.runtime.ExecSync({ container_id, cmd: ['sh', '-c', `echo ${token} > /token`], timeout: 5 }, RPC)
      c.file = token
      if (Math.random() < 0.4) continue
      await change(c, 'exited', () => cri.runtime.StopContainer({ container_id, timeout: 0 }, RPC))
      if (Math.random() < 0.5) continue
      await change(c, 'removed', () => cri.runtime.RemoveContainer({ container_id }, RPC))
    }
    if (Math.random() < 0.3) continue
    // Stopping a pod stops its containers; removing it removes them.
    const inPod = [...model.containers.values()].filter((c) => c.pod === pod.id && c.acked !== 'removed')
    for (const c of inPod) if (c.acked !== 'created') c.pending = 'exited'
    await change(pod, 'stopped', () => cri.runtime.StopPodSandbox({ pod_sandbox_id }, RPC))
    for (const c of inPod) {
      if (c.acked !== 'created') c.acked = 'exited'
      delete c.pending
    }
    if (Math.random() < 0.3) continue
    for (const c of inPod) c.pending = 'removed'
    await change(pod, 'removed', () => cri.runtime.RemovePodSandbox({ pod_sandbox_id }, RPC))
    for (const c of inPod) {
      c.acked = 'removed'
      delete c.pending
    }
  }
}

const POD_STATE: Record<string, PodState> = { SANDBOX_READY: 'ready', SANDBOX_NOTREADY: 'stopped' }
const CONTAINER_STATE: Record<string, ContainerState> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
}

/** What a restarted server shows against what was acknowledged: the list of differences (empty when none). */
async function check(cri: CriClients, model: Model): Promise<string[]> {
  const problems: string[] = []
  const pods = new Map((await cri.runtime.ListPodSandbox({}, RPC)).items.map((p) => [p.id, POD_STATE[p.state]!]))
  const containers = new Map((await cri.runtime.ListContainers({}, RPC)).containers.map((c) => [c.id, CONTAINER_STATE[c.state]!]))
  const compare = <S extends string>(what: string, known: Known<S>, found: S | undefined): boolean => {
    const seen = found ?? 'removed'
    if (seen === known.acked || seen === known.pending) return seen !== 'removed'
    problems.push(`${what} ${known.id}: acknowledged ${known.acked}${known.pending ? ` (or ${known.pending})` : ''}, found ${seen}`)
    return false
  }
  for (const p of model.pods.values()) {
    if (compare('pod', p, pods.get(p.id))) p.acked = pods.get(p.id)!
    else if (!pods.has(p.id)) p.acked = 'removed'
    delete p.pending
  }
  for (const c of model.containers.values()) {
    const found = containers.get(c.id)
    const present = compare('container', c, found)
    if (present && found === 'running' && c.file) {
      const { stdout } = await cri.runtime.ExecSync({ container_id: c.id, cmd: ['cat', '/token'], timeout: 5 }, RPC)
      if (String(stdout).trim() !== c.file) problems.push(`container ${c.id}: /token holds "${String(stdout).trim()}", not "${c.file}"`)
    }
    c.acked = found ?? 'removed'
    delete c.pending
  }
  // What is gone for good need not be looked at again.
  for (const [id, p] of model.pods) if (p.acked === 'removed') model.pods.delete(id)
  for (const [id, c] of model.containers) if (c.acked === 'removed') model.containers.delete(id)
  return problems
}

describe('--state --state-sync under kill -9', () => {
  test(`${ROUNDS} rounds of a mixed CRI load killed at random points lose nothing acknowledged`, { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-crash-'))
    dirs.push(dir)
    const state = join(dir, 'state.json')
    const socket = join(dir, 'containerd.sock')
    const model: Model = { pods: new Map(), containers: new Map() }
    const problems: string[] = []
    let acknowledged = 0
    // Rounds whose kill found changes in the log (<state>.log) that the state file did not hold yet.
    let logged = 0
    for (let round = 0; round <= ROUNDS; round++) {
      const server = await startCli(state, socket)
      if (round === 0) await server.cri.image.PullImage({ image: { image: 'busybox' } }, RPC)
      else problems.push(...(await check(server.cri, model)).map((p) => `round ${round}: ${p}`))
      if (round === ROUNDS) {
        server.cri.close()
        server.child.kill('SIGTERM')
        await server.exited
        break
      }
      const load = Promise.allSettled(Array.from({ length: 6 }, () => worker(server.cri, model, join(dir, 'logs'))))
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400))
      server.child.kill('SIGKILL')
      await server.exited
      await load
      server.cri.close()
      acknowledged += model.pods.size + model.containers.size
      // Whatever moment the kill came at, the file is whole JSON.
      expect(() => JSON.parse(readFileSync(state, 'utf8')) as unknown, `round ${round}: the state file parses`).not.toThrow()
      if (existsSync(`${state}.log`) && readFileSync(`${state}.log`).length > 0) logged++
    }
    expect(problems).toEqual([])
    // The restarts read acknowledged changes back from the log, not only from the state file.
    expect(logged).toBeGreaterThan(0)
    // The load did make changes for the rounds to check.
    expect(acknowledged).toBeGreaterThan(ROUNDS)
  })

  test('files an ExecSync wrote are there after a kill -9 right after it answered: in the writable layer and in a bind mount', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-files-'))
    dirs.push(dir)
    const state = join(dir, 'state.json')
    const socket = join(dir, 'containerd.sock')
    const volume = join(dir, 'volume')
    mkdirSync(volume)
    const first = await startCli(state, socket)
    const pod = podConfig('files', { log_directory: join(dir, 'logs') })
    const mounts = [{ container_path: '/data', host_path: volume }]
    const id = await runContainer(
      first.cri,
      await runPod(first.cri, pod),
      pod,
      containerConfig('app', { command: ['sleep', '3600'], mounts, log_path: 'app.log' }),
    )
    const script = 'echo layer > /layer.txt && mkdir -p /var/lib/app && echo nested > /var/lib/app/db && echo volume > /data/v.txt'
    const { exit_code } = await first.cri.runtime.ExecSync({ container_id: id, cmd: ['sh', '-c', script], timeout: 5 }, RPC)
    expect(exit_code).toBe(0)
    // Killed the moment the answer is in: nothing after it could have saved anything.
    first.child.kill('SIGKILL')
    await first.exited
    first.cri.close()
    const second = await startCli(state, socket)
    const cat = async (path: string): Promise<string> =>
      String((await second.cri.runtime.ExecSync({ container_id: id, cmd: ['cat', path], timeout: 5 }, RPC)).stdout)
    expect(await cat('/layer.txt')).toBe('layer\n')
    expect(await cat('/var/lib/app/db')).toBe('nested\n')
    expect(await cat('/data/v.txt')).toBe('volume\n')
    expect(readFileSync(join(volume, 'v.txt'), 'utf8')).toBe('volume\n')
    second.cri.close()
    second.child.kill('SIGTERM')
    await second.exited
  })

  test('a second server on the same state file is refused while the first runs; a crashed one leaves nothing in the way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-lock-'))
    dirs.push(dir)
    const state = join(dir, 'state.json')
    const first = await startCli(state, join(dir, 'a.sock'))
    const err = await startCli(state, join(dir, 'b.sock')).then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).toMatch(/state file .*state\.json is in use by another fake-containerd \(pid \d+/)
    first.cri.close()
    first.child.kill('SIGKILL')
    await first.exited
    // The dead server's lock is taken over; temp files of writes a crash cut short are removed.
    const halfWritten = [
      join(dir, '.state.json.tmp'),
      join(dir, 'state.json.blobs', '.tmp-4242-1'),
      join(dir, 'state.json.blobs', 'sha256', `${'a'.repeat(64)}.tmp-4242`),
      join(dir, 'state.json.blobs', 'layers', '.tmp-4242-2'),
    ]
    mkdirSync(join(dir, 'state.json.blobs', 'sha256'), { recursive: true })
    mkdirSync(join(dir, 'state.json.blobs', 'layers'), { recursive: true })
    for (const file of halfWritten) writeFileSync(file, '{"half')
    const second = await startCli(state, join(dir, 'a.sock'))
    expect(halfWritten.filter((f) => existsSync(f))).toEqual([])
    expect((await second.cri.runtime.Version({ version: '' }, RPC)).runtime_name).toBe('containerd')
    second.cri.close()
    second.child.kill('SIGTERM')
    await second.exited
  })
})

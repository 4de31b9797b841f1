// fake-containerd --nodes N --socket-dir DIR: the ready lines, real crictl on two nodes' sockets, a
// restart with a --state directory bringing each node back, and bad input refused before anything
// is served, with what to change.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, test } from 'vitest'
import { criClients } from '../../src/client.js'
import { crictlPodFile, eventually, podConfig, runPod } from '../helpers.js'

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js')
const CRICTL = (process.env.CRICTL ?? '').split(',').find(Boolean) ?? '/opt/cri-tools/1.29/crictl'
const run = promisify(execFile)

const children: ChildProcess[] = []
const dirs: string[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL')
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fc-cluster-cli-'))
  dirs.push(d)
  return d
}

/** An environment without FAKE_CONTAINERD_* variables the runner may have. */
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FAKE_CONTAINERD_')))

/** Starts the CLI and resolves with its stdout once it printed its exports (it is then serving every node). */
async function start(args: string[]): Promise<{ child: ChildProcess; stdout: string; stopped: Promise<number | null> }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" before these tests`)
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c))
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const stopped = new Promise<number | null>((resolve) => child.once('close', resolve))
  await eventually(
    () => (/^export CONTAINERD_ADDRESS=/m.test(stdout) ? true : child.exitCode !== null ? true : undefined),
    'the ready lines',
    15_000,
  )
  if (child.exitCode !== null) throw new Error(`fake-containerd exited ${child.exitCode}: ${stderr}`)
  return { child, stdout, stopped }
}

/** Runs the CLI to its exit: code and stderr. */
async function refused(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c))
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  return { code, stderr }
}

describe('fake-containerd --nodes', () => {
  test.runIf(existsSync(CRICTL))('serves each node on DIR/node-<i>.sock; a restart with a --state directory brings each back', async () => {
    const dir = tempDir()
    const sockets = join(dir, 'sockets')
    const state = join(dir, 'state')
    const args = ['--nodes', '2', '--socket-dir', sockets, '--state', state, '--log-level', 'warn']
    const first = await start(args)
    expect(first.stdout).toBe(
      `listening on unix://${sockets}/node-0.sock (node-0: pod CIDR 10.88.0.0/24, host address 127.0.1.1)\n` +
        `listening on unix://${sockets}/node-1.sock (node-1: pod CIDR 10.88.1.0/24, host address 127.0.1.2)\n` +
        `export CONTAINER_RUNTIME_ENDPOINT=unix://${sockets}/node-0.sock\n` +
        `export CONTAINERD_ADDRESS=${sockets}/node-0.sock\n`,
    )
    const crictl = async (i: number, ...rest: string[]) =>
      (await run(CRICTL, ['-r', `unix://${sockets}/node-${i}.sock`, '--timeout', '10s', ...rest])).stdout.trim()
    const ids: string[] = []
    for (const i of [0, 1]) {
      const podDir = join(dir, `pod-${i}`)
      mkdirSync(podDir)
      ids.push(await crictl(i, 'runp', crictlPodFile(podDir, `kept-${i}`)))
    }
    first.child.kill('SIGTERM')
    expect(await first.stopped).toBe(0)
    expect(readdirSync(sockets)).toEqual([])
    expect(
      readdirSync(state)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual(['node-0.json', 'node-1.json'])

    const second = await start(args)
    for (const i of [0, 1]) expect(await crictl(i, 'pods', '-q')).toBe(ids[i])
    second.child.kill('SIGTERM')
    expect(await second.stopped).toBe(0)
  })

  test('SIGTERM with --state and many pods (50 nodes × 20, which took over 2 s to close): every node writes its state and drops its lock, and the process exits 0', async () => {
    const dir = tempDir()
    const sockets = join(dir, 'sockets')
    const state = join(dir, 'state')
    const nodes = 50
    const served = await start(['--nodes', String(nodes), '--socket-dir', sockets, '--state', state, '--log-level', 'warn'])
    await Promise.all(
      Array.from({ length: nodes }, async (_, i) => {
        const cri = criClients(`unix://${sockets}/node-${i}.sock`)
        try {
          for (let p = 0; p < 20; p++) await runPod(cri, podConfig(`pod-${i}-${p}`))
        } finally {
          cri.close()
        }
      }),
    )
    served.child.kill('SIGTERM')
    expect(await served.stopped).toBe(0)
    const files = readdirSync(state).sort()
    expect(files.filter((f) => f.endsWith('.lock'))).toEqual([])
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(nodes)
    const last = JSON.parse(readFileSync(join(state, `node-${nodes - 1}.json`), 'utf8')) as { sandboxes?: unknown }
    expect(JSON.stringify(last)).toContain(`pod-${nodes - 1}-19`)
  }, 120_000)

  test("CommonJS: require('fake-containerd').startFakeCluster starts the nodes, each answering on its socket", async () => {
    const script = `
const fc = require(${JSON.stringify(join(import.meta.dirname, '..', '..', 'dist', 'index.cjs'))})
fc.startFakeCluster({ nodes: 2 }).then(async (cluster) => {
  try {
    for (const n of cluster.list()) {
      const cri = fc.criClients(n.address)
      const v = await cri.runtime.Version({ version: '' }, { deadline: 5000 })
      cri.close()
      console.log(n.name, n.podCidr, n.hostAddress, v.runtime_name)
    }
  } finally {
    await cluster.close()
  }
})
`
    const { stdout } = await run(process.execPath, ['-e', script], { env: cleanEnv(), timeout: 30_000 })
    expect(stdout).toBe('node-0 10.88.0.0/24 127.0.1.1 containerd\nnode-1 10.88.1.0/24 127.0.1.2 containerd\n')
  })

  test('bad input is refused before anything is served', async () => {
    const dir = tempDir()
    const zero = await refused(['--nodes', '0'])
    expect(zero).toEqual({ code: 2, stderr: expect.stringContaining('fake-containerd: --nodes must be at least 1, got 0\n') })
    const small = await refused(['--nodes', '3', '--socket-dir', join(dir, 's'), '--pod-cidr', '10.9.0.0/23'])
    expect(small.code).toBe(1)
    expect(small.stderr).toBe(
      'fake-containerd: --pod-cidr 10.9.0.0/23 holds 2 node ranges of /24 (each node gets a /24, as Kubernetes gives each node of a cluster CIDR); ' +
        '3 nodes need a /22 or larger, such as 10.9.0.0/22\n',
    )
    const file = join(dir, 'a-file')
    writeFileSync(file, '')
    const unmakeable = await refused(['--nodes', '2', '--socket-dir', join(file, 'sockets')])
    expect(unmakeable.code).toBe(1)
    expect(unmakeable.stderr).toMatch(/^fake-containerd: cannot make the socket directory .*\/a-file\/sockets: ENOTDIR/)
    const alone = await refused(['--socket-dir', join(dir, 's')])
    expect(alone.stderr).toBe(
      'fake-containerd: --socket-dir is the directory of the nodes of --nodes: give --nodes N too, or use --socket\n',
    )
    const web = await refused(['--nodes', '2', '--socket-dir', join(dir, 's'), '--web', '127.0.0.1:0'])
    expect(web.stderr).toContain('the web view shows one node and cannot be combined with nodes (--nodes)')
    expect(existsSync(join(dir, 's'))).toBe(false)
  })
})

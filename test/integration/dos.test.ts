// One client's pathological pattern must not stall another's calls (issue #17). The server runs
// as its own process (dist/cli.js), as a kubelet sees it: an attacker runs each pattern of #17
// while a second client calls Version back to back. Asserted: the attack ends with its normal
// result or a clean error, every Version call is answered (each under a deadline: a frozen server
// fails it), and Versions keep being answered while the attack is still running. No timings are
// asserted; bench/dos.mjs measures the latencies.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { containerdClients, criClients, type ContainerdClients, type CriClients } from '../../src/client.js'
import { containerConfig, podConfig, runContainer, runPod } from '../helpers.js'

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js')
const A = (n: number): string => 'a'.repeat(n)
const EVIL = `${A(34)}!`
/** x=32,768 a's, built in the shell. */
const A32K = 'x=a; i=0; while [ $i -lt 15 ]; do x=$x$x; i=$((i+1)); done'
/** A deadline for each Version call: generous for a loaded CI machine, far below a frozen server's minutes. */
const VERSION_DEADLINE_MS = 5_000

let dir: string
let child: ChildProcess
let exited: Promise<number | null>
let attacker: CriClients
let timer: CriClients
let ctr: ContainerdClients
let container: string

async function startServer(): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" before these tests`)
  dir = mkdtempSync(join(tmpdir(), 'fc-dos-'))
  child = spawn(process.execPath, [CLI, '--socket', join(dir, 'c.sock'), '--log-level', 'error'], { stdio: ['ignore', 'pipe', 'pipe'] })
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += String(d)
      const m = /listening on (unix:\/\/\S+)/.exec(out)
      if (m) resolve(m[1] as string)
    })
    void exited.then((code) => reject(new Error(`fake-containerd exited (${code}) before listening`)))
  })
}

beforeAll(async () => {
  const address = await startServer()
  attacker = criClients(address)
  timer = criClients(address)
  ctr = containerdClients(address, 'k8s.io')
  const config = podConfig('dos')
  container = await runContainer(attacker, await runPod(attacker, config), config, containerConfig('app', { command: ['sleep', '3600'] }))
})

afterAll(async () => {
  for (const c of [attacker, timer, ctr]) c?.close()
  if (child && child.exitCode === null) {
    child.kill('SIGKILL')
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
})

/** Runs the attack while the timer client calls Version back to back; how many it answered before the attack ended. */
async function underAttack<T>(attack: () => Promise<T>): Promise<{ result: T; versionsDuring: number }> {
  let done = false
  let versionsDuring = 0
  const running = attack().finally(() => (done = true))
  const versions = (async () => {
    while (!done) {
      const v = await timer.runtime.Version({}, { deadline: Date.now() + VERSION_DEADLINE_MS })
      expect(v.runtime_name).toBe('containerd')
      if (!done) versionsDuring++
    }
  })()
  const result = await running
  await versions
  return { result, versionsDuring }
}

const exec = async (script: string, timeout = 30) => {
  const r = await attacker.runtime.ExecSync({ container_id: container, cmd: ['sh', '-c', script], timeout })
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), exit: r.exit_code }
}

/** The pattern 20 times over in one exec, so that the attack lasts long enough to watch. */
const repeated = (cmd: string): string => `i=0; while [ $i -lt 20 ]; do ${cmd}; i=$((i+1)); done`

describe('pathological patterns do not stall other clients (#17)', () => {
  test.each([
    ['grep -E', `echo ${EVIL} | grep -E '(a+)+$' || echo no`, 'no\n'],
    ['grep (BRE)', `echo ${EVIL} | grep '\\(a\\+\\)\\+$' || echo no`, 'no\n'],
    ['awk', `echo ${EVIL} | awk '/(a+)+$/ { print "hit" } END { print "end" }'`, 'end\n'],
    ['awk -F (field splitting)', `echo ${EVIL} | awk -F '(a+)+$' '{ print NF, $1 }'`, `1 ${EVIL}\n`],
    ['awk split()', `echo x${A(34)}by${EVIL} | awk '{ n = split($0, p, /(a+)+b/); print n, p[2] }'`, `2 y${EVIL}\n`],
    ['sed -E', `echo ${EVIL} | sed -E 's/(a+)+$/x/'`, `${EVIL}\n`],
    ['sed (BRE)', `echo ${EVIL} | sed 's/\\(a*\\)*$/x/'`, `${EVIL}x\n`],
    ['expr', `expr ${A(34)} : '\\(a*\\)*b'`, '\n'],
    ['case on a 200-character value', `x=${A(200)}; case $x in *a*a*a*a*a*b) echo y;; *) echo n;; esac`, 'n\n'],
    ['${x//p/r} on a 200-character value', `x=${A(200)}; y=\${x//*a*a*a*b/}; echo \${#y}`, '200\n'],
  ])('%s', async (_name, cmd, once) => {
    const { result } = await underAttack(() => exec(repeated(cmd)))
    expect(result).toEqual({ stdout: once.repeat(20), stderr: '', exit: 0 })
  })

  test('a backreference that would backtrack for ever: grep answers "pattern too complex"', async () => {
    const { result } = await underAttack(() => exec(`echo ${EVIL} | grep '\\(a*\\)*\\1$'`))
    expect(result).toEqual({ stdout: '', stderr: 'grep: pattern too complex\n', exit: 2 })
  })

  test('containerd ~= filter', async () => {
    const { result } = await underAttack(async () => {
      let listed = -1
      for (let i = 0; i < 20; i++) listed = (await ctr.containers.List({ filters: ['id~=^([0-9a-f]+)+z'] })).containers.length
      return listed
    })
    expect(result).toBe(0)
  })

  test.each([
    ['a busy shell loop', 'while :; do :; done'],
    // The longest match at each position: quadratic (as in ash), in slices of 4 ms.
    ['${x//*b/} on a 32 KiB value', `${A32K}; echo \${x//*b/} | wc -c`],
    // Each match rescans the rest of the line for a longer one: quadratic, in any leftmost-first engine.
    ['grep -o on a 32 KiB line', `${A32K}; echo $x | grep -o 'a.*z\\|a' | wc -l`],
    ['sed s///g on a 32 KiB line', `${A32K}; echo $x | sed 's/a.*z\\|a/b/g' | wc -c`],
    ['awk gsub on a 32 KiB line', `${A32K}; echo $x | awk '{ print gsub(/a.*z|a/, "b") }'`],
    ['awk -F field splitting of a 32 KiB line', `${A32K}; echo $x | awk -F 'a.*z|a' '{ print NF }'`],
    ['awk split() of a 32 KiB line', `${A32K}; echo $x | awk '{ print split($0, p, /a.*z|a/) }'`],
  ])('%s: ExecSync times out as asked, and Version is answered all along', async (_name, script) => {
    const { result, versionsDuring } = await underAttack(() =>
      attacker.runtime.ExecSync({ container_id: container, cmd: ['sh', '-c', script], timeout: 2 }).then(
        () => 'no error',
        (e: { code: number; details: string }) => `${e.code} ${e.details}`,
      ),
    )
    expect(result).toBe('4 timeout 2s exceeded: context deadline exceeded')
    // Two seconds of work that never awaits anything real: a frozen server answers none of these.
    expect(versionsDuring).toBeGreaterThanOrEqual(10)
  })

  test('SIGTERM closes the server in the middle of an attack', async () => {
    const attacks = [
      attacker.runtime.ExecSync({ container_id: container, cmd: ['sh', '-c', 'while :; do :; done'], timeout: 0 }),
      attacker.runtime.ExecSync({
        container_id: container,
        cmd: ['sh', '-c', `while :; do echo ${EVIL} | grep -E '(a+)+$'; done`],
        timeout: 0,
      }),
    ].map((p) => p.catch(() => undefined))
    // Once Version is answered with both attacks started, they are running.
    await timer.runtime.Version({}, { deadline: Date.now() + VERSION_DEADLINE_MS })
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    await Promise.all(attacks)
  })
})

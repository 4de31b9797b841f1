import { describe, expect, test } from 'vitest'
import { realClock } from '../../src/sim/clock.js'
import { commandProgram } from '../../src/sim/program.js'
import { SimProcess } from '../../src/sim/process.js'
import { parse } from '../../src/sim/shell.js'

async function sh(script: string, env: Record<string, string> = {}) {
  const out = { stdout: '', stderr: '' }
  const p = new SimProcess({
    pid: 1,
    program: commandProgram(['sh', '-c', script]),
    args: ['sh', '-c', script],
    env,
    clock: realClock,
    isInit: false,
    onOutput: (s, t) => (out[s] += t),
  })
  p.start()
  const exit = await p.exited
  return { ...out, code: exit.code }
}

describe('shell subset', () => {
  test('quoting and expansion', async () => {
    expect((await sh(`echo 'a  b' "c  $X" d\\ e \${X}y`, { X: 'x' })).stdout).toBe('a  b c  x d e xy\n')
  })
  test('lists and $?', async () => {
    expect((await sh('false; echo $?; true && echo yes || echo no; false && echo no || echo fallback')).stdout).toBe('1\nyes\nfallback\n')
  })
  test('exit ends the script with its code', async () => {
    expect(await sh('echo a; exit 5; echo b')).toEqual({ stdout: 'a\n', stderr: '', code: 5 })
  })
  test('redirections between streams and to /dev/null', async () => {
    expect(await sh('echo e >&2; echo o 2>&1; echo gone >/dev/null; echo also > /dev/null')).toEqual({
      stdout: 'o\n',
      stderr: 'e\n',
      code: 0,
    })
  })
  test('unknown commands fail like sh does', async () => {
    expect(await sh('frobnicate --now')).toEqual({ stdout: '', stderr: 'sh: frobnicate: not found\n', code: 127 })
  })
  test('syntax errors', async () => {
    expect(() => parse("echo 'open")).toThrow(/unterminated/)
    expect(() => parse('&& echo')).toThrow(/unexpected "&&"/)
    expect((await sh('echo "open')).code).toBe(2)
  })
  test('comments are ignored', async () => {
    expect((await sh('echo a # not this\necho b')).stdout).toBe('a\nb\n')
  })
})

describe('signals', () => {
  const proc = (isInit: boolean, argv: string[]) =>
    new SimProcess({ pid: 2, program: commandProgram(argv), args: argv, env: {}, clock: realClock, isInit })

  test('a non-init process dies of SIGTERM with 143', async () => {
    const p = proc(false, ['sleep', '100'])
    p.start()
    p.kill(15)
    expect((await p.exited).code).toBe(143)
  })

  test('PID 1 ignores SIGTERM without a handler but not SIGKILL', async () => {
    const p = proc(true, ['sleep', '100'])
    p.start()
    p.kill(15)
    await new Promise((r) => setTimeout(r, 20))
    expect(p.running).toBe(true)
    p.kill(9)
    expect((await p.exited).code).toBe(137)
  })

  test('a service handles TERM and exits 0, even as PID 1', async () => {
    const p = proc(true, ['/usr/sbin/nginx'])
    p.start()
    await new Promise((r) => setTimeout(r, 5))
    p.kill(15)
    expect((await p.exited).code).toBe(0)
  })
})

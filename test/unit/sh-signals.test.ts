import { describe, expect, test } from 'vitest'
import { SimClock } from '../../src/sim/clock.js'
import { FakeTable, sh, start, until } from './sh-helpers.js'

/** A frozen simulated clock: nothing sleeps until the test advances it. */
const frozen = (): SimClock => {
  const c = new SimClock()
  c.freeze(true)
  return c
}
/** Lets every pending microtask and a turn of the event loop run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r))
}

describe('the simulated clock', () => {
  test('sleep 3600 ends when the clock advances', async () => {
    const clock = frozen()
    const r = start('echo start; sleep 3600; echo done', { clock })
    await until(() => r.out.stdout === 'start\n')
    await settle()
    expect(r.proc.running).toBe(true)
    clock.advance(3600_000)
    expect(await r.exited).toEqual({ code: 0 })
    expect(r.out.stdout).toBe('start\ndone\n')
  })
  test('sleep takes N, N.N, Ns, Nm, several arguments; usleep takes microseconds', async () => {
    const clock = frozen()
    const r = start('sleep 1.5; echo a; sleep 1m 30s; echo b; usleep 500000; echo c', { clock })
    await settle()
    clock.advance(1000)
    await settle()
    expect(r.out.stdout).toBe('')
    clock.advance(500)
    await until(() => r.out.stdout === 'a\n')
    await settle()
    clock.advance(89_999)
    await settle()
    expect(r.out.stdout).toBe('a\n')
    clock.advance(1)
    await until(() => r.out.stdout === 'a\nb\n')
    await settle()
    clock.advance(500)
    expect((await r.exited).code).toBe(0)
    expect(r.out.stdout).toBe('a\nb\nc\n')
  })
  test('sleep infinity lasts until the process is killed', async () => {
    const r = start('sleep infinity', { clock: frozen() })
    await settle()
    r.proc.kill(15)
    expect(await r.exited).toEqual({ code: 143, signal: 15 })
  })
  test('date follows the simulated clock', async () => {
    const clock = frozen()
    const before = Math.floor(clock.now() / 1000)
    const r = start('date +%s; sleep 3600; date +%s', { clock })
    await until(() => r.out.stdout !== '')
    await settle()
    clock.advance(3600_000)
    await r.exited
    const [a, b] = r.out.stdout.trim().split('\n').map(Number)
    expect(a).toBe(before)
    expect((b as number) - (a as number)).toBe(3600)
  })
})

describe('signals and traps', () => {
  test('without a trap a non-init shell dies of TERM (143)', async () => {
    const r = start('sleep 100', { clock: frozen() })
    await settle()
    r.proc.kill(15)
    expect(await r.exited).toEqual({ code: 143, signal: 15 })
  })
  test('PID 1 without a trap ignores TERM, but not KILL', async () => {
    const r = start('sleep 100', { clock: frozen(), isInit: true })
    await settle()
    r.proc.kill(15)
    await settle()
    expect(r.proc.running).toBe(true)
    r.proc.kill(9)
    expect(await r.exited).toEqual({ code: 137, signal: 9 })
  })
  test("trap 'echo bye; exit 0' TERM: the handler runs and the shell exits 0", async () => {
    const clock = frozen()
    const r = start("trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 1; done", { clock })
    await until(() => r.out.stdout === 'ready\n')
    await settle()
    r.proc.kill(15)
    await settle()
    // The trap runs when the foreground sleep ends, as in ash.
    expect(r.proc.running).toBe(true)
    clock.advance(1000)
    expect(await r.exited).toEqual({ code: 0 })
    expect(r.out.stdout).toBe('ready\nbye\n')
  })
  test('wait is interrupted by a trapped signal at once', async () => {
    const r = start("trap 'echo got TERM; exit 3' TERM; sleep 1000 & wait; echo never", { clock: frozen() })
    await settle()
    r.proc.kill(15)
    expect(await r.exited).toEqual({ code: 3 })
    expect(r.out.stdout).toBe('got TERM\n')
  })
  test("trap '' TERM ignores it; trap - TERM restores the default", async () => {
    const clock = frozen()
    const r = start("trap '' TERM; sleep 10; echo still here; trap - TERM; sleep 10; echo never", { clock })
    await settle()
    r.proc.kill(15)
    clock.advance(10_000)
    await until(() => r.out.stdout === 'still here\n')
    await settle()
    r.proc.kill(15)
    expect(await r.exited).toEqual({ code: 143, signal: 15 })
  })
  test('trap - TERM on PID 1 goes back to ignoring it', async () => {
    const clock = frozen()
    const r = start("trap 'echo t' TERM; trap - TERM; echo ready; sleep 10; echo end", { clock, isInit: true })
    await until(() => r.out.stdout === 'ready\n')
    await settle()
    r.proc.kill(15)
    clock.advance(10_000)
    expect(await r.exited).toEqual({ code: 0 })
    expect(r.out.stdout).toBe('ready\nend\n')
  })
  test('INT and a signal number; trap with no arguments lists the traps', async () => {
    const r = start("trap 'echo int' INT; trap 'echo usr1' 10; trap; sleep 1000 & wait; wait", { clock: frozen() })
    await until(() => r.out.stdout.includes('USR1'))
    await settle()
    r.proc.kill(2)
    await until(() => r.out.stdout.endsWith('int\n'))
    r.proc.kill(10)
    await until(() => r.out.stdout.endsWith('usr1\n'))
    expect(r.out.stdout).toBe("trap -- 'echo int' INT\ntrap -- 'echo usr1' USR1\nint\nusr1\n")
    r.proc.kill(9)
  })
  test('the EXIT trap runs at the end, on exit, and after a TERM trap exits', async () => {
    expect(await sh("trap 'echo cleanup $?' EXIT; echo body")).toMatchObject({ stdout: 'body\ncleanup 0\n', code: 0 })
    expect(await sh("trap 'echo cleanup' EXIT; exit 4")).toMatchObject({ stdout: 'cleanup\n', code: 4 })
    expect(await sh("trap 'echo cleanup; exit 9' EXIT; true")).toMatchObject({ code: 9 })
    const r = start("trap 'echo bye' EXIT; trap 'exit 2' TERM; sleep 5 & wait", { clock: frozen() })
    await settle()
    r.proc.kill(15)
    expect(await r.exited).toEqual({ code: 2 })
    expect(r.out.stdout).toBe('bye\n')
  })
  test('read is interrupted by a trapped signal (a PID 1 reading its stdin)', async () => {
    const never = { read: () => new Promise<undefined>(() => {}), readAll: () => new Promise<string>(() => {}) }
    const r = start('trap \'echo bye; exit 0\' TERM; while read line; do echo "$line"; done', { isInit: true, stdin: never })
    await settle()
    r.proc.kill(15)
    expect(await r.exited).toEqual({ code: 0 })
    expect(r.out.stdout).toBe('bye\n')
  })
  test('invalid signal names', async () => {
    expect(await sh("trap 'x' FOO; echo $?")).toEqual({
      stdout: '1\n',
      stderr: 'sh: trap: line 1: FOO: invalid signal specification\n',
      code: 0,
    })
  })
  test('kill $$ delivers to the shell itself', async () => {
    expect(await sh("trap 'echo caught' USR1; kill -USR1 $$; echo after")).toMatchObject({ stdout: 'caught\nafter\n' })
  })
})

describe('background jobs', () => {
  test('& runs concurrently; $! is its PID; wait waits and returns its status', async () => {
    const clock = frozen()
    const r = start('(sleep 5; echo job; exit 7) & echo "started $!"; wait $!; echo "waited $?"', { clock })
    await until(() => r.out.stdout.startsWith('started'))
    await settle()
    expect(r.out.stdout).toMatch(/^started \d+\n$/)
    clock.advance(5000)
    expect((await r.exited).code).toBe(0)
    expect(r.out.stdout).toMatch(/^started \d+\njob\nwaited 7\n$/)
  })
  test('wait with no arguments waits for every job; status 0', async () => {
    const clock = frozen()
    const r = start('sleep 2 & sleep 1 & wait; echo all done $?', { clock })
    await settle()
    clock.advance(1000)
    await settle()
    expect(r.out.stdout).toBe('')
    clock.advance(1000)
    await r.exited
    expect(r.out.stdout).toBe('all done 0\n')
  })
  test('wait for an unknown PID is 127', async () => {
    expect((await sh('wait 99999; echo $?')).stdout).toBe('127\n')
  })
  test('kill $! ends a job: its status is 128+signal', async () => {
    expect((await sh('sleep 1000 & kill $!; wait $!; echo $?', { clock: frozen() })).stdout).toBe('143\n')
    expect((await sh('sleep 1000 & kill -9 %1; wait %1; echo $?', { clock: frozen() })).stdout).toBe('137\n')
  })
  test('jobs appear in ps while they run', async () => {
    // The job shows as `sh` until it has run its command: poll ps until then.
    const r = await sh(
      'sleep 100 & until p=$(ps); case "$p" in *"0:00 sleep 100"*) true;; *) false;; esac; do :; done; echo "$p"; kill $!',
      { clock: frozen() },
    )
    expect(r.stdout).toMatch(/^PID {3}USER {5}TIME {2}COMMAND\n {4}1 root {6}0:00 sh -c .*\n {4}2 root {6}0:00 sleep 100\n$/s)
  })
  test('a process table with a spawn hook gives the PIDs and sees the jobs', async () => {
    const table = new FakeTable(true)
    const r = await sh('sleep 100 & echo $!; ps -o pid,ppid,args; kill $!', { clock: frozen(), table })
    expect(r.stdout).toBe(
      '100\nPID   PPID  COMMAND\n    1     0 sh -c sleep 100 & echo $!; ps -o pid,ppid,args; kill $!\n  100     1 sleep 100\n',
    )
  })
  test('when the shell is killed its jobs die too', async () => {
    const table = new FakeTable(true)
    const r = start('sleep 100 & sleep 200 & wait', { clock: frozen(), table })
    await until(() => table.list().length === 3)
    r.proc.kill(9)
    await r.exited
    await until(() => table.list().length === 0)
  })
  test('many jobs and substituted pipelines leave no listeners behind (no MaxListeners warning)', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error): void => void warnings.push(String(w))
    process.on('warning', onWarning)
    try {
      const r = await sh('i=0; while [ $i -lt 60 ]; do x=$(echo a | cat); sleep 0 & i=$((i+1)); done; wait; echo $x $i')
      expect(r.stdout).toBe('a 60\n')
      await new Promise((res) => setImmediate(res))
      expect(warnings).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })
  test('a job runs with /dev/null as stdin', async () => {
    expect((await sh('cat & wait; echo done', { stdin: 'not for the job\n' })).stdout).toBe('done\n')
  })
})

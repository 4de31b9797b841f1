// A process whose argv is `sleep N` waits as an alarm on the clock (ProgramContext.sleepThenExit), not
// as a chain of frames: it must end exactly as a sleeping busybox would — at its time with 0, earlier
// by a signal as the kernel decides (PID 1 ignores what it does not handle), never twice; a sleep
// inside a script still waits where it is.
import { describe, expect, test } from 'vitest'
import { SimClock } from '../../src/sim/clock.js'
import { FakeTable, startArgv, start, until } from './sh-helpers.js'

/** Lets pending callbacks and timers run a few turns. */
const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

const frozen = () => {
  const clock = new SimClock()
  clock.freeze(true)
  return clock
}

describe('a process that is only a sleep', () => {
  test('ends with 0 when its time has passed, not a millisecond earlier', async () => {
    const clock = frozen()
    const r = startArgv(['sleep', '5'], { clock })
    await turns()
    clock.advance(4999)
    await turns()
    expect(r.proc.running).toBe(true)
    clock.advance(1)
    expect(await r.exited).toEqual({ code: 0 })
    expect(r.out).toEqual({ stdout: '', stderr: '' })
  })

  test('a signal ends it as it would a sleeping process: 128+signal, once, the alarm no longer counts', async () => {
    const clock = frozen()
    const r = startArgv(['sleep', '60'], { clock })
    await turns()
    expect(r.proc.kill(15)).toBe(true)
    expect(await r.exited).toEqual({ code: 143, signal: 15 })
    clock.advance(60_000)
    await turns()
    expect(r.proc.exit).toEqual({ code: 143, signal: 15 })
    expect(r.proc.kill(9)).toBe(false)
  })

  test('as PID 1 it ignores TERM and INT (no handler) and dies of KILL; `sleep infinity` never ends on its own', async () => {
    const clock = frozen()
    const r = startArgv(['sleep', 'infinity'], { clock, isInit: true })
    await turns()
    expect(r.proc.kill(15)).toBe(true)
    expect(r.proc.kill(2)).toBe(true)
    clock.advance(10 * 365 * 86_400_000)
    await turns()
    expect(r.proc.running).toBe(true)
    r.proc.kill(9)
    expect(await r.exited).toEqual({ code: 137, signal: 9 })
  })

  test('the time is the sum of its arguments, units and fractions included', async () => {
    const clock = frozen()
    const r = startArgv(['sleep', '1m', '0.5'], { clock })
    await turns()
    clock.advance(60_499)
    await turns()
    expect(r.proc.running).toBe(true)
    clock.advance(1)
    expect((await r.exited).code).toBe(0)
  })

  test('a bad argument fails at once, as busybox does', async () => {
    const r = startArgv(['sleep', 'soon'], { clock: frozen() })
    expect((await r.exited).code).toBe(1)
    expect(r.out.stderr).toBe("sleep: invalid number 'soon'\n")
  })

  test('a detached process (the server stopping) does not exit when its time comes', async () => {
    const clock = frozen()
    const r = startArgv(['sleep', '1'], { clock })
    await turns()
    expect(clock.pending).toBe(1)
    r.proc.detach()
    // Its alarm is cancelled, not left in the clock to fire into a detached process.
    expect(clock.pending).toBe(0)
    clock.advance(1000)
    await turns()
    expect(r.proc.exit).toBeUndefined()
  })
})

describe('a sleep that is not all of its process', () => {
  test('in a script, what follows runs only once the sleep is over', async () => {
    const clock = frozen()
    const r = start('sleep 5; echo done; exit 3', { clock })
    await turns()
    clock.advance(4999)
    await turns()
    expect(r.out.stdout).toBe('')
    expect(r.proc.running).toBe(true)
    clock.advance(1)
    expect((await r.exited).code).toBe(3)
    expect(r.out.stdout).toBe('done\n')
  })

  test('run through env or a shell it still sleeps its time', async () => {
    const clock = frozen()
    const a = startArgv(['env', 'A=1', 'sleep', '2'], { clock })
    const b = start('sleep 2', { clock })
    await turns()
    clock.advance(1999)
    await turns()
    expect([a.proc.running, b.proc.running]).toEqual([true, true])
    clock.advance(1)
    expect([(await a.exited).code, (await b.exited).code]).toEqual([0, 0])
  })

  test('a trap in the script still runs when a signal comes during its sleep', async () => {
    const clock = frozen()
    const r = start("trap 'echo caught; exit 7' TERM; sleep 100 & wait", { clock, table: new FakeTable(true) })
    await until(() => r.table.list().length >= 2)
    r.proc.kill(15)
    expect((await r.exited).code).toBe(7)
    expect(r.out.stdout).toBe('caught\n')
  })
})

describe('the end of a process', () => {
  test('onExit listeners run once each, in the order given, before what awaits exited resumes; a late one still runs', async () => {
    const r = startArgv(['sleep', '1'], { clock: frozen() })
    const seen: string[] = []
    r.proc.onExit((e) => seen.push(`first ${e.code}`))
    r.proc.onExit((e) => seen.push(`second ${e.code}`))
    const awaited = r.proc.exited.then((e) => seen.push(`awaited ${e.code}`))
    await turns()
    r.proc.kill(15)
    r.proc.kill(9)
    await awaited
    expect(seen).toEqual(['first 143', 'second 143', 'awaited 143'])
    r.proc.onExit((e) => seen.push(`late ${e.code}`))
    await turns(2)
    expect(seen.at(-1)).toBe('late 143')
    expect(await r.proc.exited).toEqual({ code: 143, signal: 15 })
  })
})

describe('SimClock.after', () => {
  test('fires in due order among sleeps, at most once; a cancelled one never', async () => {
    const clock = frozen()
    const order: string[] = []
    clock.after(300, () => order.push('after 300'))
    const sleep = clock.sleep(200).then(() => order.push('sleep 200'))
    clock.after(100, () => order.push('after 100'))
    const cancelled = clock.after(150, () => order.push('cancelled'))
    cancelled.cancel()
    clock.advance(250)
    await sleep
    clock.advance(50)
    clock.advance(1000)
    expect(order).toEqual(['after 100', 'sleep 200', 'after 300'])
    cancelled.cancel()
  })

  test('at real speed, a far alarm (past what setTimeout takes) does not fire early', async () => {
    const clock = new SimClock()
    let fired = 0
    clock.after(2 ** 40, () => fired++)
    const near = clock.sleep(20)
    await near
    await new Promise((r) => setTimeout(r, 50))
    expect(fired).toBe(0)
    clock.stop()
  })
})

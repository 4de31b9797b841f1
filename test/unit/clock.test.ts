// The simulated clock: sleeps end in the order they are due, an abort ends only its signal's sleeps.
import { describe, expect, test } from 'vitest'
import { SimClock } from '../../src/sim/clock.js'

const settled = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'done',
    (err: unknown) => `aborted: ${(err as Error).message}`,
  )

describe('SimClock', () => {
  test('advance ends the sleeps due by then, earliest first, and leaves the rest', async () => {
    const clock = new SimClock()
    clock.freeze(true)
    const order: number[] = []
    const sleeps = [300, 100, 200, 5000].map((ms) => clock.sleep(ms).then(() => order.push(ms)))
    clock.advance(300)
    await Promise.all(sleeps.slice(0, 3))
    expect(order).toEqual([100, 200, 300])
    clock.advance(4700)
    await sleeps[3]
    expect(order).toEqual([100, 200, 300, 5000])
  })

  test("an abort ends its signal's sleeps with the signal's reason; other sleeps go on", async () => {
    const clock = new SimClock()
    clock.freeze(true)
    const a = new AbortController()
    const b = new AbortController()
    const mine = [clock.sleep(1000, a.signal), clock.sleep(2000, a.signal)].map(settled)
    const other = settled(clock.sleep(1000, b.signal))
    a.abort(new Error('process ended'))
    expect(await Promise.all(mine)).toEqual(['aborted: process ended', 'aborted: process ended'])
    clock.advance(1000)
    expect(await other).toBe('done')
    // A sleep on a signal already aborted fails at once; one on a signal that served sleeps before still works.
    expect(await settled(clock.sleep(10, a.signal))).toBe('aborted: process ended')
    const again = settled(clock.sleep(10, b.signal))
    clock.advance(10)
    expect(await again).toBe('done')
  })

  test('at real speed a later sleep does not delay an earlier one', async () => {
    const clock = new SimClock()
    const started = Date.now()
    const long = clock.sleep(60_000)
    await clock.sleep(20)
    expect(Date.now() - started).toBeLessThan(1000)
    clock.stop()
    void long
  })

  test('thousands of sleeps, most aborted: the rest end in due order (ties in the order set), none twice', async () => {
    const clock = new SimClock()
    clock.freeze(true)
    const ended: number[] = []
    const aborted: number[] = []
    const controllers: AbortController[] = []
    const sleeps: Promise<void>[] = []
    for (let i = 0; i < 3000; i++) {
      const c = new AbortController()
      controllers.push(c)
      // Dues repeat (i % 700), so ties are common.
      sleeps.push(
        clock.sleep((i * 7919) % 700, c.signal).then(
          () => void ended.push(i),
          () => void aborted.push(i),
        ),
      )
    }
    // Two thirds aborted, which rebuilds the heap more than once along the way.
    for (let i = 0; i < 3000; i++) if (i % 3 !== 0) controllers[i]!.abort(new Error('killed'))
    clock.advance(350)
    clock.advance(350)
    await Promise.all(sleeps)
    const expected = Array.from({ length: 3000 }, (_, i) => i)
      .filter((i) => i % 3 === 0)
      .sort((a, b) => ((a * 7919) % 700) - ((b * 7919) % 700) || a - b)
    expect(ended).toEqual(expected)
    expect(aborted).toHaveLength(2000)
  })
})

// The journal keeps a bounded summary of each call, and no more calls than fit in its byte budget.
import { describe, expect, test } from 'vitest'
import { Journal, SUMMARY_BYTES, SUMMARY_ITEMS, SUMMARY_STRING, summarize } from '../../src/journal/journal.js'

const ok = { status: { code: 0, details: '' } }

describe('journal summaries', () => {
  test('a small message is kept as it is', () => {
    const request = {
      config: { metadata: { name: 'web', attempt: 0 }, labels: { a: 'b' } },
      data: Buffer.from('hi'),
      cmd: ['sh', '-c', 'true'],
    }
    expect(summarize(request).value).toEqual(request)
  })

  test('long strings, byte fields and lists are cut, with a marker', () => {
    const { value } = summarize({
      handler: 'h'.repeat(200_000),
      stdout: Buffer.alloc(16 * 1024 * 1024, 'y'),
      cmd: Array.from({ length: 1000 }, (_, i) => String(i)),
    }) as { value: { handler: string; stdout: { cutBytes: number; head: Buffer }; cmd: string[] } }
    expect(value.handler).toBe(`${'h'.repeat(SUMMARY_STRING)}…[${200_000 - SUMMARY_STRING} characters cut]`)
    expect(value.stdout.cutBytes).toBe(16 * 1024 * 1024)
    expect(value.stdout.head.length).toBe(SUMMARY_BYTES)
    expect(value.cmd).toHaveLength(SUMMARY_ITEMS + 1)
    expect(value.cmd.at(-1)).toBe(`…[${1000 - SUMMARY_ITEMS} more]`)
  })
})

describe('the byte budget', () => {
  test('past the budget the oldest calls go; the newest always stays', () => {
    const journal = new Journal(1000, 64 * 1024)
    for (let i = 0; i < 200; i++) journal.begin('runtime.v1.RuntimeService', 'RunPodSandbox', '', { i, handler: 'h'.repeat(100_000) })(ok)
    const kept = journal.entries()
    expect(kept.length).toBeGreaterThan(10)
    expect(kept.length).toBeLessThan(200)
    expect(kept.at(-1)!.request).toMatchObject({ i: 199 })
    expect(journal.bytes).toBeLessThanOrEqual(64 * 1024)
    journal.clear()
    expect([journal.entries(), journal.bytes]).toEqual([[], 0])
  })
})

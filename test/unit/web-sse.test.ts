// The web view's event stream under a browser that does not read: what it writes while the socket
// is backed up (nothing), what it keeps (the newest journal entries, the rest counted) and what it
// sends once the socket drains (the latest view, once).
import { Writable } from 'node:stream'
import { expect, test } from 'vitest'
import { EventStream } from '../../src/web/sse.js'

/** A socket whose reader is stalled until release() takes what was written. */
function stalledSocket() {
  const written: string[] = []
  const held: (() => void)[] = []
  const out = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _enc, done) {
      written.push(chunk.toString())
      held.push(done)
    },
  })
  const release = () => {
    for (const done of held.splice(0)) done()
  }
  return { out, written, release }
}

const journalJson = (entries: number[], skipped: number) => JSON.stringify({ entries, skipped })

test('a stalled browser holds one chunk and the newest entries; on drain it gets the latest view once', async () => {
  const { out, written, release } = stalledSocket()
  const drained: string[] = []
  const stream = new EventStream<number>(out, 3, (s) => {
    drained.push('drain')
    s.flush(JSON.stringify({ view: 'latest' }), journalJson)
  })
  stream.add(1)
  stream.flush(JSON.stringify({ view: 'x'.repeat(100) }), journalJson)
  // Past the socket's high-water mark: the stream stops writing.
  expect(stream.ready).toBe(false)
  expect(written).toHaveLength(1)
  for (let i = 2; i <= 1000; i++) {
    stream.add(i)
    stream.flush(JSON.stringify({ view: i }), journalJson)
  }
  expect(written).toHaveLength(1)

  release()
  await new Promise((r) => setImmediate(r))
  expect(drained).toEqual(['drain'])
  expect(written).toHaveLength(2)
  expect(written[1]).toBe(
    `event: node\ndata: {"view":"latest"}\n\n` + `event: journal\ndata: ${JSON.stringify({ entries: [998, 999, 1000], skipped: 996 })}\n\n`,
  )
  // Nothing new: nothing written.
  release()
  stream.flush(JSON.stringify({ view: 'latest' }), journalJson)
  expect(written).toHaveLength(2)
})

test('a closed stream takes no more entries and writes nothing', () => {
  const { out, written } = stalledSocket()
  const stream = new EventStream<number>(out, 3, () => {})
  stream.close()
  stream.add(1)
  stream.flush('{}', journalJson)
  expect(written).toEqual([])
  expect(stream.ready).toBe(false)
})

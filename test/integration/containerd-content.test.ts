// containerd's Content service over the socket: blobs, labels, filters, reads and resumable writes.
import { status as Code } from '@grpc/grpc-js'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { collect } from '../../src/client.js'
import { OUT_OF_RANGE } from '../../src/containerd/content.js'
import { ctrHarness, payloads, readAll, sha256, upload, writeSession, type CtrHarness } from '../containerd.js'
import { eventually, grpcError } from '../helpers.js'

/** The gRPC code the service uses where containerd answers OUT_OF_RANGE (see OUT_OF_RANGE in content.ts). */
const OUT_OF_RANGE_CODE = OUT_OF_RANGE === 'InvalidArgument' ? Code.INVALID_ARGUMENT : Code.OUT_OF_RANGE

let h: CtrHarness
beforeEach(async () => {
  h = await ctrHarness()
})
afterEach(() => h.close())

const list = async (filters: string[] = [], ctr = h.ctr) => (await collect(ctr.content.List({ filters }))).flatMap((m) => m.info)

describe('Info, List, Delete', () => {
  test('a written blob has its digest, size, timestamps and labels', async () => {
    const digest = await upload(h.ctr, 'hello', { labels: { a: '1' } })
    const { info } = await h.ctr.content.Info({ digest })
    expect(info).toMatchObject({ digest, size: '5', labels: { a: '1' } })
    expect(BigInt(info!.created_at!.seconds)).toBeGreaterThan(0n)
    expect(info!.updated_at).toEqual(info!.created_at)
    expect(await list()).toEqual([info])
  })

  test('Info: a malformed digest is InvalidArgument, an unknown one NotFound', async () => {
    const bad = await grpcError(h.ctr.content.Info({ digest: 'nope' }))
    expect([bad.code, bad.details]).toEqual([Code.INVALID_ARGUMENT, '"nope" failed validation'])
    const missing = sha256('missing')
    const nf = await grpcError(h.ctr.content.Info({ digest: missing }))
    expect([nf.code, nf.details]).toEqual([Code.NOT_FOUND, `content digest ${missing}: not found`])
  })

  test('each namespace sees only what was written in it', async () => {
    const digest = await upload(h.ctr, 'mine')
    const other = h.ns('other')
    expect(await list([], other)).toEqual([])
    expect((await grpcError(other.content.Info({ digest }))).code).toBe(Code.NOT_FOUND)
  })

  test('List filters on digest and labels; size is not a filter field; a bad filter is InvalidArgument', async () => {
    const a = await upload(h.ctr, 'a', { labels: { app: 'web', tier: 'front' } })
    const b = await upload(h.ctr, 'b', { labels: { app: 'db' } })
    const c = await upload(h.ctr, 'c')
    const digests = async (filters: string[]) => (await list(filters)).map((i) => i.digest).sort()
    expect(await digests([])).toEqual([a, b, c].sort())
    expect(await digests([`digest==${b}`])).toEqual([b])
    expect(await digests(['labels.app==web'])).toEqual([a])
    expect(await digests(['labels.app'])).toEqual([a, b].sort())
    expect(await digests(['labels.app!=web'])).toEqual([b, c].sort())
    expect(await digests(['labels.app~=^d'])).toEqual([b])
    expect(await digests(['labels.app==web', 'labels.app==db'])).toEqual([a, b].sort())
    expect(await digests(['labels.app==web,labels.tier==back'])).toEqual([])
    expect(await digests(['size==1'])).toEqual([])
    const err = await grpcError(collect(h.ctr.content.List({ filters: ['labels.app=='] })))
    expect(err.code).toBe(Code.INVALID_ARGUMENT)
    expect(err.details).toMatch(/^filters: parse error: .*: invalid argument$/)
  })

  test('List sends blocks of at most 100', async () => {
    // gc.root: unreferenced blobs would go in the collection a start runs once (containerd's startup_delay).
    for (let i = 0; i < 150; i++) h.fake.node.content.put('default', Buffer.from(`blob ${i}`), { 'containerd.io/gc.root': 'kept' })
    const messages = await collect(h.ctr.content.List({ filters: [] }))
    expect(messages.map((m) => m.info.length)).toEqual([100, 50])
  })

  test('Delete removes the blob from the namespace and publishes /content/delete', async () => {
    const digest = await upload(h.ctr, 'bye')
    await h.ctr.content.Delete({ digest })
    expect((await grpcError(h.ctr.content.Info({ digest }))).code).toBe(Code.NOT_FOUND)
    expect(payloads(h.events, '/content/delete')).toEqual([{ digest }])
    expect(h.events.find((e) => e.topic === '/content/delete')).toMatchObject({
      namespace: 'default',
      type: 'containerd.events.ContentDelete',
    })
    const again = await grpcError(h.ctr.content.Delete({ digest }))
    expect([again.code, again.details]).toEqual([Code.NOT_FOUND, `content digest ${digest}: not found`])
    const bad = await grpcError(h.ctr.content.Delete({ digest: 'sha256:abc' }))
    expect([bad.code, bad.details]).toEqual([Code.INVALID_ARGUMENT, 'invalid checksum digest length'])
  })

  test('committing publishes /content/create with digest and size', async () => {
    const digest = await upload(h.ctr, 'created')
    expect(payloads(h.events, '/content/create')).toEqual([{ digest, size: 7 }])
  })

  test('a call without a namespace is FailedPrecondition', async () => {
    const err = await grpcError(h.ctr.content.Info({ digest: sha256('x') }, { metadata: { 'containerd-namespace': '' } }))
    expect([err.code, err.details]).toEqual([Code.FAILED_PRECONDITION, 'namespace is required: failed precondition'])
  })
})

describe('Update', () => {
  // An update runs the garbage collector (labels may drop references): a lease keeps these blobs.
  const leased = { metadata: { 'containerd-lease': 'keep' } }
  beforeEach(async () => {
    await h.ctr.leases.Create({ id: 'keep', labels: {} })
  })

  test('labels: replaced without a mask or with "labels"; one key with "labels.<key>"; empty removes', async () => {
    const digest = await upload(h.ctr, 'labelled', { labels: { a: '1', b: '2' }, options: leased })
    let { info } = await h.ctr.content.Update({ info: { digest, labels: { c: '3' } }, update_mask: null })
    expect(info!.labels).toEqual({ c: '3' })
    ;({ info } = await h.ctr.content.Update({ info: { digest, labels: { d: '4', e: '5' } }, update_mask: { paths: ['labels.d'] } }))
    expect(info!.labels).toEqual({ c: '3', d: '4' })
    ;({ info } = await h.ctr.content.Update({ info: { digest, labels: {} }, update_mask: { paths: ['labels.c'] } }))
    expect(info!.labels).toEqual({ d: '4' })
    ;({ info } = await h.ctr.content.Update({ info: { digest, labels: { x: 'y' } }, update_mask: { paths: ['labels'] } }))
    expect(info!.labels).toEqual({ x: 'y' })
    expect((await h.ctr.content.Info({ digest })).info!.labels).toEqual({ x: 'y' })
    expect(BigInt(info!.updated_at!.seconds) * 1_000_000_000n + BigInt(info!.updated_at!.nanos)).toBeGreaterThan(
      BigInt(info!.created_at!.seconds) * 1_000_000_000n + BigInt(info!.created_at!.nanos),
    )
  })

  test('other fields cannot be updated; unknown and malformed digests are refused', async () => {
    const digest = await upload(h.ctr, 'fixed', { options: leased })
    const field = await grpcError(h.ctr.content.Update({ info: { digest, size: 1 }, update_mask: { paths: ['size'] } }))
    expect([field.code, field.details]).toEqual([
      Code.INVALID_ARGUMENT,
      `cannot update "size" field on content info "${digest}": invalid argument`,
    ])
    const missing = sha256('missing')
    const nf = await grpcError(h.ctr.content.Update({ info: { digest: missing, labels: {} }, update_mask: null }))
    expect([nf.code, nf.details]).toEqual([Code.NOT_FOUND, `content digest ${missing}: not found`])
    const bad = await grpcError(h.ctr.content.Update({ info: { digest: 'x' }, update_mask: null }))
    expect([bad.code, bad.details]).toEqual([Code.INVALID_ARGUMENT, '"x" failed validation'])
    const big = await grpcError(h.ctr.content.Update({ info: { digest, labels: { k: 'v'.repeat(5000) } }, update_mask: null }))
    expect([big.code, big.details]).toEqual([
      Code.INVALID_ARGUMENT,
      'info.Labels: label key and value length (5001 bytes) greater than maximum size (4096 bytes), key: k: invalid argument',
    ])
  })
})

describe('Read', () => {
  test('offset and size select a range; offsets in the responses count from the start of the read', async () => {
    const digest = await upload(h.ctr, '0123456789')
    expect((await readAll(h.ctr, digest)).toString()).toBe('0123456789')
    expect((await readAll(h.ctr, digest, 3)).toString()).toBe('3456789')
    expect((await readAll(h.ctr, digest, 3, 4)).toString()).toBe('3456')
    expect((await readAll(h.ctr, digest, 8, 100)).toString()).toBe('89')
    expect((await readAll(h.ctr, digest, -5, 2)).toString()).toBe('01')
    expect(await collect(h.ctr.content.Read({ digest, offset: 10, size: 0 }))).toEqual([])
    const messages = await collect(h.ctr.content.Read({ digest, offset: 4, size: 0 }))
    expect(messages.map((m) => m.offset)).toEqual(['0'])
  })

  test('reading past the end, an unknown or a malformed digest fail like containerd', async () => {
    const digest = await upload(h.ctr, 'short')
    const past = await grpcError(collect(h.ctr.content.Read({ digest, offset: 6, size: 0 })))
    expect([past.code, past.details]).toEqual([OUT_OF_RANGE_CODE, 'read past object length 5 bytes'])
    const missing = sha256('missing')
    const nf = await grpcError(collect(h.ctr.content.Read({ digest: missing, offset: 0, size: 0 })))
    expect([nf.code, nf.details]).toEqual([Code.NOT_FOUND, `content digest ${missing}: not found`])
    const bad = await grpcError(collect(h.ctr.content.Read({ digest: 'md5:x', offset: 0, size: 0 })))
    expect([bad.code, bad.details]).toEqual([Code.INVALID_ARGUMENT, 'md5:x: unsupported digest algorithm'])
  })

  test('a 5 MB blob written in 1 MiB chunks reads back whole, in 1 MiB messages', async () => {
    const big = Buffer.alloc(5 * 1000 * 1000)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251
    const digest = sha256(big)
    const chunk = 1 << 20
    const requests = [{ action: 'STAT' as const, ref: 'big', total: big.length, expected: digest }]
    for (let off = 0; off < big.length; off += chunk)
      requests.push({ action: 'WRITE', offset: off, data: big.subarray(off, off + chunk) } as never)
    requests.push({ action: 'COMMIT', offset: big.length, total: big.length, expected: digest } as never)
    const { responses, error } = await writeSession(h.ctr, requests)
    expect(error).toBeUndefined()
    expect(responses.at(-1)).toMatchObject({ action: 'COMMIT', offset: String(big.length), digest })
    const messages = await collect(h.ctr.content.Read({ digest, offset: 0, size: 0 }))
    expect(messages.map((m) => m.data.length)).toEqual([chunk, chunk, chunk, chunk, big.length - 4 * chunk])
    expect(messages.map((m) => Number(m.offset))).toEqual([0, 1, 2, 3, 4].map((i) => i * chunk))
    expect(Buffer.concat(messages.map((m) => m.data)).equals(big)).toBe(true)
    expect((await h.ctr.content.Info({ digest })).info!.size).toBe(String(big.length))
  })
})

describe('Write', () => {
  test('STAT, WRITE, COMMIT: one answer per request, then the last one again as the session ends', async () => {
    const data = Buffer.from('some content')
    const digest = sha256(data)
    const { responses, error } = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'r1', total: data.length, expected: digest },
      { action: 'WRITE', offset: 0, data: data.subarray(0, 4) },
      { action: 'WRITE', offset: 4, data: data.subarray(4) },
      { action: 'COMMIT', offset: data.length, total: data.length, expected: digest, labels: { l: 'v' } },
    ])
    expect(error).toBeUndefined()
    expect(responses.map((r) => [r.action, r.offset])).toEqual([
      ['STAT', '0'],
      ['WRITE', '4'],
      ['WRITE', String(data.length)],
      ['COMMIT', String(data.length)],
      ['COMMIT', String(data.length)],
    ])
    const [stat, , second, commit] = responses
    expect(stat).toMatchObject({ total: String(data.length), digest: sha256('') })
    expect(stat!.started_at).not.toBeNull()
    expect(second!.digest).toBe(digest)
    // The STAT's fields stay in the session's later answers, as in containerd.
    expect(commit).toMatchObject({ digest, total: String(data.length), started_at: stat!.started_at })
    expect((await h.ctr.content.Info({ digest })).info).toMatchObject({ size: String(data.length), labels: { l: 'v' } })
    expect((await grpcError(h.ctr.content.Status({ ref: 'r1' }))).code).toBe(Code.NOT_FOUND)
  })

  test('the first message must name a ref; an empty session is an EOF error', async () => {
    const { error } = await writeSession(h.ctr, [{ action: 'STAT', ref: '' }])
    expect([error?.code, error?.details]).toEqual([Code.INVALID_ARGUMENT, 'first message must have a reference'])
    const empty = await writeSession(h.ctr, [])
    expect([empty.error?.code, empty.error?.details]).toEqual([Code.UNKNOWN, 'EOF'])
  })

  test('a write can be resumed: Status shows the offset, the next session continues there', async () => {
    const data = Buffer.from('abcdefghij')
    const digest = sha256(data)
    const first = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'resume', total: data.length, expected: digest },
      { action: 'WRITE', offset: 0, data: data.subarray(0, 5) },
    ])
    expect(first.error).toBeUndefined()
    const { status } = await h.ctr.content.Status({ ref: 'resume' })
    expect(status).toMatchObject({ ref: 'resume', offset: '5', total: String(data.length), expected: '' })
    expect(status!.started_at).not.toBeNull()
    const { statuses } = await h.ctr.content.ListStatuses({ filters: [] })
    expect(statuses.map((s) => [s.ref, s.offset])).toEqual([['resume', '5']])
    const second = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'resume', total: data.length, expected: digest },
      { action: 'WRITE', offset: 5, data: data.subarray(5) },
      { action: 'COMMIT', offset: data.length, total: data.length, expected: digest },
    ])
    expect(second.error).toBeUndefined()
    expect(second.responses[0]).toMatchObject({ action: 'STAT', offset: '5', digest: sha256(data.subarray(0, 5)) })
    expect((await readAll(h.ctr, digest)).toString()).toBe('abcdefghij')
    expect((await h.ctr.content.ListStatuses({ filters: [] })).statuses).toEqual([])
  })

  test('a write at another offset than the current one is refused; offset 0 with data starts over', async () => {
    await writeSession(h.ctr, [
      { action: 'STAT', ref: 'off' },
      { action: 'WRITE', offset: 0, data: Buffer.from('abc') },
    ])
    const wrong = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'off' },
      { action: 'WRITE', offset: 7, data: Buffer.from('x') },
    ])
    expect([wrong.error?.code, wrong.error?.details]).toEqual([OUT_OF_RANGE_CODE, 'write @7 must occur at current offset 3'])
    const restart = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'off' },
      { action: 'WRITE', offset: 0, data: Buffer.from('xyz!') },
    ])
    expect(restart.responses[1]).toMatchObject({ offset: '4', digest: sha256('xyz!') })
    expect((await h.ctr.content.Status({ ref: 'off' })).status!.offset).toBe('4')
  })

  test('commit checks size and digest; a failed commit leaves the ingest to retry', async () => {
    const size = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'bad' },
      { action: 'WRITE', offset: 0, data: Buffer.from('abc') },
      { action: 'COMMIT', offset: 3, total: 5 },
    ])
    expect([size.error?.code, size.error?.details]).toEqual([
      Code.FAILED_PRECONDITION,
      '"bad" failed size validation: 3 != 5: failed precondition',
    ])
    const wrong = sha256('something else')
    const digest = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'bad' },
      { action: 'COMMIT', offset: 3, expected: wrong },
    ])
    expect([digest.error?.code, digest.error?.details]).toEqual([
      Code.FAILED_PRECONDITION,
      `unexpected commit digest ${sha256('abc')}, expected ${wrong}: failed precondition`,
    ])
    expect((await h.ctr.content.Status({ ref: 'bad' })).status!.offset).toBe('3')
    const ok = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'bad' },
      { action: 'COMMIT', offset: 3, total: 3, expected: sha256('abc') },
    ])
    expect(ok.error).toBeUndefined()
    expect((await readAll(h.ctr, sha256('abc'))).toString()).toBe('abc')
  })

  test('content that already exists: AlreadyExists when opened, named later, or committed', async () => {
    const digest = await upload(h.ctr, 'dup')
    const open = await writeSession(h.ctr, [{ action: 'STAT', ref: 'dup2', total: 3, expected: digest }])
    expect([open.error?.code, open.error?.details]).toEqual([Code.ALREADY_EXISTS, `content ${digest}: already exists`])
    expect((await grpcError(h.ctr.content.Status({ ref: 'dup2' }))).code).toBe(Code.NOT_FOUND)
    const later = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'dup3' },
      { action: 'WRITE', offset: 0, data: Buffer.from('du') },
      { action: 'WRITE', offset: 2, data: Buffer.from('p'), expected: digest },
    ])
    expect([later.error?.code, later.error?.details]).toEqual([Code.ALREADY_EXISTS, `blob with expected digest ${digest} exists`])
    expect((await grpcError(h.ctr.content.Status({ ref: 'dup3' }))).code).toBe(Code.NOT_FOUND)
    const commit = await writeSession(h.ctr, [
      { action: 'STAT', ref: 'dup4' },
      { action: 'WRITE', offset: 0, data: Buffer.from('dup') },
      { action: 'COMMIT', offset: 3 },
    ])
    expect([commit.error?.code, commit.error?.details]).toEqual([Code.ALREADY_EXISTS, `content ${digest}: already exists`])
    expect((await grpcError(h.ctr.content.Status({ ref: 'dup4' }))).code).toBe(Code.NOT_FOUND)
  })

  test('a blob another namespace has is shared: the ingest starts complete and commits without bytes', async () => {
    const digest = await upload(h.ctr, 'shared bytes')
    const other = h.ns('other')
    const { responses, error } = await writeSession(other, [
      { action: 'STAT', ref: 'share', total: 12, expected: digest },
      { action: 'COMMIT', offset: 12, total: 12, expected: digest },
    ])
    expect(error).toBeUndefined()
    expect(responses[0]).toMatchObject({ offset: '12', digest })
    expect((await readAll(other, digest)).toString()).toBe('shared bytes')
  })

  test('one writer per ref: a second session on a busy ref is Unavailable', async () => {
    const call = h.ctr.content.Write()
    const incoming = call[Symbol.asyncIterator]()
    call.write({ action: 'STAT', ref: 'busy' })
    await incoming.next()
    const { error } = await writeSession(h.ctr, [{ action: 'STAT', ref: 'busy' }])
    expect(error?.code).toBe(Code.UNAVAILABLE)
    expect(error?.details).toMatch(/^ref busy locked for \d+ms \(since .*\): unavailable$/)
    call.end()
    for (let n = await incoming.next(); !n.done; n = await incoming.next());
    expect((await writeSession(h.ctr, [{ action: 'STAT', ref: 'busy' }])).error).toBeUndefined()
  })

  test('a client that cancels its session gives the ref back', async () => {
    const call = h.ctr.content.Write()
    call.on('error', () => {})
    const incoming = call[Symbol.asyncIterator]()
    call.write({ action: 'STAT', ref: 'cancelled' })
    await incoming.next()
    call.cancel()
    await eventually(async () => ((await writeSession(h.ctr, [{ action: 'STAT', ref: 'cancelled' }])).error ? undefined : true), 'the ref')
  })
})

describe('Status, ListStatuses, Abort', () => {
  test('ListStatuses filters on ref; Abort ends an ingest; unknown refs are NotFound', async () => {
    for (const ref of ['pull-a', 'pull-b', 'push-c']) {
      await writeSession(h.ctr, [
        { action: 'STAT', ref },
        { action: 'WRITE', offset: 0, data: Buffer.from(ref) },
      ])
    }
    const refs = async (filters: string[]) => (await h.ctr.content.ListStatuses({ filters })).statuses.map((s) => s.ref)
    expect(await refs([])).toEqual(['pull-a', 'pull-b', 'push-c'])
    expect(await refs(['ref~=^pull-'])).toEqual(['pull-a', 'pull-b'])
    expect(await refs(['ref==push-c'])).toEqual(['push-c'])
    expect(await h.ns('other').content.ListStatuses({ filters: [] })).toEqual({ statuses: [] })
    await h.ctr.content.Abort({ ref: 'pull-a' })
    expect(await refs([])).toEqual(['pull-b', 'push-c'])
    const abort = await grpcError(h.ctr.content.Abort({ ref: 'pull-a' }))
    expect([abort.code, abort.details]).toEqual([Code.NOT_FOUND, 'reference pull-a: not found'])
    const status = await grpcError(h.ctr.content.Status({ ref: 'pull-a' }))
    expect([status.code, status.details]).toEqual([Code.NOT_FOUND, 'could not get status for ref "pull-a": reference pull-a: not found'])
  })
})

// The journal keeps a bounded summary of each call, and no more calls than fit in its byte budget.
import { describe, expect, test } from 'vitest'
import type { ServiceDefinition } from '@grpc/grpc-js'
import { Journal, LIST_KEPT, SUMMARY_BYTES, SUMMARY_ITEMS, SUMMARY_STRING, Wire, listFields, summarize } from '../../src/journal/journal.js'
import { servicePackage } from '../../src/proto/load.js'
import { serviceConstructor } from '../../src/service-descriptors.cjs'

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

describe('a large message kept as its summary', () => {
  const runtime = serviceConstructor(servicePackage('cri'), 'runtime.v1.RuntimeService').service as ServiceDefinition
  /** A response as the adapter gives it to the journal: its bytes, its method's decoder and lists. */
  const wire = (method: string, response: object): { bytes: Buffer; message: Wire } => {
    const def = runtime[method]!
    const bytes = def.responseSerialize(response)
    const lists = listFields((def as { responseType?: { type?: unknown } }).responseType?.type)
    return { bytes, message: new Wire(bytes, (b) => def.responseDeserialize(Buffer.from(b)), lists) }
  }
  const recorded = (message: Wire, most = Infinity): unknown => {
    const journal = new Journal()
    journal.begin('runtime.v1.RuntimeService', 'ListContainers', '', {})({ ...ok, response: message })
    expect(journal.bytes).toBeLessThan(most)
    const [entry] = journal.entries()
    // Read twice: an entry holding bytes is decoded anew on each read, to the same summary.
    expect(entry!.response).toEqual(entry!.response)
    return entry!.response
  }
  const container = (i: number) => ({
    id: `${i}`.padStart(64, 'c'),
    pod_sandbox_id: `${i % 7}`.padStart(64, 'p'),
    metadata: { name: `c-${i}`, attempt: i % 3 },
    image: { image: 'docker.io/library/busybox:latest', annotations: { i: String(i) } },
    state: i % 2 ? 'CONTAINER_RUNNING' : 'CONTAINER_EXITED',
    created_at: String(1_700_000_000_000_000_000 + i),
    labels: Object.fromEntries(Array.from({ length: 3 + (i % 5) }, (_, k) => [`l${k}`, `v${i}`])),
    annotations: {},
    image_ref: `sha256:${'a'.repeat(64)}`,
    image_id: `sha256:${'a'.repeat(64)}`,
  })

  test('a long list reads as the summary of the whole message: its first items and how many more', () => {
    for (const n of [SUMMARY_ITEMS - 1, SUMMARY_ITEMS, SUMMARY_ITEMS + 1, 2_500]) {
      const { bytes, message } = wire('ListContainers', { containers: Array.from({ length: n }, (_, i) => container(i)) })
      expect(bytes.length).toBeGreaterThan(8 * 1024)
      const whole = summarize(message.decode(bytes)).value
      // What the entry holds is bounded by the items a summary shows, not by the list's length.
      expect(recorded(message, LIST_KEPT + 1024)).toEqual(whole)
      const listed = (recorded(message) as { containers: unknown[] }).containers
      expect(listed).toHaveLength(Math.min(n, SUMMARY_ITEMS + 1))
      if (n > SUMMARY_ITEMS) expect(listed.at(-1)).toBe(`…[${n - SUMMARY_ITEMS} more]`)
    }
  })

  test('lists nested in items, maps and other fields read as they would whole', () => {
    // PodSandboxStatus: a map (info) and a list (containers_statuses) at the top, lists inside each status.
    const status = (i: number) => ({
      id: `${i}`.padStart(64, 's'),
      mounts: Array.from({ length: 120 }, (_, k) => ({ container_path: `/m/${k}` })),
    })
    const response = {
      status: { id: 'p'.repeat(64), labels: Object.fromEntries(Array.from({ length: 150 }, (_, k) => [`k${k}`, 'v'])) },
      info: Object.fromEntries(Array.from({ length: 130 }, (_, k) => [`info${k}`, 'x'.repeat(2000)])),
      containers_statuses: Array.from({ length: 140 }, (_, i) => status(i)),
      timestamp: '42',
    }
    const { bytes, message } = wire('PodSandboxStatus', response)
    expect(recorded(message)).toEqual(summarize(message.decode(bytes)).value)
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

  test('the kept calls stay the newest ones, in order, as the ring wraps and the budget trims', () => {
    const journal = new Journal(50, 20 * 1024)
    for (let i = 0; i < 500; i++) {
      // Calls of every size: some trims drop many, some none, and the ring wraps ten times.
      journal.begin('runtime.v1.RuntimeService', 'Version', '', { i, pad: 'p'.repeat((i * 37) % 1000) })(ok)
      const kept = journal.entries().map((e) => (e.request as { i: number }).i)
      expect(kept.at(-1)).toBe(i)
      expect(kept).toEqual(Array.from({ length: kept.length }, (_, k) => i - kept.length + 1 + k))
      expect(kept.length).toBeLessThanOrEqual(50)
      expect(journal.bytes).toBeLessThanOrEqual(20 * 1024)
    }
    // A budget only one call fits: the newest stays, even though it holds more.
    const tight = new Journal(10, 100)
    for (let i = 0; i < 5; i++) tight.begin('runtime.v1.RuntimeService', 'Version', '', { i })(ok)
    expect(tight.entries().map((e) => (e.request as { i: number }).i)).toEqual([4])
  })
})

describe('journal queries', () => {
  const journal = new Journal()
  journal.begin('runtime.v1.RuntimeService', 'RunPodSandbox', '', {})(ok)
  journal.begin('runtime.v1.ImageService', 'ListImages', '', {})(ok)
  journal.begin('containerd.services.images.v1.Images', 'List', 'k8s.io', {})(ok)

  test('service and method are names of served RPCs as a fault rule takes them: globs, full or short service names', () => {
    expect(journal.methods({ method: 'List*' })).toEqual(['ListImages', 'List'])
    expect(journal.methods({ service: 'ImageService' })).toEqual(['ListImages'])
    expect(journal.methods({ service: 'runtime.v1.*' })).toEqual(['RunPodSandbox', 'ListImages'])
    expect(journal.methods({ service: 'Images', method: 'List' })).toEqual(['List'])
    expect(journal.entries({ method: 'RunPodSandbox' })).toHaveLength(1)
  })

  test('a name no served RPC has is refused with the closest names, as a fault rule is', () => {
    expect(() => journal.entries({ method: 'RunPodSandbx' })).toThrow(
      'journal query: method: no RPC is named "RunPodSandbx"; did you mean RunPodSandbox?',
    )
    expect(() => journal.methods({ service: 'ImageServise' })).toThrow(
      'journal query: service: no service is named "ImageServise"; did you mean ImageService?',
    )
    expect(() => journal.methods({ service: 'Images', method: 'ListImages' })).toThrow(
      'journal query: method: Images has no RPC named "ListImages"; it is an RPC of runtime.v1.ImageService',
    )
    // The control service's own RPCs are never journaled, so a query for one is refused too.
    expect(() => journal.methods({ method: 'GetJournal' })).toThrow('no RPC is named "GetJournal"')
  })
})

describe('settled: a mark to poll from', () => {
  test('is below every call still open, so that polling with since=settled misses no slow call', () => {
    const journal = new Journal()
    journal.begin('runtime.v1.RuntimeService', 'Version', '', {})(ok)
    expect([journal.last, journal.settled]).toEqual([1, 1])
    const slow = journal.begin('runtime.v1.RuntimeService', 'Status', '', {})
    const fast = journal.begin('runtime.v1.RuntimeService', 'ListPodSandbox', '', {})
    fast(ok)
    expect([journal.last, journal.settled]).toEqual([3, 1])
    const mark = journal.settled
    slow(ok)
    expect(journal.entries({ since: mark }).map((e) => e.method)).toEqual(['Status', 'ListPodSandbox'])
    expect(journal.settled).toBe(3)
  })
})

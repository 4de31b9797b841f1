// Garbage collection as containerd's metadata store does it: what a lease, an image, a container
// or a gc.root label holds stays, with everything it references; the rest goes when the
// collector runs (after a lease, content, snapshot, image or container is deleted) — not before.
import { status as Code } from '@grpc/grpc-js'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { collect, criClients } from '../../src/client.js'
import { ctrHarness, payloads, readAll, sha256, upload, writeSession, type CtrHarness } from '../containerd.js'
import { grpcError } from '../helpers.js'

let h: CtrHarness
beforeEach(async () => {
  h = await ctrHarness()
})
afterEach(() => h.close())

const ss = 'overlayfs'
const lease = (id: string) => ({ metadata: { 'containerd-lease': id } })
const exists = async (digest: string, ctr = h.ctr) => {
  try {
    await ctr.content.Info({ digest })
    return true
  } catch (err) {
    if ((err as { code?: number }).code === Code.NOT_FOUND) return false
    throw err
  }
}
const snapshotExists = async (key: string) => {
  try {
    await h.ctr.snapshots.Stat({ snapshotter: ss, key })
    return true
  } catch {
    return false
  }
}
/** Makes the collector run without touching anything the test looks at. */
async function runGc(): Promise<void> {
  await h.ctr.leases.Create({ id: 'trigger', labels: {} })
  await h.ctr.leases.Delete({ id: 'trigger', sync: true })
}

/**
 * An image as ctr import leaves it: a committed snapshot for its layer, a config that references
 * it, a manifest that references config and layer, all written under a lease.
 */
async function importImage(leaseId: string) {
  const o = lease(leaseId)
  const layer = await upload(h.ctr, 'layer bytes', { options: o })
  await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'extract', parent: '', labels: {} }, o)
  await h.ctr.snapshots.Commit({ snapshotter: ss, name: 'chain-1', key: 'extract', labels: {} }, o)
  await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'extract-2', parent: 'chain-1', labels: {} }, o)
  await h.ctr.snapshots.Commit({ snapshotter: ss, name: 'chain-2', key: 'extract-2', labels: {} }, o)
  const config = await upload(h.ctr, '{"config":{}}', { options: o, labels: { 'containerd.io/gc.ref.snapshot.overlayfs': 'chain-2' } })
  const manifestBytes = `{"config":"${config}","layers":["${layer}"]}`
  const manifest = await upload(h.ctr, manifestBytes, {
    options: o,
    labels: { 'containerd.io/gc.ref.content.config': config, 'containerd.io/gc.ref.content.l.0': layer },
  })
  return { layer, config, manifest, manifestSize: manifestBytes.length }
}

describe('leases', () => {
  test('content held only by a lease survives collections until the lease is deleted', async () => {
    await h.ctr.leases.Create({ id: 'hold', labels: {} })
    const digest = await upload(h.ctr, 'leased', { options: lease('hold') })
    await runGc()
    expect(await exists(digest)).toBe(true)
    await h.ctr.leases.Delete({ id: 'hold', sync: true })
    expect(await exists(digest)).toBe(false)
    expect(h.fake.node.content.blobs.has(digest)).toBe(false)
  })

  test('content nothing references stays until the collector runs, then it is gone', async () => {
    const digest = await upload(h.ctr, 'orphan')
    // Reads, lists and other writes do not collect.
    expect((await readAll(h.ctr, digest)).toString()).toBe('orphan')
    await upload(h.ctr, 'another orphan')
    await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'k', parent: '', labels: {} })
    expect(await exists(digest)).toBe(true)
    await runGc()
    expect(await exists(digest)).toBe(false)
    expect(await snapshotExists('k')).toBe(false)
  })

  test('node.gc() reports what it removed', async () => {
    const digest = await upload(h.ctr, 'orphan')
    await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'k', parent: '', labels: {} })
    const result = h.fake.node.gc()
    expect(result).toEqual({
      content: [{ namespace: 'default', digest }],
      snapshots: [{ namespace: 'default', snapshotter: ss, key: 'k' }],
      ingests: [],
      leases: [],
    })
    expect(h.fake.node.gc()).toEqual({ content: [], snapshots: [], ingests: [], leases: [] })
  })

  test('a flat lease holds its objects but not what they reference', async () => {
    await h.ctr.leases.Create({ id: 'deep', labels: {} })
    const { manifest, config, layer } = await importImage('deep')
    await h.ctr.leases.Create({ id: 'flat', labels: { 'containerd.io/gc.flat': 'true' } })
    await h.ctr.leases.AddResource({ id: 'flat', resource: { id: manifest, type: 'content' } })
    await h.ctr.leases.Delete({ id: 'deep', sync: true })
    expect(await exists(manifest)).toBe(true)
    expect(await exists(config)).toBe(false)
    expect(await exists(layer)).toBe(false)
    expect(await snapshotExists('chain-2')).toBe(false)
  })

  test('an expired lease is removed by the collector, with what it alone held', async () => {
    await h.ctr.leases.Create({ id: 'old', labels: { 'containerd.io/gc.expire': '2000-01-01T00:00:00Z' } })
    await h.ctr.leases.Create({ id: 'new', labels: { 'containerd.io/gc.expire': '2999-01-01T00:00:00Z' } })
    const old = await upload(h.ctr, 'old', { options: lease('old') })
    const fresh = await upload(h.ctr, 'new', { options: lease('new') })
    await runGc()
    expect((await h.ctr.leases.List({ filters: [] })).leases.map((l) => l.id)).toEqual(['new'])
    expect(await exists(old)).toBe(false)
    expect(await exists(fresh)).toBe(true)
  })

  test('a start collects once, after the startup delay, with no call made: an expired lease left in the state goes with what it held', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-gc-start-'))
    try {
      const file = join(dir, 'state.json')
      const first = await ctrHarness({ state: file })
      // Creating a lease and writing under it run no collection: both are in the state file at close.
      await first.ctr.leases.Create({ id: 'old', labels: { 'containerd.io/gc.expire': '2000-01-01T00:00:00Z' } })
      const old = await upload(first.ctr, 'old', { options: lease('old') })
      await first.close()
      // close folds the log into the state file, which then holds the lease and the blob.
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { content: Record<string, Record<string, unknown>> }
      expect(Object.keys(saved.content.default ?? {})).toContain(old)
      const second = await ctrHarness({ state: file })
      try {
        await vi.waitFor(() => expect(second.fake.node.state.content.default?.[old]).toBeUndefined(), { timeout: 2000, interval: 20 })
        expect(Object.keys(second.fake.node.state.leases.default ?? {})).toEqual([])
      } finally {
        await second.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('references', () => {
  test('an image holds its manifest, the manifest its config and layers, the config its snapshot chain', async () => {
    await h.ctr.leases.Create({ id: 'import', labels: {} })
    const { manifest, config, layer, manifestSize } = await importImage('import')
    await h.ctr.images.Create({
      image: {
        name: 'docker.io/library/test:1',
        labels: {},
        target: { media_type: 'application/vnd.oci.image.manifest.v1+json', digest: manifest, size: manifestSize, annotations: {} },
      },
    })
    await h.ctr.leases.Delete({ id: 'import', sync: true })
    for (const d of [manifest, config, layer]) expect(await exists(d)).toBe(true)
    expect(await snapshotExists('chain-2')).toBe(true)
    expect(await snapshotExists('chain-1')).toBe(true)

    await h.ctr.images.Delete({ name: 'docker.io/library/test:1', sync: true, target: null })
    h.fake.node.gc()
    for (const d of [manifest, config, layer]) expect(await exists(d)).toBe(false)
    expect(await snapshotExists('chain-2')).toBe(false)
    expect(await snapshotExists('chain-1')).toBe(false)
    expect(payloads(h.events, '/snapshot/remove').map((p) => p.key)).toEqual(expect.arrayContaining(['chain-1', 'chain-2']))
  })

  test('dropping a reference label lets the referenced blob go', async () => {
    const child = await upload(h.ctr, 'child')
    const parent = await upload(h.ctr, 'parent', {
      labels: { 'containerd.io/gc.root': 'yes', 'containerd.io/gc.ref.content.child': child },
    })
    await runGc()
    expect(await exists(child)).toBe(true)
    await h.ctr.content.Update({
      info: { digest: parent, labels: {} },
      update_mask: { paths: ['labels.containerd.io/gc.ref.content.child'] },
    })
    expect(await exists(child)).toBe(false)
    expect(await exists(parent)).toBe(true)
  })

  test('reference labels must be named with "." or "/"; snapshot references name their snapshotter', async () => {
    const kept = await upload(h.ctr, 'kept')
    const notRef = await upload(h.ctr, 'not a reference')
    await h.ctr.snapshots.Prepare({ snapshotter: 'native', key: 'n', parent: '', labels: {} })
    await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'n', parent: '', labels: {} })
    await upload(h.ctr, 'root', {
      labels: {
        'containerd.io/gc.root': 'yes',
        'containerd.io/gc.ref.content/kept': kept,
        'containerd.io/gc.ref.contentX': notRef,
        'containerd.io/gc.ref.snapshot.native/a': 'n',
      },
    })
    await runGc()
    expect(await exists(kept)).toBe(true)
    expect(await exists(notRef)).toBe(false)
    expect((await h.ctr.snapshots.Stat({ snapshotter: 'native', key: 'n' })).info!.name).toBe('n')
    expect(await snapshotExists('n')).toBe(false)
  })

  test('gc.root labels keep content and snapshots; a snapshot keeps its parents', async () => {
    const root = await upload(h.ctr, 'root', { labels: { 'containerd.io/gc.root': '2024-01-01T00:00:00Z' } })
    await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'p', parent: '', labels: {} })
    await h.ctr.snapshots.Commit({ snapshotter: ss, name: 'parent', key: 'p', labels: {} })
    await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'top', parent: 'parent', labels: { 'containerd.io/gc.root': 'x' } })
    await runGc()
    expect(await exists(root)).toBe(true)
    expect(await snapshotExists('top')).toBe(true)
    expect(await snapshotExists('parent')).toBe(true)
    await h.ctr.snapshots.Update({ snapshotter: ss, info: { name: 'top', labels: {} }, update_mask: { paths: ['labels'] } })
    await runGc()
    expect(await snapshotExists('top')).toBe(false)
    expect(await snapshotExists('parent')).toBe(false)
  })

  test('a back reference attaches a blob to another object', async () => {
    await h.ctr.leases.Create({ id: 'keep', labels: {} })
    const parent = await upload(h.ctr, 'parent', { options: lease('keep') })
    const child = await upload(h.ctr, 'child', { labels: { 'containerd.io/gc.bref.content.parent': parent } })
    await runGc()
    expect(await exists(child)).toBe(true)
    await h.ctr.leases.Delete({ id: 'keep', sync: true })
    expect(await exists(child)).toBe(false)
  })

  test('a container holds its snapshot', async () => {
    await h.ctr.snapshots.Prepare({ snapshotter: ss, key: 'rootfs', parent: '', labels: {} })
    await h.ctr.containers.Create({
      container: {
        id: 'c1',
        image: '',
        labels: {},
        runtime: { name: 'io.containerd.runc.v2' },
        spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from('{}') },
        snapshotter: ss,
        snapshot_key: 'rootfs',
      },
    })
    await runGc()
    expect(await snapshotExists('rootfs')).toBe(true)
    await h.ctr.containers.Delete({ id: 'c1' })
    h.fake.node.gc()
    expect(await snapshotExists('rootfs')).toBe(false)
  })
})

describe('collections after bursts of removals', () => {
  const container = (id: string, key: string) => ({
    container: {
      id,
      image: '',
      labels: {},
      runtime: { name: 'io.containerd.runc.v2' },
      spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from('{}') },
      snapshotter: ss,
      snapshot_key: key,
    },
  })

  test('what a deleted container held is gone for every read that follows, without waiting for the collector', async () => {
    for (const id of ['a', 'b', 'c']) {
      await h.ctr.snapshots.Prepare({ snapshotter: ss, key: `rootfs-${id}`, parent: '', labels: {} })
      await h.ctr.containers.Create(container(id, `rootfs-${id}`))
    }
    await h.ctr.containers.Delete({ id: 'a' })
    expect(await snapshotExists('rootfs-a')).toBe(false)
    await h.ctr.containers.Delete({ id: 'b' })
    const listed = (await collect(h.ctr.snapshots.List({ snapshotter: ss, filters: [] }))).flatMap((m) => m.info).map((i) => i.name)
    expect(listed).toEqual(['rootfs-c'])
    await h.ctr.containers.Delete({ id: 'c' })
    // The state a client takes is collected too.
    expect(Object.keys(h.fake.snapshot().snapshots[ss]?.default ?? {})).toEqual([])
  })

  test('a pod removed with its containers is collected once, after all of them', async () => {
    const cri = criClients(h.fake.address)
    try {
      await cri.image.PullImage({ image: { image: 'busybox' } })
      const config = { metadata: { name: 'burst', namespace: 'default', uid: 'burst', attempt: 0 } }
      const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config })
      const ids: string[] = []
      for (let i = 0; i < 4; i++) {
        const created = await cri.runtime.CreateContainer({
          pod_sandbox_id,
          sandbox_config: config,
          config: { metadata: { name: `c${i}`, attempt: 0 }, image: { image: 'busybox' }, command: ['true'] },
        })
        ids.push(created.container_id)
      }
      await cri.runtime.StopPodSandbox({ pod_sandbox_id })
      h.events.length = 0
      await cri.runtime.RemovePodSandbox({ pod_sandbox_id })
      const k8s = h.ns('k8s.io')
      const keys = (await collect(k8s.snapshots.List({ snapshotter: ss, filters: [] }))).flatMap((m) => m.info).map((i) => i.name)
      for (const id of ids) expect(keys).not.toContain(id)
      // Every record went before the collector ran: the containers' snapshots go after the last delete.
      const topics = h.events.map((e) => e.topic).filter((t) => t === '/containers/delete' || t === '/snapshot/remove')
      const lastDelete = topics.lastIndexOf('/containers/delete')
      expect(topics.slice(0, lastDelete + 1).every((t) => t === '/containers/delete')).toBe(true)
      // The containers' snapshots and the pod's own.
      expect(topics.slice(lastDelete + 1)).toEqual([...ids, pod_sandbox_id].map(() => '/snapshot/remove'))
    } finally {
      cri.close()
    }
  })
})

describe('blobs, ingests, CRI images', () => {
  test('the bytes stay while any namespace holds the blob', async () => {
    const other = h.ns('other')
    await h.ctr.leases.Create({ id: 'a', labels: {} })
    await other.leases.Create({ id: 'b', labels: {} })
    const digest = await upload(h.ctr, 'two namespaces', { options: lease('a') })
    await upload(other, 'two namespaces', { options: lease('b') })
    await h.ctr.leases.Delete({ id: 'a', sync: true })
    expect(await exists(digest)).toBe(false)
    expect((await readAll(other, digest)).toString()).toBe('two namespaces')
    await other.leases.Delete({ id: 'b', sync: true })
    expect(await exists(digest, other)).toBe(false)
    expect(h.fake.node.content.blobs.has(digest)).toBe(false)
  })

  test('an unleased ingest in progress survives; one held by a lease goes with the lease', async () => {
    await h.ctr.leases.Create({ id: 'pull', labels: {} })
    await writeSession(h.ctr, [
      { action: 'STAT', ref: 'free' },
      { action: 'WRITE', offset: 0, data: Buffer.from('abc') },
    ])
    await writeSession(
      h.ctr,
      [
        { action: 'STAT', ref: 'leased' },
        { action: 'WRITE', offset: 0, data: Buffer.from('abc') },
      ],
      lease('pull'),
    )
    await runGc()
    expect((await h.ctr.content.ListStatuses({ filters: [] })).statuses.map((s) => s.ref)).toEqual(['free', 'leased'])
    await h.ctr.leases.Delete({ id: 'pull', sync: true })
    expect((await h.ctr.content.ListStatuses({ filters: [] })).statuses.map((s) => s.ref)).toEqual(['free'])
  })

  test('images pulled through CRI survive collections, whether or not all their blobs are stored', async () => {
    const cri = criClients(h.fake.address)
    try {
      await cri.image.PullImage({ image: { image: 'busybox' } })
      const k8s = h.ns('k8s.io')
      const before = (await collect(k8s.content.List({ filters: [] }))).flatMap((m) => m.info)
      h.fake.node.gc()
      await runGc()
      const { images } = await cri.image.ListImages({ filter: null })
      expect(images.map((i) => i.repo_tags).flat()).toContain('docker.io/library/busybox:latest')
      const after = (await collect(k8s.content.List({ filters: [] }))).flatMap((m) => m.info)
      expect(after).toEqual(before)
      expect((await cri.image.ImageStatus({ image: { image: 'busybox' }, verbose: false })).image).not.toBeNull()
    } finally {
      cri.close()
    }
  })

  test('deleting content collects what only it referenced', async () => {
    const child = await upload(h.ctr, 'child')
    const parent = await upload(h.ctr, 'parent', {
      labels: { 'containerd.io/gc.root': 'yes', 'containerd.io/gc.ref.content': child },
    })
    await runGc()
    expect(await exists(child)).toBe(true)
    await h.ctr.content.Delete({ digest: parent })
    expect(await exists(child)).toBe(false)
    expect((await grpcError(h.ctr.content.Info({ digest: sha256('parent') }))).code).toBe(Code.NOT_FOUND)
  })
})

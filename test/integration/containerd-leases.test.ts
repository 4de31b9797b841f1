// containerd's Leases service over the socket, and the containerd-lease metadata that makes a
// call's content, ingests and snapshots part of a lease.
import { status as Code } from '@grpc/grpc-js'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { ctrHarness, sha256, upload, writeSession, type CtrHarness } from '../containerd.js'
import { grpcError } from '../helpers.js'

let h: CtrHarness
beforeEach(async () => {
  h = await ctrHarness()
})
afterEach(() => h.close())

const ids = async (filters: string[] = []) => (await h.ctr.leases.List({ filters })).leases.map((l) => l.id)
const resources = async (id: string) => (await h.ctr.leases.ListResources({ id })).resources

describe('Create, List, Delete', () => {
  test('a lease has its id, labels and creation time; ids are unique', async () => {
    const { lease } = await h.ctr.leases.Create({ id: 'build-1', labels: { purpose: 'test' } })
    expect(lease).toMatchObject({ id: 'build-1', labels: { purpose: 'test' } })
    expect(BigInt(lease!.created_at!.seconds)).toBeGreaterThan(0n)
    const dup = await grpcError(h.ctr.leases.Create({ id: 'build-1', labels: {} }))
    expect([dup.code, dup.details]).toEqual([Code.ALREADY_EXISTS, 'lease "build-1": already exists'])
    expect((await h.ctr.leases.List({ filters: [] })).leases).toEqual([lease])
  })

  test('without an id the lease gets a random one, as containerd makes them', async () => {
    const { lease } = await h.ctr.leases.Create({ id: '', labels: {} })
    expect(lease!.id).toMatch(/^\d+-[A-Za-z0-9_-]{4}$/)
    expect(await ids()).toEqual([lease!.id])
  })

  test('List filters on id and labels; leases are per namespace', async () => {
    await h.ctr.leases.Create({ id: 'a', labels: { team: 'x' } })
    await h.ctr.leases.Create({ id: 'b', labels: { team: 'y', extra: '1' } })
    await h.ctr.leases.Create({ id: 'c', labels: {} })
    expect(await ids()).toEqual(['a', 'b', 'c'])
    expect(await ids(['id==b'])).toEqual(['b'])
    expect(await ids(['labels.team==x'])).toEqual(['a'])
    expect(await ids(['labels.team'])).toEqual(['a', 'b'])
    expect(await ids(['labels.extra', 'id==c'])).toEqual(['b', 'c'])
    expect((await grpcError(h.ctr.leases.List({ filters: ['id=='] }))).code).toBe(Code.INVALID_ARGUMENT)
    expect((await h.ns('other').leases.List({ filters: [] })).leases).toEqual([])
  })

  test('Delete removes a lease; an unknown one is NotFound', async () => {
    await h.ctr.leases.Create({ id: 'gone', labels: {} })
    await h.ctr.leases.Delete({ id: 'gone', sync: true })
    expect(await ids()).toEqual([])
    const err = await grpcError(h.ctr.leases.Delete({ id: 'gone', sync: false }))
    expect([err.code, err.details]).toEqual([Code.NOT_FOUND, 'lease "gone": not found'])
  })
})

describe('resources', () => {
  test('AddResource, ListResources in containerd’s order, DeleteResource', async () => {
    await h.ctr.leases.Create({ id: 'l', labels: {} })
    const digest = sha256('x')
    const add = (id: string, type: string) => h.ctr.leases.AddResource({ id: 'l', resource: { id, type } })
    await add('snap-b', 'snapshots/overlayfs')
    await add('snap-a', 'snapshots/native')
    await add('ref-1', 'ingests')
    await add('docker.io/library/busybox:latest', 'images')
    await add(digest, 'content')
    await add(digest, 'content')
    expect(await resources('l')).toEqual([
      { id: digest, type: 'content' },
      { id: 'docker.io/library/busybox:latest', type: 'images' },
      { id: 'ref-1', type: 'ingests' },
      { id: 'snap-a', type: 'snapshots/native' },
      { id: 'snap-b', type: 'snapshots/overlayfs' },
    ])
    await h.ctr.leases.DeleteResource({ id: 'l', resource: { id: 'ref-1', type: 'ingests' } })
    await h.ctr.leases.DeleteResource({ id: 'l', resource: { id: 'never-added', type: 'ingests' } })
    expect((await resources('l')).map((r) => r.id)).toEqual([digest, 'docker.io/library/busybox:latest', 'snap-a', 'snap-b'])
  })

  test('resource types and ids are checked; an unknown lease is NotFound', async () => {
    await h.ctr.leases.Create({ id: 'l', labels: {} })
    const add = (id: string, type: string, lease = 'l') => grpcError(h.ctr.leases.AddResource({ id: lease, resource: { id, type } }))
    const cases: [string, string, number, string][] = [
      ['nope', 'content', Code.INVALID_ARGUMENT, 'invalid content resource id nope: invalid checksum digest format: invalid argument'],
      ['x', 'content/extra', Code.INVALID_ARGUMENT, 'invalid resource type content/extra: invalid argument'],
      ['x', 'snapshots', Code.INVALID_ARGUMENT, 'invalid snapshot resource type snapshots: invalid argument'],
      ['x', 'containers', Code.UNIMPLEMENTED, 'resource type containers not supported yet: not implemented'],
    ]
    for (const [id, type, code, details] of cases) {
      const err = await add(id, type)
      expect([err.code, err.details], type).toEqual([code, details])
    }
    const missing = await add(sha256('x'), 'content', 'nope')
    expect([missing.code, missing.details]).toEqual([Code.NOT_FOUND, 'lease "nope": not found'])
    const list = await grpcError(h.ctr.leases.ListResources({ id: 'nope' }))
    expect([list.code, list.details]).toEqual([Code.NOT_FOUND, 'lease "nope": not found'])
  })
})

describe('the containerd-lease metadata', () => {
  const lease = (id: string) => ({ metadata: { 'containerd-lease': id } })

  test('a write under a lease: the ingest while it lasts, then the blob', async () => {
    await h.ctr.leases.Create({ id: 'pull', labels: {} })
    await writeSession(
      h.ctr,
      [
        { action: 'STAT', ref: 'layer-1' },
        { action: 'WRITE', offset: 0, data: Buffer.from('par') },
      ],
      lease('pull'),
    )
    expect(await resources('pull')).toEqual([{ id: 'layer-1', type: 'ingests' }])
    await writeSession(
      h.ctr,
      [
        { action: 'STAT', ref: 'layer-1' },
        { action: 'WRITE', offset: 3, data: Buffer.from('tial') },
        { action: 'COMMIT', offset: 7 },
      ],
      lease('pull'),
    )
    expect(await resources('pull')).toEqual([{ id: sha256('partial'), type: 'content' }])
  })

  test('content that already exists joins the lease of a write that finds it', async () => {
    const digest = await upload(h.ctr, 'present')
    await h.ctr.leases.Create({ id: 'again', labels: {} })
    const { error } = await writeSession(h.ctr, [{ action: 'STAT', ref: 'r', expected: digest, total: 7 }], lease('again'))
    expect(error?.code).toBe(Code.ALREADY_EXISTS)
    expect(await resources('again')).toEqual([{ id: digest, type: 'content' }])
  })

  test('snapshots: Prepare adds the key, Commit moves the lease to the name, Remove drops it', async () => {
    await h.ctr.leases.Create({ id: 'unpack', labels: {} })
    const o = lease('unpack')
    await h.ctr.snapshots.Prepare({ snapshotter: 'overlayfs', key: 'extract', parent: '', labels: {} }, o)
    expect(await resources('unpack')).toEqual([{ id: 'extract', type: 'snapshots/overlayfs' }])
    await h.ctr.snapshots.Commit({ snapshotter: 'overlayfs', name: 'layer', key: 'extract', labels: {} }, o)
    expect(await resources('unpack')).toEqual([{ id: 'layer', type: 'snapshots/overlayfs' }])
    await h.ctr.snapshots.View({ snapshotter: 'native', key: 'v', parent: '', labels: {} }, o)
    await h.ctr.snapshots.Remove({ snapshotter: 'native', key: 'v' }, o)
    expect(await resources('unpack')).toEqual([{ id: 'layer', type: 'snapshots/overlayfs' }])
  })

  test('a lease that does not exist: the call is refused and creates nothing', async () => {
    const o = lease('missing')
    const write = await writeSession(h.ctr, [{ action: 'STAT', ref: 'r' }], o)
    expect([write.error?.code, write.error?.details]).toEqual([Code.NOT_FOUND, 'lease does not exist: not found'])
    expect((await h.ctr.content.ListStatuses({ filters: [] })).statuses).toEqual([])
    const snap = await grpcError(h.ctr.snapshots.Prepare({ snapshotter: 'overlayfs', key: 'k', parent: '', labels: {} }, o))
    expect([snap.code, snap.details]).toEqual([Code.NOT_FOUND, 'lease does not exist: not found'])
    expect((await grpcError(h.ctr.snapshots.Stat({ snapshotter: 'overlayfs', key: 'k' }))).code).toBe(Code.NOT_FOUND)
  })
})

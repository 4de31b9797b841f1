// Names that are also members of every JavaScript object ("constructor", "toString", "valueOf") are
// valid containerd identifiers: each is an ordinary name for a container, lease, snapshot, namespace.
import { status as Code } from '@grpc/grpc-js'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { collect } from '../../src/client.js'
import { ctrHarness, sha256, upload, type CtrHarness } from '../containerd.js'
import { grpcError } from '../helpers.js'

let h: CtrHarness
beforeEach(async () => {
  h = await ctrHarness()
})
afterEach(() => h.close())

const NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty']
const ss = 'overlayfs'

test('containers, leases and snapshots with these names are created, found and removed like any other', async () => {
  for (const name of NAMES) {
    expect((await grpcError(h.ctr.containers.Get({ id: name }))).code).toBe(Code.NOT_FOUND)
    await h.ctr.containers.Create({
      container: {
        id: name,
        image: '',
        labels: {},
        runtime: { name: 'io.containerd.runc.v2' },
        spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from('{}') },
      },
    })
    expect((await h.ctr.containers.Get({ id: name })).container!.id).toBe(name)

    expect((await grpcError(h.ctr.leases.Delete({ id: name, sync: false }))).code).toBe(Code.NOT_FOUND)
    expect((await h.ctr.leases.Create({ id: name, labels: {} })).lease!.id).toBe(name)

    expect((await grpcError(h.ctr.snapshots.Stat({ snapshotter: ss, key: name }))).code).toBe(Code.NOT_FOUND)
    await h.ctr.snapshots.Prepare({ snapshotter: ss, key: name, parent: '', labels: { 'containerd.io/gc.root': 'x' } })
    expect((await h.ctr.snapshots.Stat({ snapshotter: ss, key: name })).info!.name).toBe(name)
  }
  expect((await h.ctr.containers.List({ filters: [] })).containers.map((c) => c.id).sort()).toEqual([...NAMES].sort())
  expect((await h.ctr.leases.List({ filters: [] })).leases.map((l) => l.id).sort()).toEqual([...NAMES].sort())
  for (const name of NAMES) {
    await h.ctr.containers.Delete({ id: name })
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: name })
    await h.ctr.leases.Delete({ id: name, sync: true })
  }
  expect((await h.ctr.containers.List({ filters: [] })).containers).toEqual([])
  const left = (await collect(h.ctr.snapshots.List({ snapshotter: ss, filters: [] }))).flatMap((m) => m.info)
  expect(left).toEqual([])
})

test('a namespace with such a name holds its own content and labels, and is kept in the state', async () => {
  for (const name of NAMES) {
    const ns = h.ns(name)
    expect((await ns.namespaces.Get({ name })).namespace!.labels).toEqual({})
    const digest = await upload(ns, `blob of ${name}`, { labels: { 'containerd.io/gc.root': 'x' } })
    expect(digest).toBe(sha256(`blob of ${name}`))
    expect(Number((await ns.content.Info({ digest })).info!.size)).toBe(`blob of ${name}`.length)
    // Another namespace does not see it.
    expect((await grpcError(h.ctr.content.Info({ digest }))).code).toBe(Code.NOT_FOUND)
  }
  const state = h.fake.snapshot()
  for (const name of NAMES) expect(Object.keys(JSON.parse(JSON.stringify(state)).content[name] ?? {})).toEqual([sha256(`blob of ${name}`)])
})

// containerd's Snapshots service over the socket: parent chains, kinds, mounts, labels, filters.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { status as Code } from '@grpc/grpc-js'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { collect } from '../../src/client.js'
import { ctrHarness, payloads, type CtrHarness } from '../containerd.js'
import { grpcError } from '../helpers.js'

let h: CtrHarness
beforeEach(async () => {
  h = await ctrHarness()
  await h.ctr.leases.Create({ id: 'hold', labels: {} })
})
afterEach(() => h.close())

// Removing a snapshot runs the garbage collector; a lease keeps what these tests create.
const leased = { metadata: { 'containerd-lease': 'hold' } }
const ss = 'overlayfs'
const prepare = (key: string, parent = '', labels: Record<string, string> = {}, snapshotter = ss) =>
  h.ctr.snapshots.Prepare({ snapshotter, key, parent, labels }, leased)
const view = (key: string, parent: string) => h.ctr.snapshots.View({ snapshotter: ss, key, parent, labels: {} }, leased)
const commit = (name: string, key: string, labels: Record<string, string> = {}, parent = '') =>
  h.ctr.snapshots.Commit({ snapshotter: ss, name, key, labels, parent }, leased)
const stat = async (key: string, snapshotter = ss) => (await h.ctr.snapshots.Stat({ snapshotter, key })).info!
const list = async (filters: string[] = [], snapshotter = ss) =>
  (await collect(h.ctr.snapshots.List({ snapshotter, filters }))).flatMap((m) => m.info)

/** base ← mid (committed), with an active "work" on mid and a view on base. */
async function chain() {
  await prepare('base-active')
  await commit('base', 'base-active', { layer: '0' })
  await prepare('mid-active', 'base')
  await commit('mid', 'mid-active', { layer: '1' })
  await prepare('work', 'mid', { purpose: 'container' })
  await view('look', 'base')
}

describe('snapshotters', () => {
  test('overlayfs and native are served; another name or none is InvalidArgument', async () => {
    await prepare('a', '', {}, 'native')
    expect((await list([], 'native')).map((s) => s.name)).toEqual(['a'])
    expect(await list([], 'overlayfs')).toEqual([])
    const unknown = await grpcError(h.ctr.snapshots.Stat({ snapshotter: 'zfs', key: 'a' }))
    expect([unknown.code, unknown.details]).toEqual([Code.INVALID_ARGUMENT, 'snapshotter not loaded: zfs: invalid argument'])
    const none = await grpcError(collect(h.ctr.snapshots.List({ snapshotter: '', filters: [] })))
    expect([none.code, none.details]).toEqual([Code.INVALID_ARGUMENT, 'snapshotter argument missing: invalid argument'])
  })

  test('snapshots live in the namespace of the call', async () => {
    await prepare('mine')
    const other = h.ns('other')
    expect((await collect(other.snapshots.List({ snapshotter: ss, filters: [] }))).flatMap((m) => m.info)).toEqual([])
    expect((await grpcError(other.snapshots.Stat({ snapshotter: ss, key: 'mine' }))).code).toBe(Code.NOT_FOUND)
  })
})

describe('Prepare, View, Commit, Stat, List', () => {
  test('a chain of committed snapshots with an active and a view on top', async () => {
    await chain()
    expect(await stat('base')).toMatchObject({ name: 'base', parent: '', kind: 'COMMITTED', labels: { layer: '0' } })
    expect(await stat('mid')).toMatchObject({ name: 'mid', parent: 'base', kind: 'COMMITTED' })
    expect(await stat('work')).toMatchObject({ name: 'work', parent: 'mid', kind: 'ACTIVE', labels: { purpose: 'container' } })
    expect(await stat('look')).toMatchObject({ name: 'look', parent: 'base', kind: 'VIEW' })
    const work = await stat('work')
    expect(BigInt(work.created_at!.seconds)).toBeGreaterThan(0n)
    expect((await list()).map((s) => s.name)).toEqual(['base', 'look', 'mid', 'work'])
    // The active keys committed are gone.
    expect((await grpcError(h.ctr.snapshots.Stat({ snapshotter: ss, key: 'base-active' }))).details).toBe(
      'snapshot base-active does not exist: not found',
    )
  })

  test('a committed snapshot has the labels given to Commit, not those of the active one', async () => {
    await prepare('a', '', { from: 'prepare' })
    await commit('c', 'a', { from: 'commit' })
    expect((await stat('c')).labels).toEqual({ from: 'commit' })
  })

  test('List filters on kind, name, parent and labels', async () => {
    await chain()
    const names = async (filters: string[]) => (await list(filters)).map((s) => s.name)
    expect(await names(['kind==committed'])).toEqual(['base', 'mid'])
    expect(await names(['kind==active'])).toEqual(['work'])
    expect(await names(['kind==view'])).toEqual(['look'])
    expect(await names(['parent==base'])).toEqual(['look', 'mid'])
    expect(await names(['parent==""'])).toEqual(['base'])
    expect(await names(['name~=^m'])).toEqual(['mid'])
    expect(await names(['labels.layer'])).toEqual(['base', 'mid'])
    expect(await names(['labels.layer==1', 'kind==view'])).toEqual(['look', 'mid'])
    const bad = await grpcError(collect(h.ctr.snapshots.List({ snapshotter: ss, filters: ['kind=='] })))
    expect(bad.code).toBe(Code.INVALID_ARGUMENT)
  })

  test('List sends blocks of at most 100', async () => {
    for (let i = 0; i < 120; i++) await prepare(`s${i}`)
    expect((await collect(h.ctr.snapshots.List({ snapshotter: ss, filters: [] }))).map((m) => m.info.length)).toEqual([100, 20])
  })

  test('Commit may rebase an active snapshot that has no parent', async () => {
    await prepare('b-active')
    await commit('b', 'b-active')
    await prepare('orphan')
    await commit('rebased', 'orphan', {}, 'b')
    expect((await stat('rebased')).parent).toBe('b')
    const err = await grpcError(h.ctr.snapshots.Remove({ snapshotter: ss, key: 'b' }))
    expect(err.details).toBe('cannot remove snapshot with child: failed precondition')
  })

  test('prepare, commit and remove publish their events', async () => {
    await prepare('a')
    await commit('c', 'a')
    await prepare('b', 'c')
    await view('v', 'c')
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: 'b' })
    expect(payloads(h.events, '/snapshot/prepare')).toEqual([
      { key: 'a', parent: '', snapshotter: ss },
      { key: 'b', parent: 'c', snapshotter: ss },
    ])
    expect(payloads(h.events, '/snapshot/commit')).toEqual([{ key: 'a', name: 'c', snapshotter: ss }])
    expect(payloads(h.events, '/snapshot/remove')).toEqual([{ key: 'b', snapshotter: ss }])
    expect(h.events.find((e) => e.topic === '/snapshot/commit')?.type).toBe('containerd.events.SnapshotCommit')
  })
})

describe('errors', () => {
  test('Prepare: an existing key, a missing parent, a parent that is not committed', async () => {
    await prepare('a')
    const exists = await grpcError(prepare('a'))
    expect([exists.code, exists.details]).toEqual([Code.ALREADY_EXISTS, 'snapshot "a": already exists'])
    const missing = await grpcError(prepare('b', 'nope'))
    expect([missing.code, missing.details]).toEqual([Code.NOT_FOUND, 'parent snapshot nope does not exist: not found'])
    const active = await grpcError(prepare('b', 'a'))
    expect([active.code, active.details]).toEqual([
      Code.INVALID_ARGUMENT,
      'failed to create snapshot: parent "a" is not committed snapshot: invalid argument',
    ])
    const big = await grpcError(prepare('c', '', { k: 'v'.repeat(4096) }))
    expect(big.code).toBe(Code.INVALID_ARGUMENT)
    expect(big.details).toMatch(/^info\.Labels: label key and value length \(4097 bytes\)/)
  })

  test('Commit: an existing name, a missing key, a key that is not active', async () => {
    await prepare('a')
    await commit('c', 'a')
    await prepare('b', 'c')
    const exists = await grpcError(commit('c', 'b'))
    expect([exists.code, exists.details]).toEqual([Code.ALREADY_EXISTS, 'snapshot "c": already exists'])
    const missing = await grpcError(commit('d', 'nope'))
    expect([missing.code, missing.details]).toEqual([Code.NOT_FOUND, 'snapshot nope does not exist: not found'])
    await view('v', 'c')
    const notActive = await grpcError(commit('d', 'v'))
    expect([notActive.code, notActive.details]).toEqual([
      Code.FAILED_PRECONDITION,
      'failed to commit snapshot v: snapshot "v" is not active: failed precondition',
    ])
    // Nothing changed.
    expect((await stat('v')).kind).toBe('VIEW')
    expect((await grpcError(h.ctr.snapshots.Stat({ snapshotter: ss, key: 'd' }))).code).toBe(Code.NOT_FOUND)
  })

  test('Remove: a missing key; a snapshot with children; Mounts of a committed snapshot', async () => {
    await prepare('a')
    await commit('c', 'a')
    await prepare('child', 'c')
    const missing = await grpcError(h.ctr.snapshots.Remove({ snapshotter: ss, key: 'nope' }))
    expect([missing.code, missing.details]).toEqual([Code.NOT_FOUND, 'snapshot nope does not exist: not found'])
    const parent = await grpcError(h.ctr.snapshots.Remove({ snapshotter: ss, key: 'c' }))
    expect([parent.code, parent.details]).toEqual([Code.FAILED_PRECONDITION, 'cannot remove snapshot with child: failed precondition'])
    const mounts = await grpcError(h.ctr.snapshots.Mounts({ snapshotter: ss, key: 'c' }))
    expect([mounts.code, mounts.details]).toEqual([
      Code.FAILED_PRECONDITION,
      'failed to get active mount: requested snapshot c not active or view: failed precondition',
    ])
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: 'child' })
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: 'c' })
    expect(await list()).toEqual([])
  })

  test('Cleanup is not implemented by containerd’s namespaced snapshotters', async () => {
    for (const snapshotter of ['overlayfs', 'native']) {
      const err = await grpcError(h.ctr.snapshots.Cleanup({ snapshotter }))
      expect([err.code, err.details]).toEqual([Code.UNIMPLEMENTED, 'snapshotter does not implement Cleanup method: not implemented'])
    }
  })
})

describe('Mounts', () => {
  test('a bind mount of an empty directory of the snapshot: rw for an active one, ro for a view; gone on remove', async () => {
    const [mount] = (await prepare('a')).mounts
    expect(mount).toMatchObject({ type: 'bind', target: '', options: ['rw', 'rbind'] })
    expect(statSync(mount!.source).isDirectory()).toBe(true)
    expect(readdirSync(mount!.source)).toEqual([])
    expect((await h.ctr.snapshots.Mounts({ snapshotter: ss, key: 'a' })).mounts).toEqual([mount])
    await commit('c', 'a')
    expect(existsSync(mount!.source)).toBe(false)
    const { mounts } = await view('v', 'c')
    expect(mounts[0]!.options).toEqual(['ro', 'rbind'])
    expect(mounts[0]!.source).not.toBe(mount!.source)
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: 'v' })
    expect(existsSync(mounts[0]!.source)).toBe(false)
  })

  test('a directory someone removed is made again when a client asks for the mounts', async () => {
    const [mount] = (await prepare('a')).mounts
    rmSync(mount!.source, { recursive: true })
    expect((await h.ctr.snapshots.Mounts({ snapshotter: ss, key: 'a' })).mounts).toEqual([mount])
    expect(statSync(mount!.source).isDirectory()).toBe(true)
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: 'a' })
    expect(existsSync(mount!.source)).toBe(false)
  })

  test('a child keeps its parent until it goes, counted through commits', async () => {
    await prepare('a')
    await commit('base', 'a')
    await prepare('b', 'base')
    await view('v', 'base')
    const refused = await grpcError(h.ctr.snapshots.Remove({ snapshotter: ss, key: 'base' }))
    expect([refused.code, refused.details]).toEqual([Code.FAILED_PRECONDITION, 'cannot remove snapshot with child: failed precondition'])
    await commit('top', 'b')
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: 'v' })
    expect((await grpcError(h.ctr.snapshots.Remove({ snapshotter: ss, key: 'base' }))).code).toBe(Code.FAILED_PRECONDITION)
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: 'top' })
    await h.ctr.snapshots.Remove({ snapshotter: ss, key: 'base' })
  })

  test('the directories go when the server closes', async () => {
    const [mount] = (await prepare('a')).mounts
    h.fake.node.snapshots.close()
    expect(existsSync(mount!.source)).toBe(false)
  })
})

describe('Update, Usage', () => {
  test('labels only: replaced, one key set or removed; other fields refused', async () => {
    await prepare('a', '', { x: '1', y: '2' })
    const update = (labels: Record<string, string>, paths: string[] | null) =>
      h.ctr.snapshots.Update({ snapshotter: ss, info: { name: 'a', labels }, update_mask: paths ? { paths } : null })
    expect((await update({ z: '3' }, ['labels.z'])).info!.labels).toEqual({ x: '1', y: '2', z: '3' })
    expect((await update({}, ['labels.x'])).info!.labels).toEqual({ y: '2', z: '3' })
    expect((await update({ only: 'this' }, null)).info!.labels).toEqual({ only: 'this' })
    const updated = (await update({ all: 'new' }, ['labels'])).info!
    expect(updated).toMatchObject({ name: 'a', kind: 'ACTIVE', labels: { all: 'new' } })
    expect((await stat('a')).labels).toEqual({ all: 'new' })
    const field = await grpcError(update({}, ['parent']))
    expect([field.code, field.details]).toEqual([Code.INVALID_ARGUMENT, 'cannot update "parent" field on snapshot "a": invalid argument'])
    const missing = await grpcError(h.ctr.snapshots.Update({ snapshotter: ss, info: { name: 'nope' }, update_mask: null }))
    expect([missing.code, missing.details]).toEqual([Code.NOT_FOUND, 'snapshot nope does not exist: not found'])
    const noName = await grpcError(h.ctr.snapshots.Update({ snapshotter: ss, info: { name: '' }, update_mask: null }))
    expect([noName.code, noName.details]).toEqual([Code.INVALID_ARGUMENT, 'invalid argument'])
  })

  test('Usage of an empty snapshot is zero; of a missing one NotFound', async () => {
    await prepare('a')
    expect(await h.ctr.snapshots.Usage({ snapshotter: ss, key: 'a' })).toEqual({ size: '0', inodes: '0' })
    const err = await grpcError(h.ctr.snapshots.Usage({ snapshotter: ss, key: 'nope' }))
    expect([err.code, err.details]).toEqual([Code.NOT_FOUND, 'snapshot nope does not exist: not found'])
  })
})

// The state on disk as a user finds it: the state file (a snapshot) and <state>.log (a JSON line per
// write, the records changed). A write costs what changed; the log is replayed on start, a torn
// last line ignored; compaction and a whole-state change fold the log into the snapshot.
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { readSeedState } from '../../src/seed-state.js'
import { startFakeContainerd } from '../../src/server.js'
import { loadState } from '../../src/store/state-log.js'
import { ctrHarness, importImage, ociSpec, tarball, upload } from '../containerd.js'
import { containerConfig, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'
import { ociLayout } from '../oci-layout.mjs'
import { T, any, openTransferStream as openStream, sendBytes } from '../transfer-streams.js'

let dir: string
let file: string
const open: Harness[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fc-state-log-'))
  file = join(dir, 'state.json')
})
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()))
  rmSync(dir, { recursive: true, force: true })
})

async function start(at = file, stateSync = false): Promise<Harness> {
  const h = await harness({ state: at, stateSync })
  open.push(h)
  return h
}

async function stop(h: Harness): Promise<void> {
  open.splice(open.indexOf(h), 1)
  await h.close()
}

/** The state directory as a kill -9 would leave it now (the server keeps running on the original). */
function crashCopy(): string {
  const copy = mkdtempSync(join(dir, 'crash-'))
  cpSync(file, join(copy, 'state.json'))
  if (existsSync(`${file}.log`)) cpSync(`${file}.log`, join(copy, 'state.json.log'))
  if (existsSync(`${file}.blobs`)) cpSync(`${file}.blobs`, join(copy, 'state.json.blobs'), { recursive: true })
  return join(copy, 'state.json')
}

/** The state the files hold, read as the README says: the snapshot, then each log line after its logSeq. */
function readFiles(path: string): Record<string, unknown> {
  const state = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>
  const from = (state.logSeq as number | undefined) ?? 0
  const id = state.logId
  delete state.logSeq
  delete state.logId
  const log = existsSync(`${path}.log`) ? readFileSync(`${path}.log`, 'utf8') : ''
  const lines = log.split('\n').filter((l) => l !== '')
  // The header names the snapshot the lines follow; a log of another snapshot adds nothing.
  const header = lines.length ? (JSON.parse(lines[0]!) as { logId?: string }) : {}
  if (header.logId !== undefined) lines.shift()
  if (header.logId !== id) return state
  for (const text of lines) {
    const line = JSON.parse(text) as { seq: number; ops: [string[], unknown?][] }
    if (line.seq <= from) continue
    for (const [keys, ...value] of line.ops) {
      let target = state
      for (const k of keys.slice(0, -1)) target = (target[k] ??= {}) as Record<string, unknown>
      if (value.length) target[keys.at(-1)!] = value[0]
      else delete target[keys.at(-1)!]
    }
  }
  return state
}

const logBytes = (path = file): number => (existsSync(`${path}.log`) ? statSync(`${path}.log`).size : 0)

async function podWithContainer(h: Harness, name: string): Promise<{ pod: string; id: string }> {
  const config = podConfig(name)
  const pod = await runPod(h, config)
  const id = await runContainer(h, pod, config, containerConfig('app', { command: ['sleep', '3600'] }))
  return { pod, id }
}

const cpuShares = async (h: Harness, id: string): Promise<unknown> =>
  (await h.runtime.ContainerStatus({ container_id: id, verbose: false })).status?.resources?.linux?.cpu_shares

describe('the state log', () => {
  test('a change goes to the log as its record alone, and a restart from the files as a crash left them keeps it', async () => {
    const h = await start()
    const { id } = await podWithContainer(h, 'one')
    await h.fake.node.store.flush()
    const before = logBytes()
    const snapshot = statSync(file)
    await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 777 } })
    await h.fake.node.store.flush()
    // One line with the container's record (after the header, when the log was empty); the state file is not rewritten.
    const lines = readFileSync(`${file}.log`, 'utf8')
      .slice(before)
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('{"logId"'))
    expect(lines).toHaveLength(1)
    const line = JSON.parse(lines[0]!) as { ops: [string[], unknown][] }
    expect(line.ops.map(([path]) => path)).toEqual([['containers', id]])
    expect(statSync(file).ino).toBe(snapshot.ino)
    expect(statSync(file).mtimeMs).toBe(snapshot.mtimeMs)

    const copy = crashCopy()
    const after = await start(copy)
    expect(await cpuShares(after, id)).toBe('777')
    expect(readFiles(copy)).toEqual(JSON.parse(JSON.stringify(h.fake.node.state)))
  })

  test('close folds the log into the state file, which then holds everything alone', async () => {
    let h = await start()
    const { id } = await podWithContainer(h, 'folded')
    // The first write of a new file is a whole state file; the change after it goes to the log.
    await h.fake.node.store.flush()
    await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 300 } })
    await h.fake.node.store.flush()
    expect(logBytes()).toBeGreaterThan(0)
    await stop(h)
    expect(logBytes()).toBe(0)
    const alone = JSON.parse(readFileSync(file, 'utf8')) as { containers: Record<string, unknown> }
    expect(Object.keys(alone.containers)).toContain(id)
    h = await start()
    expect(await cpuShares(h, id)).toBe('300')
  })

  test('a state file in UTF-8 (a label in another script) comes back exactly; an ASCII one too', async () => {
    let h = await start()
    const labels = { app: 'ascii', team: 'équipe', 名前: '値 🚀' }
    const pod = await runPod(h, podConfig('utf8', { labels }))
    const ascii = await runPod(h, podConfig('ascii'))
    await stop(h)
    const bytes = readFileSync(file)
    expect(bytes.some((b) => b > 0x7f)).toBe(true)
    h = await start()
    const { items } = await h.runtime.ListPodSandbox({ filter: null })
    expect(Object.fromEntries(items.map((p) => [p.id, p.labels]))).toEqual({ [pod]: labels, [ascii]: { app: 'ascii' } })
    // Without the label the file is ASCII, and reads the same.
    await h.runtime.StopPodSandbox({ pod_sandbox_id: pod })
    await h.runtime.RemovePodSandbox({ pod_sandbox_id: pod })
    await stop(h)
    expect(readFileSync(file).every((b) => b <= 0x7f)).toBe(true)
    h = await start()
    const after = (await h.runtime.ListPodSandbox({ filter: null })).items
    expect(after.map((p) => [p.id, p.labels])).toEqual([[ascii, { app: 'ascii' }]])
  })

  test('a torn last line is ignored and cut off; the next line starts on its own', async () => {
    const h = await start()
    const { id } = await podWithContainer(h, 'torn')
    await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 400 } })
    await h.fake.node.store.flush()
    const copy = crashCopy()
    const whole = logBytes(copy)
    // A line cut short by the crash: never acknowledged, so never applied.
    appendFileSync(`${copy}.log`, `{"seq":99,"ops":[[["containers","${id}"],{"namespace":"k8s.io","id":"${id}","ima`)
    let after = await start(copy)
    expect(await cpuShares(after, id)).toBe('400')
    expect(logBytes(copy)).toBe(whole)
    await after.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 401 } })
    await after.fake.node.store.flush()
    // A crash again: the new line was appended after the good ones, and is read back.
    const again = mkdtempSync(join(dir, 'again-'))
    cpSync(copy, join(again, 'state.json'))
    cpSync(`${copy}.log`, join(again, 'state.json.log'))
    cpSync(`${copy}.blobs`, join(again, 'state.json.blobs'), { recursive: true })
    await stop(after)
    after = await start(join(again, 'state.json'))
    expect(await cpuShares(after, id)).toBe('401')
  })

  test('a bad line before the last is refused with the line named, and the files are left as they are', async () => {
    const h = await start()
    const { id } = await podWithContainer(h, 'bad')
    for (const shares of [500, 501, 502]) {
      await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: shares } })
      await h.fake.node.store.flush()
    }
    const copy = crashCopy()
    const lines = readFileSync(`${copy}.log`, 'utf8').split('\n')
    expect(lines.length).toBeGreaterThan(2)
    lines[0] = lines[0]!.slice(0, 20)
    writeFileSync(`${copy}.log`, lines.join('\n'))
    await expect(startFakeContainerd({ state: copy })).rejects.toThrow(
      /cannot read state file .*state\.json: .*state\.json\.log line 1 is not a JSON line .*; fix or remove the file/,
    )
    expect(readFileSync(`${copy}.log`, 'utf8')).toBe(lines.join('\n'))
  })

  test('compaction keeps everything: a log grown past its share of the state is folded into a new state file', async () => {
    const h = await start()
    const { id } = await podWithContainer(h, 'compact')
    await h.fake.node.store.flush()
    const first = statSync(file).ino
    // Each update logs the whole container record (a few kB): enough of them pass the 1 MiB floor.
    let shares = 2
    while (statSync(file).ino === first) {
      await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: shares++ } })
      await h.fake.node.store.flush()
      expect(shares).toBeLessThan(2000)
    }
    expect(logBytes()).toBeLessThan(1024 * 1024)
    const copy = crashCopy()
    expect(readFiles(copy)).toEqual(JSON.parse(JSON.stringify(h.fake.node.state)))
    const after = await start(copy)
    expect(await cpuShares(after, id)).toBe(String(shares - 1))
  })

  test('a whole-state change (restore) writes a new state file and empties the log', async () => {
    const h = await start()
    await podWithContainer(h, 'kept')
    // The first write of a new file is a whole state file; the changes after it go to the log.
    await h.fake.node.store.flush()
    const saved = h.fake.snapshot()
    await podWithContainer(h, 'dropped')
    await h.fake.node.store.flush()
    expect(logBytes()).toBeGreaterThan(0)
    h.fake.restore(saved)
    await h.fake.node.store.flush()
    expect(logBytes()).toBe(0)
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as { containers: Record<string, unknown>; logSeq: number }
    expect(Object.keys(onDisk.containers).sort()).toEqual(Object.keys(saved.containers).sort())
    expect(readFiles(crashCopy())).toEqual(JSON.parse(JSON.stringify(h.fake.node.state)))
  })

  test("a state file of main's format (one JSON object, no log) loads, is given an id by its first write, and takes a log from then on", async () => {
    const first = await start()
    const { id } = await podWithContainer(first, 'old')
    const state = first.fake.snapshot()
    await stop(first)
    rmSync(`${file}.log`, { force: true })
    writeFileSync(file, JSON.stringify(state))
    const h = await start()
    expect((await h.runtime.ContainerStatus({ container_id: id, verbose: false })).status?.state).toBe('CONTAINER_RUNNING')
    await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 599 } })
    await h.fake.node.store.flush()
    // The first write is a snapshot with an id, which the log's header names from then on.
    expect(logBytes()).toBe(0)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty('logId')
    await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 600 } })
    await h.fake.node.store.flush()
    expect(logBytes()).toBeGreaterThan(0)
    expect(await cpuShares(await start(crashCopy()), id)).toBe('600')
  })

  test("containerd's API: after each kind of change the files replayed are the state in memory", async () => {
    const h = await ctrHarness({ state: file, stateSync: true })
    try {
      // The files as the README reads them and as the server reads them (a restart) are the state in memory.
      const same = async (what: string): Promise<void> => {
        await h.fake.node.store.flush()
        const copy = crashCopy()
        const memory: unknown = JSON.parse(JSON.stringify(h.fake.node.state))
        expect(readFiles(copy), what).toEqual(memory)
        expect(loadState(copy)?.state, what).toEqual(memory)
      }
      const held = { metadata: { 'containerd-lease': 'hold' } }
      await h.ctr.namespaces.Create({ namespace: { name: 'team', labels: { owner: 'me' } } })
      await h.ctr.namespaces.Update({ namespace: { name: 'team', labels: { env: 'dev' } }, update_mask: { paths: ['labels.env'] } })
      await h.ctr.leases.Create({ id: 'hold', labels: {} })
      await same('namespaces and a lease')
      const layer = tarball([
        { name: 'etc/', type: '5' },
        { name: 'etc/motd', data: 'hello\n' },
      ])
      await importImage(h.ctr, 'example.com/app:1', [layer], {}, held)
      await same('an image imported under the lease: content, image, snapshots, unpacked layer')
      // Transfer's import under the client's lease, not unpacked: the lease holds each blob it wrote.
      const input = await openStream(h.ctr, 'import-held')
      const layout = ociLayout('example.com/moved:1', tarball([{ name: 'etc/hi', data: 'hi\n' }]), { Cmd: ['sleep', '1'] })
      const imported = h.ctr.transfer.Transfer(
        {
          source: any(`${T}ImageImportStream`, { stream: 'import-held' }),
          destination: any(`${T}ImageStore`, { name: '', extra_references: [], platforms: [], unpacks: [] }),
          options: {},
        },
        held,
      )
      await sendBytes(input, tarball(layout))
      await imported
      expect(h.fake.node.state.leases.default?.hold?.resources.length).toBeGreaterThan(4)
      await same('an archive imported by Transfer under the lease')
      const digest = await upload(h.ctr, 'loose blob', { options: held })
      await h.ctr.content.Update({ info: { digest, labels: { a: '1' } }, update_mask: null })
      await h.ctr.images.Update({ image: { name: 'example.com/app:1', labels: { team: 'b' } }, update_mask: { paths: ['labels'] } })
      await same('content and image labels')
      await h.ctr.containers.Create({
        container: { id: 'web', labels: {}, runtime: { name: 'io.containerd.runc.v2' }, spec: ociSpec(['sleep', '60']) },
      })
      await h.ctr.containers.Update({ container: { id: 'web', labels: { app: 'web2' } }, update_mask: { paths: ['labels.app'] } })
      await h.ctr.snapshots.Prepare({ snapshotter: 'overlayfs', key: 'scratch', parent: '', labels: {} }, held)
      await h.ctr.snapshots.Commit({ snapshotter: 'overlayfs', name: 'scratch-done', key: 'scratch', labels: {}, parent: '' }, held)
      await same('a container and a snapshot committed')
      const sandbox = { sandbox_id: 'own', runtime: { name: 'io.containerd.runc.v2' }, labels: { a: '1' }, sandboxer: 'shim' }
      await h.ctr.sandboxStore.Create({ sandbox })
      await h.ctr.sandboxStore.Update({ sandbox: { ...sandbox, labels: { b: '2' } }, fields: ['labels.b'] })
      await h.ctr.sandboxController.Start({ sandbox_id: 'own', sandboxer: 'shim' })
      await same("a sandbox of the Sandbox Store's own, started")
      await h.ctr.sandboxController.Stop({ sandbox_id: 'own', sandboxer: 'shim', timeout_secs: 0 })
      await h.ctr.sandboxStore.Delete({ sandbox_id: 'own' })
      await h.ctr.containers.Delete({ id: 'web' })
      await h.ctr.images.Delete({ name: 'example.com/app:1', sync: true })
      await h.ctr.leases.Delete({ id: 'hold', sync: true })
      await same('deletions and what the collector took')
      expect(Object.keys(h.fake.node.state.content.default ?? {})).toEqual([])
    } finally {
      await h.close()
    }
  })

  test("a container's writable layer is logged on its own: a change to the record does not write the layer again; a version 3 file has its layers moved out", async () => {
    // --state-sync: a changed layer is saved before each write (without it, at close and at snapshots).
    const h = await start(file, true)
    const { id } = await podWithContainer(h, 'layered')
    const sh = async (target: Harness, script: string): Promise<string> =>
      Buffer.from((await target.runtime.ExecSync({ container_id: id, cmd: ['sh', '-c', script], timeout: 10 })).stdout).toString()
    const linesSince = (before: number): { ops: [string[], unknown][] }[] =>
      readFileSync(`${file}.log`, 'utf8')
        .slice(before)
        .trim()
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('{"logId"'))
        .map((l) => JSON.parse(l) as { ops: [string[], unknown][] })
    await h.fake.node.store.flush()
    let before = logBytes()
    await sh(h, 'echo written > /data.txt')
    await h.fake.node.store.flush()
    // The layer, with the exec's own changes (the task's exec record, the PID it took); the record
    // holds none of the layer's files.
    const written = linesSince(before).flatMap((l) => l.ops)
    expect(written.map(([path]) => path)).toContainEqual(['layers', id])
    expect(JSON.stringify(written.filter(([path]) => path[0] !== 'layers'))).not.toContain(Buffer.from('written\n').toString('base64'))
    expect(JSON.stringify(written.filter(([path]) => path[0] === 'layers'))).toContain(Buffer.from('written\n').toString('base64'))
    before = logBytes()
    await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 333 } })
    await h.fake.node.store.flush()
    const ops = linesSince(before).flatMap((l) => l.ops)
    expect(ops.map(([path]) => path)).toEqual([['containers', id]])
    expect(JSON.stringify(ops)).not.toContain('/data.txt')

    // The same state as version 3 kept it: the layer inside the container's record.
    await stop(h)
    const v4 = readFiles(file) as { layers: Record<string, unknown>; containers: Record<string, Record<string, unknown>> }
    expect(Object.keys(v4.layers)).toEqual([id])
    const v3 = { ...v4, version: 3 } as Record<string, unknown>
    v3.containers = { ...v4.containers, [id]: { ...v4.containers[id], writableLayer: v4.layers[id] } }
    delete v3.layers
    rmSync(`${file}.log`, { force: true })
    writeFileSync(file, JSON.stringify(v3))
    const migrated = await start()
    expect(migrated.fake.node.state.version).toBe(4)
    expect(await sh(migrated, 'cat /data.txt')).toBe('written\n')
    expect(Object.hasOwn(migrated.fake.node.state.containers[id]!, 'writableLayer')).toBe(false)
    // Removed with its container.
    await migrated.runtime.StopContainer({ container_id: id, timeout: 0 })
    await migrated.runtime.RemoveContainer({ container_id: id })
    await migrated.fake.node.store.flush()
    expect(readFiles(file).layers).toEqual({})
  })

  test('with --state-sync the bytes a change writes do not grow with the objects it leaves alone', async () => {
    // Bytes on disk for one UpdateContainerResources: the log's growth (the state file is not rewritten).
    const measure = async (h: Harness, id: string, shares: number): Promise<number> => {
      const before = logBytes()
      const snapshot = statSync(file).ino
      await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: shares } })
      expect(statSync(file).ino).toBe(snapshot)
      return logBytes() - before
    }
    let h = await start(file, true)
    const { id } = await podWithContainer(h, 'measured')
    const few = await measure(h, id, 10)
    // 150 more pods of a container each: objects the change does not touch.
    for (let i = 0; i < 15; i++) await Promise.all(Array.from({ length: 10 }, (_, j) => podWithContainer(h, `idle-${i}-${j}`)))
    // A restart folds the log into the state file, so that no compaction falls on the measured change.
    await stop(h)
    h = await start(file, true)
    const many = await measure(h, id, 11)
    expect(Object.keys(h.fake.node.state.containers).length).toBeGreaterThan(300)
    expect(statSync(file).size).toBeGreaterThan(100 * few)
    // The same record with other timestamps: within a few bytes.
    expect(Math.abs(many - few)).toBeLessThan(few / 20)
  })
})

/** A server with a container whose update went to the log (after the first write's snapshot), and the files as a crash would leave them. */
async function loggedCopy(name: string, shares: number): Promise<{ h: Harness; id: string; copy: string }> {
  const h = await start()
  const { id } = await podWithContainer(h, name)
  await h.fake.node.store.flush()
  await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: shares } })
  await h.fake.node.store.flush()
  return { h, id, copy: crashCopy() }
}

describe('the state files kept right', () => {
  test('a server started on a new state file and closed with no change leaves the file, holding the empty node', async () => {
    const h = await start()
    await stop(h)
    expect(existsSync(file)).toBe(true)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ containers: {}, sandboxes: {} })
  })

  test('a write that cannot be made is told to the waiting call, never crashes the server, and is tried again without another change', async () => {
    const h = await start()
    const { id } = await podWithContainer(h, 'unsaved')
    await h.fake.node.store.flush()
    const errors: string[] = []
    h.fake.node.store.onError = (message) => errors.push(message)
    // A value JSON cannot write (as a state past V8's longest string cannot be): the text fails to build.
    const record = h.fake.node.state.containers[id] as unknown as Record<string, unknown>
    record.unwritable = 1n
    h.fake.node.store.changed(['containers', id])
    await expect(h.fake.node.store.durable()).rejects.toThrow(/the change was made but not saved to .*state\.json: .*BigInt/)
    expect(errors[0]).toMatch(/writing state to .*state\.json failed: .*BigInt/)
    // Put right, with no new change: the retry writes it.
    delete record.unwritable
    record.kept = 'after the retry'
    await vi.waitFor(() => expect(h.fake.node.store.clean).toBe(true), { timeout: 10_000, interval: 50 })
    expect((loadState(crashCopy())?.state as { containers: Record<string, { kept?: string }> }).containers[id]?.kept).toBe(
      'after the retry',
    )
    expect((await h.runtime.ContainerStatus({ container_id: id, verbose: false })).status?.state).toBe('CONTAINER_RUNNING')
  })

  test('a complete bad last line is refused, naming it; a torn tail of a refused state is left on disk', async () => {
    const { copy } = await loggedCopy('lastbad', 700)
    const lines = readFileSync(`${copy}.log`, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
    writeFileSync(`${copy}.log`, `${lines.join('\n')}\n{"seq":oops}\n`)
    await expect(startFakeContainerd({ state: copy })).rejects.toThrow(
      new RegExp(`state\\.json\\.log line ${lines.length + 1} is not a JSON line`),
    )
    // A torn tail (no newline) under a state that is refused (a schema from the future): nothing is cut.
    const torn = `${lines.join('\n')}\n{"seq":12,"ops":[[["cont`
    writeFileSync(`${copy}.log`, torn)
    const snapshot = JSON.parse(readFileSync(copy, 'utf8')) as Record<string, unknown>
    writeFileSync(copy, JSON.stringify({ ...snapshot, version: 999 }))
    await expect(startFakeContainerd({ state: copy })).rejects.toThrow(/schema version 999/)
    expect(readFileSync(`${copy}.log`, 'utf8')).toBe(torn)
  })

  test('a lock holding our own pid (PID 1 after a container restart) is taken over; a second open in this process is refused', async () => {
    writeFileSync(`${file}.lock`, `${process.pid}\n`)
    const h = await start()
    await expect(startFakeContainerd({ state: file })).rejects.toThrow(/state file .*state\.json is already open in this process/)
    await stop(h)
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  test("a log of another history is refused naming both files; the previous snapshot's log a crash left is ignored", async () => {
    const { h, id, copy } = await loggedCopy('history', 800)
    const oldLog = readFileSync(`${copy}.log`)
    // A crash between a new snapshot's rename and the emptying of the log: the old log is ignored.
    h.fake.restore(h.fake.snapshot())
    await h.fake.node.store.flush()
    const crashed = crashCopy()
    writeFileSync(`${crashed}.log`, oldLog)
    const after = await start(crashed)
    expect(await cpuShares(after, id)).toBe('800')
    expect(logBytes(crashed)).toBe(0)
    await stop(after)
    // A state file of another history (a new node's) next to this log: refused, the files named.
    const other = join(mkdtempSync(join(dir, 'other-')), 'state.json')
    await stop(await start(other))
    cpSync(other, copy)
    await expect(startFakeContainerd({ state: copy })).rejects.toThrow(
      /state\.json\.log is not the log of .*state\.json: it follows snapshot [0-9a-f]+, the state file is snapshot [0-9a-f]+, and .*line 2 goes past the state file's logSeq 0; put back the state file this log belongs to, or remove the log/,
    )
    expect(readFileSync(`${copy}.log`)).toEqual(oldLog)
  })

  test('--seed-state of a state file reads its log too', async () => {
    const { id, copy } = await loggedCopy('seeded', 900)
    expect(logBytes(copy)).toBeGreaterThan(0)
    const seed = readSeedState(copy)
    expect(seed.state).not.toHaveProperty('logSeq')
    expect(seed.state).not.toHaveProperty('logId')
    const seeded = await harness({ seedState: copy })
    open.push(seeded)
    expect(await cpuShares(seeded, id)).toBe('900')
  })
})

// The state on disk as a user finds it: the state file (a snapshot) and <state>.log (a JSON line per
// write, the records changed). A write costs what changed; the log is replayed on start, a torn
// last line ignored; compaction and a whole-state change fold the log into the snapshot.
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { startFakeContainerd } from '../../src/server.js'
import { ctrHarness, importImage, ociSpec, tarball, upload } from '../containerd.js'
import { containerConfig, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

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
  delete state.logSeq
  const log = existsSync(`${path}.log`) ? readFileSync(`${path}.log`, 'utf8') : ''
  for (const text of log.split('\n').filter((l) => l !== '')) {
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
    // One line with the container's record; the state file is not rewritten.
    const lines = readFileSync(`${file}.log`, 'utf8').slice(before).trim().split('\n')
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

  test("a state file of main's format (one JSON object, no log) loads, and takes a log from then on", async () => {
    const first = await start()
    const { id } = await podWithContainer(first, 'old')
    const state = first.fake.snapshot()
    await stop(first)
    rmSync(`${file}.log`, { force: true })
    writeFileSync(file, JSON.stringify(state))
    const h = await start()
    expect((await h.runtime.ContainerStatus({ container_id: id, verbose: false })).status?.state).toBe('CONTAINER_RUNNING')
    await h.runtime.UpdateContainerResources({ container_id: id, linux: { cpu_shares: 600 } })
    await h.fake.node.store.flush()
    expect(logBytes()).toBeGreaterThan(0)
    expect(await cpuShares(await start(crashCopy()), id)).toBe('600')
  })

  test("containerd's API: after each kind of change the files replayed are the state in memory", async () => {
    const h = await ctrHarness({ state: file, stateSync: true })
    try {
      const same = async (what: string): Promise<void> => {
        await h.fake.node.store.flush()
        expect(readFiles(crashCopy()), what).toEqual(JSON.parse(JSON.stringify(h.fake.node.state)))
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

// containerd's Go client (1.6, Debian's golang-github-containerd-containerd-dev) against the fake:
// the programs under test/go/ do what callers do and print what they saw as JSON, asserted here.
// Skipped where Go or the client library is missing, except in CI (CI set), where that fails.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startFakeContainerd, type FakeContainerd } from '../../src/server.js'
import { tarball } from '../containerd.js'
import { ociLayout } from '../oci-layout.mjs'
import { buildGoPrograms, goToolchain, runGoProgram, type GoRun } from '../go-programs.js'

const toolchain = goToolchain()
const IMAGE = 'docker.io/library/goclient:1.0'

test.runIf(!!process.env.CI && !!toolchain.missing)('CI has what the Go client programs need', () => {
  throw new Error(
    `CI must run the Go client programs, but ${toolchain.missing}: apt-get install golang-go golang-github-containerd-containerd-dev`,
  )
})

describe.skipIf(!!toolchain.missing)('containerd Go client', () => {
  let bin: string
  let work: string
  let fake: FakeContainerd

  beforeAll(async () => {
    ;[bin, fake] = await Promise.all([buildGoPrograms(toolchain, ['lifecycle', 'errors', 'resources', 'stdio']), startFakeContainerd()])
    work = mkdtempSync(join(tmpdir(), 'fc-go-run-'))
    // One layer with a file; the programs run the simulator's commands (sh, echo, cat, sleep).
    const layer = tarball([
      { name: 'etc/', type: '5' },
      { name: 'etc/greeting', data: 'hello from a layer\n' },
    ])
    writeFileSync(join(work, 'image.tar'), tarball(ociLayout(IMAGE, layer, { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sleep', '3600'] })))
  }, 600_000)
  afterAll(() => fake?.close())

  /** Runs a program in its own namespace; it must end well, or its report says where it stopped. */
  const go = async (name: string, namespace: string): Promise<GoRun['report']> => {
    const { report, code, stderr } = await runGoProgram(join(bin, name), [
      '--socket',
      fake.socketPath,
      '--namespace',
      namespace,
      '--fifo-dir',
      work,
      '--archive',
      join(work, 'image.tar'),
    ])
    expect({ failed: report.failed, code, stderr }).toEqual({ failed: undefined, code: 0, stderr: '' })
    return report
  }

  test('connect to an empty namespace, import and unpack, run a task to its end, a long one through exec, pause, update, kill', async () => {
    const r = await go('lifecycle', 'build')
    expect(r).toMatchObject({ serving: true, imported: [IMAGE], unpackedBefore: false, unpackedAfter: true })
    // A short task: Wait before Start, its output through cio's FIFOs, the exit from Wait and Delete.
    expect(r).toMatchObject({
      shortCreated: 'created',
      shortCreatedMetrics: { class: 'ok' },
      shortStdout: 'out\n',
      shortStderr: 'err\n',
      shortExit: 3,
      shortExitedAtSet: true,
      shortDeleteExit: 3,
      shortDeleteSameTime: true,
    })
    expect(r.exec).toMatchObject({ exit: 4, deleteExit: 4, stderr: '' })
    // The image's file, unpacked by the client through Diff.Apply, is there with its contents.
    expect(r.exec.stdout).toBe('from exec\nhello from a layer\n')
    expect(r).toMatchObject({ longPidSet: true, longRunning: 'running', paused: 'paused', resumed: 'running', pidsHasTaskPid: true })
    expect(r.pids).toHaveLength(1)
    // cgroup v2 stats, as containerd reports on a cgroup v2 host; no limit reads as the largest uint64.
    expect(r.metrics).toMatchObject({
      type: 'io.containerd.cgroups.v2.Metrics',
      memoryLimit: '18446744073709551615',
      pidsLimit: '18446744073709551615',
      pids: 1,
    })
    expect(r.metrics.memoryUsage).toBeGreaterThan(0)
    expect(r.metrics.cpuUsageUsec).toBeGreaterThan(0)
    expect(r.memoryMaxAfterUpdate).toBe('67108864')
    expect(r.metricsAfterUpdate.memoryLimit).toBe('67108864')
    expect(r).toMatchObject({ longExit: 137, longDeleteExit: 137 })
    // Events in order, filtered by namespace and topic; Update publishes none.
    const life = ['/containers/create', '/tasks/create', '/tasks/start']
    const end = ['/tasks/exit', '/tasks/delete', '/containers/delete']
    const exec = ['/tasks/exec-added', '/tasks/exec-started', '/tasks/exit']
    expect(r.topics).toEqual([...life, ...end, ...life, ...exec, '/tasks/paused', '/tasks/resumed', ...exec, ...end])
    expect(r.exitTopics).toEqual(Array(4).fill('/tasks/exit'))
    // Import writes four blobs (layer, config, manifest, index) and the image; Unpack prepares and
    // commits the layer's snapshot; each container's snapshot is prepared and, with it, removed.
    const snapshot = ['/snapshot/prepare', '/snapshot/remove']
    expect(r.imageTopics).toEqual([
      ...Array(4).fill('/content/create'),
      '/images/create',
      '/snapshot/prepare',
      '/snapshot/commit',
      ...snapshot,
      ...snapshot,
    ])
    // TaskCreate names the rootfs mounts the client sent (its snapshot's) and the stdio it gave.
    expect(r.taskCreates).toEqual([
      { container: 'short', pidSet: true, rootfs: [expect.any(String)], stdout: true },
      { container: 'long', pidSet: true, rootfs: [expect.any(String)], stdout: false },
    ])
    expect(r.exits).toEqual([
      { container: 'short', id: 'short', status: 3 },
      { container: 'long', id: 'exec-1', status: 4 },
      { container: 'long', id: 'exec-2', status: 0 },
      { container: 'long', id: 'long', status: 137 },
    ])
  })

  test('a long-running task and an exec read their stdin line by line and end when it closes', async () => {
    const r = await go('stdio', 'stdio')
    expect(r.task).toEqual({ answered: [true, true, true], exit: 0, stdout: 'got one\ngot two\ngot three\nbye\n' })
    expect(r.exec).toEqual({ answered: [true, true], exit: 0, stdout: 'alpha\nbeta\n' })
    // cio.LogFile: both streams appended to the file; cio.BinaryIO: the task runs, its logging binary does not.
    expect(r).toMatchObject({ logFile: 0, logFileContent: 'out\nerr\n', binaryLog: 0, binaryRan: false })
    expect(r).toMatchObject({ ttyReady: true, tty: { exit: 0, output: 'ready\r\ntyped\r\nread typed\r\n' } })
    expect(r.pidsDuringExec).toEqual([{ isInit: true }, { isInit: false, info: 'containerd.runc.v1.ProcessDetails', execID: 'cat' }])
  })

  test('namespaces, leases, content, images and containers: labels, filters, resources', async () => {
    const r = await go('resources', 'stores')
    expect(r.namespaceLabels).toEqual({ team: 'b' })
    expect(r.namespacesBefore).toContain('labelled')
    expect(r.namespacesAfter ?? []).not.toContain('labelled')
    expect(r).toMatchObject({
      importLeaseFound: true,
      importLeaseExpires: false,
      importLeaseResources: { content: 4, 'snapshots/overlayfs': 1 },
      leaseCreatedAtSet: true,
      leaseFilters: [1, 1, 0],
      leaseResourcesAfterDelete: 1,
      leasesAtEnd: 0,
    })
    expect(r.leaseResources).toEqual([expect.stringMatching(/^content sha256:[0-9a-f]{64}$/), 'snapshots/overlayfs some-key'])
    expect(r).toMatchObject({
      manifestSizeMatches: true,
      manifestLabels: ['containerd.io/gc.ref.content.config', 'containerd.io/gc.ref.content.l.0'],
      contentUpdatedLabel: 'yes',
      contentKeptRefLabel: true,
      readAt: '"schemaVersion":',
      readerSize: true,
      manifestBytes: true,
    })
    expect(r.walk).toMatchObject({ withConfigRef: 1, byDigest: 1 })
    expect(r.walk.all).toBeGreaterThanOrEqual(3)
    expect(r).toMatchObject({
      images: [IMAGE],
      imageFilters: [1, 0],
      imageTargetMatches: true,
      imageConfigMediaType: 'application/vnd.oci.image.config.v1+json',
      imagePlatforms: 1,
      imageLabel: 'yes',
      deletedImage: { class: 'NotFound', error: 'image "docker.io/library/goclient:copy": not found' },
    })
    expect(r).toMatchObject({
      containerLabels: { team: 'a' },
      containerLabelsAfterSet: { team: 'b', tier: 'gold' },
      containerInfo: {
        image: IMAGE,
        runtime: 'io.containerd.runc.v2',
        createdAtSet: true,
        updatedLater: true,
        specType: 'types.containerd.io/opencontainers/runtime-spec/1/Spec',
      },
      extension: { type: 'fake-containerd.test/Note', owner: 'ops' },
      containersWithLabel: 1,
      specHasProcess: true,
    })
  })

  test("each wrong call gets containerd 1.6's errdefs class and text", async () => {
    const { outcomes, killedCreatedExit, killedCreatedDeleteExit } = await go('errors', 'errs')
    expect([killedCreatedExit, killedCreatedDeleteExit]).toEqual([137, 137])
    const idRule = '^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$'
    expect(outcomes).toEqual({
      'LoadContainer missing': { class: 'NotFound', error: 'container "missing" in namespace "errs": not found' },
      'GetImage missing': { class: 'NotFound', error: 'image "docker.io/library/missing:1": not found' },
      'ImageService Delete missing': { class: 'NotFound', error: 'image "docker.io/library/missing:1": not found' },
      'Content Info missing': { class: 'NotFound', error: expect.stringMatching(/^content digest sha256:[0-9a-f]{64}: not found$/) },
      'Snapshot Stat missing': { class: 'NotFound', error: 'snapshot missing does not exist: not found' },
      'Snapshot Stat unknown snapshotter': { class: 'InvalidArgument', error: 'snapshotter not loaded: nosuch: invalid argument' },
      'Lease Delete missing': { class: 'NotFound', error: 'lease "missing": not found' },
      'Lease Create duplicate': { class: 'AlreadyExists', error: 'lease "twice": already exists' },
      // containerd answers a namespace that holds nothing with no labels.
      'Namespace Labels missing': { class: 'ok' },
      'Namespace Delete missing': { class: 'NotFound', error: 'namespace "nosuchns": not found' },
      'Namespace Create invalid': { class: 'InvalidArgument', error: `identifier "bad name!" must match ${idRule}: invalid argument` },
      'NewContainer duplicate': { class: 'AlreadyExists', error: 'container "errs": already exists' },
      'NewContainer invalid id': { class: 'InvalidArgument', error: `identifier "bad id!" must match ${idRule}: invalid argument` },
      'NewContainer without spec': {
        class: 'InvalidArgument',
        error: 'create container failed validation: container.Spec must be set: invalid argument',
      },
      'NewContainer existing snapshot key': { class: 'AlreadyExists', error: 'snapshot "errs-snapshot": already exists' },
      'Snapshot Prepare existing key': { class: 'AlreadyExists', error: 'snapshot "errs-snapshot": already exists' },
      'Snapshot Prepare missing parent': {
        class: 'NotFound',
        error: 'parent snapshot sha256:0000000000000000000000000000000000000000000000000000000000000000 does not exist: not found',
      },
      'Snapshot Remove with children': { class: 'FailedPrecondition', error: 'cannot remove snapshot with child: failed precondition' },
      'Task without one': { class: 'NotFound', error: 'no running task found: task errs not found: not found' },
      'TaskService Get without one': { class: 'NotFound', error: 'task errs not found: not found' },
      'TaskService Get missing container': { class: 'NotFound', error: 'container "missing" in namespace "errs": not found' },
      'TaskService Start without one': { class: 'NotFound', error: 'task errs not found: not found' },
      'NewTask again': { class: 'AlreadyExists', error: 'task errs: already exists' },
      'Kill created': { class: 'ok' },
      'Kill created with SIGKILL': { class: 'ok' },
      'Exec in a created task': { class: 'ok' },
      'Pause created': { class: 'Unknown', error: 'cannot pause task in created state: unknown' },
      'Resume created': { class: 'Unknown', error: 'cannot resume task in created state: unknown' },
      'Start again': { class: 'Unknown', error: 'cannot start a running process: unknown' },
      'Delete running (client)': {
        class: 'FailedPrecondition',
        error: 'task must be stopped before deletion: running: failed precondition',
      },
      'TaskService Delete running': { class: 'Unknown', error: 'cannot delete a running process: unknown' },
      'Container Delete with a running task (client)': {
        class: 'FailedPrecondition',
        error: 'cannot delete running task errs: failed precondition',
      },
      // containerd deletes the record and leaves the task running; the fake keeps tasks on their containers.
      'ContainerService Delete with a running task': {
        class: 'FailedPrecondition',
        error: 'cannot delete container "errs": its task is running; kill and delete the task first: failed precondition',
      },
      'Resume running': { class: 'Unknown', error: 'cannot resume a running process: unknown' },
      'Pause paused': { class: 'Unknown', error: 'cannot pause a paused container: unknown' },
      'Exec in a paused task': { class: 'Unknown', error: 'cannot exec in a paused state: unknown' },
      'Start paused': { class: 'Unknown', error: 'cannot start a paused process: unknown' },
      'TaskService Delete paused': { class: 'Unknown', error: 'cannot delete a paused process: unknown' },
      'Exec duplicate id': { class: 'AlreadyExists', error: 'id e1: already exists' },
      'Exec invalid id': {
        class: 'InvalidArgument',
        error: `invalid exec id bad id!: identifier "bad id!" must match ${idRule}: invalid argument`,
      },
      'Kill created exec': { class: 'FailedPrecondition', error: 'process not created: failed precondition' },
      'Delete created exec': { class: 'ok' },
      'LoadProcess missing': { class: 'NotFound', error: 'no running process found: process does not exist nosuch: not found' },
      'Kill missing exec': { class: 'NotFound', error: 'process does not exist nosuch: not found' },
      'Kill missing container': { class: 'NotFound', error: 'container "missing" in namespace "errs": not found' },
      'DeleteProcess missing': { class: 'NotFound', error: 'process does not exist nosuch: not found' },
      'Kill stopped': { class: 'NotFound', error: 'process already finished: not found' },
      'Pause stopped': { class: 'Unknown', error: 'cannot pause a stopped container: unknown' },
      'Resume stopped': { class: 'Unknown', error: 'cannot resume a stopped container: unknown' },
      'Start stopped': { class: 'Unknown', error: 'cannot start a stopped process: unknown' },
      'Exec in a stopped task': { class: 'Unknown', error: 'cannot exec in a stopped state: unknown' },
      'Delete deleted': { class: 'NotFound', error: 'task errs not found: not found' },
      'Namespace Delete not empty': {
        class: 'FailedPrecondition',
        error:
          'namespace "errs" must be empty, but it still has images, blobs, containers, snapshots on "overlayfs" snapshotter: failed precondition',
      },
      // containerd lets a container's snapshot go; the container keeps only its key.
      "Snapshot Remove of a container's": { class: 'ok' },
      'Container Delete again': { class: 'NotFound', error: 'container "errs" in namespace "errs": not found' },
      'ContainerService Delete again': { class: 'NotFound', error: 'container errs: not found' },
      'ContainerService Delete in a namespace without containers': {
        class: 'NotFound',
        error: 'cannot delete container "x" in namespace "nocontainers": not found',
      },
      'Content Writer same ref': { class: 'Unavailable', error: expect.stringMatching(/^ref held locked for .*: unavailable$/) },
      'Content Commit wrong digest': {
        class: 'FailedPrecondition',
        error: expect.stringMatching(
          /^commit failed: unexpected commit digest sha256:[0-9a-f]{64}, expected sha256:[0-9a-f]{64}: failed precondition$/,
        ),
      },
    })
  })
})

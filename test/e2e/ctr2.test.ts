// Real ctr of containerd 2.1 against the fake: images move through the Transfer service over the
// Streaming service, pods show through the Sandbox Store. CI unpacks Debian sid's containerd into
// .ci/tools/containerd-2 and names its ctr in CTR2; without one the suite is skipped.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tarball, type TarMember } from '../containerd.js'
import { ctrCli } from '../ctr-cli.js'
import { ociLayout } from '../oci-layout.mjs'
import { eventually, harness, podConfig, runPod, type Harness } from '../helpers.js'

const CTR2 = [process.env.CTR2, '.ci/tools/containerd-2/usr/bin/ctr'].find((p): p is string => !!p && existsSync(p))
const run = promisify(execFile)

/** An OCI layout with one image (one layer holding /etc/greeting). */
function ociArchive(
  name: string,
  members: TarMember[] = [
    { name: 'etc/', type: '5' },
    { name: 'etc/greeting', data: 'hello from ctr 2\n' },
  ],
): Buffer {
  return tarball(ociLayout(name, tarball(members), { Cmd: ['sleep', '3600'] }))
}

/** An OCI layout whose index.json lists two platforms of one image, named by OCI's ref name only; and their manifests' digests. */
function twoPlatformArchive(): { archive: Buffer; amd: string; arm: string } {
  const amd = ociLayout('x:1', tarball([{ name: 'amd', data: 'amd64\n' }]), { Cmd: ['sleep', '1'] })
  const arm = ociLayout('x:1', tarball([{ name: 'arm', data: 'arm64\n' }]), { Cmd: ['sleep', '1'] })
  const index = (files: { name: string; data: Buffer }[]) => JSON.parse(files.find((f) => f.name === 'index.json')!.data.toString())
  const both = {
    schemaVersion: 2,
    manifests: [
      { ...index(amd).manifests[0], annotations: { 'org.opencontainers.image.ref.name': 'amd' } },
      {
        ...index(arm).manifests[0],
        platform: { architecture: 'arm64', os: 'linux' },
        annotations: { 'org.opencontainers.image.ref.name': 'arm' },
      },
    ],
  }
  const blobs = [...amd, ...arm].filter((f) => f.name.startsWith('blobs/'))
  const archive = tarball([amd[0]!, { name: 'index.json', data: Buffer.from(JSON.stringify(both)) }, ...blobs])
  return { archive, amd: both.manifests[0].digest as string, arm: both.manifests[1].digest as string }
}

describe.skipIf(!CTR2)('ctr 2.1 e2e', () => {
  let h: Harness
  const { ctr, ctrFails } = ctrCli(CTR2!, () => h.fake.socketPath)

  beforeAll(async () => {
    h = await harness()
  })
  afterAll(() => h?.close())

  test('version, plugins ls, namespaces', async () => {
    expect(await ctr('version')).toMatch(/Server:\s+Version:\s+v2\.\S*fake-containerd/)
    expect(await ctr('plugins', 'ls')).toMatch(/io\.containerd\.grpc\.v1\s+cri\s+linux\/amd64\s+ok/)
    await ctr('namespaces', 'create', 'two', 'gen=2')
    expect(await ctr('namespaces', 'ls')).toMatch(/^two\s+gen=2\s*$/m)
    await ctr('namespaces', 'rm', 'two')
  })

  test('images import through Transfer (progress, unpack), export and re-import byte-identical, tag, rm', async () => {
    const image = 'docker.io/library/two:1.0'
    const archive = join(h.logDir, 'two.tar')
    writeFileSync(archive, ociArchive(image))
    const out = await ctr('images', 'import', archive)
    expect(out).toMatch(new RegExp(`^${image.replace(/[.:/]/g, '\\$&')}\\s+saved`, 'm'))
    expect(out).toMatch(/application\/vnd\.oci\.image\.manifest\.v1\+json sha256:[0-9a-f]{64}/)
    expect(await ctr('images', 'ls')).toMatch(
      new RegExp(
        `^${image.replace(/[.:/]/g, '\\$&')}\\s+application/vnd\\.oci\\.image\\.manifest\\.v1\\+json\\s+sha256:[0-9a-f]{64}\\s+\\S+ \\S+\\s+linux/amd64`,
        'm',
      ),
    )
    expect(await ctr('snapshots', 'ls')).toMatch(/^sha256:[0-9a-f]{64}\s+Committed/m)

    const first = join(h.logDir, 'export-1.tar')
    const second = join(h.logDir, 'export-2.tar')
    await ctr('images', 'export', first, image)
    await ctr('images', 'rm', image)
    expect(await ctr('images', 'ls', '-q')).toBe('')
    await ctr('images', 'import', first)
    await ctr('images', 'export', second, image)
    expect(readFileSync(second).equals(readFileSync(first))).toBe(true)
    // The export is an OCI layout with Docker's manifest.json too.
    const names = (await run('tar', ['tf', first])).stdout.split('\n')
    expect(names).toEqual(expect.arrayContaining(['oci-layout', 'index.json', 'manifest.json', 'blobs/sha256/']))

    await ctr('images', 'tag', image, 'docker.io/library/two:tagged')
    expect((await ctr('images', 'ls', '-q')).split('\n')).toEqual(expect.arrayContaining([image, 'docker.io/library/two:tagged']))
    await ctr('images', 'rm', 'docker.io/library/two:tagged', image)
    expect(await ctr('images', 'ls', '-q')).toBe('')
  })

  test('images import names by prefix, keeps only the default platform unless --all-platforms, --digests adds digest names', async () => {
    const archive = join(h.logDir, 'two-platforms.tar')
    const { archive: bytes, amd, arm } = twoPlatformArchive()
    writeFileSync(archive, bytes)
    // Every manifest of index.json is named (ref name under the --base-name prefix), but only the
    // default platform's config and layer are kept (the other image keeps just its manifest, its
    // target): what no gc label reaches is collected once ctr's lease goes.
    await ctr('-n', 'plat', 'images', 'import', '--base-name', 'docker.io/library/multi', archive)
    expect((await ctr('-n', 'plat', 'images', 'ls', '-q')).trim().split('\n')).toEqual([
      'docker.io/library/multi:amd',
      'docker.io/library/multi:arm',
    ])
    const blobs = async (namespace: string): Promise<number> =>
      (await ctr('-n', namespace, 'content', 'ls', '-q')).trim().split('\n').length
    expect(await blobs('plat')).toBe(4)
    await ctr('-n', 'all', 'images', 'import', '--all-platforms', '--base-name', 'docker.io/library/multi', archive)
    expect(await blobs('all')).toBe(6)
    // ctr 2.1 sends skip_named_digest = !--skip-digest-for-named, so named manifests get a digest
    // name only with that flag.
    await ctr('-n', 'digests', 'images', 'import', '--digests', '--base-name', 'docker.io/library/multi', archive)
    expect(await ctr('-n', 'digests', 'images', 'ls', '-q')).not.toContain('@sha256:')
    await ctr(
      '-n',
      'digests',
      'images',
      'import',
      '--digests',
      '--skip-digest-for-named',
      '--base-name',
      'docker.io/library/multi',
      archive,
    )
    const listed = await ctr('-n', 'digests', 'images', 'ls', '-q')
    expect(listed).toContain(`docker.io/library/multi@${amd}\n`)
    expect(listed).toContain(`docker.io/library/multi@${arm}\n`)
  })

  test('run --rm, run -d, tasks ls/ps/exec/kill/pause/resume/metrics/rm, containers info/rm, events', async () => {
    const image = 'docker.io/library/runner:1'
    const archive = join(h.logDir, 'runner.tar')
    writeFileSync(archive, ociArchive(image))
    await ctr('images', 'import', archive)
    expect(await ctr('run', '--rm', image, 'once', 'cat', '/etc/greeting')).toBe('hello from ctr 2\n')

    const events = execFile(CTR2!, ['-a', h.fake.socketPath, 'events'])
    let seen = ''
    events.stdout!.on('data', (d) => (seen += d))
    await new Promise((r) => setTimeout(r, 300))
    await ctr('run', '-d', image, 'daemon')
    expect(await ctr('tasks', 'ls')).toMatch(/^daemon\s+\d+\s+RUNNING/m)
    expect(await ctr('tasks', 'ps', 'daemon')).toMatch(/^\d+\s+-/m)
    expect(await ctr('tasks', 'exec', '--exec-id', 'e1', 'daemon', 'cat', '/etc/greeting')).toBe('hello from ctr 2\n')
    expect(await ctr('tasks', 'metrics', 'daemon')).toMatch(/cpu\.usage_usec\s+\d+/)
    await ctr('tasks', 'pause', 'daemon')
    expect(await ctr('tasks', 'ls')).toMatch(/^daemon\s+\d+\s+PAUSED/m)
    await ctr('tasks', 'resume', 'daemon')
    expect(JSON.parse(await ctr('containers', 'info', 'daemon')).Spec.process.args).toEqual(['sleep', '3600'])
    expect(await ctrFails('tasks', 'rm', 'daemon')).toContain('task must be stopped before deletion: running')
    await ctr('tasks', 'kill', '-s', 'SIGKILL', 'daemon')
    await eventually(async () => ((await ctr('tasks', 'ls')).match(/^daemon\s+\d+\s+STOPPED/m) ? true : undefined), 'the task to stop')
    await ctr('tasks', 'rm', 'daemon')
    await ctr('containers', 'rm', 'daemon')
    await eventually(() => (seen.includes('/containers/delete') ? true : undefined), 'the events to arrive')
    events.kill()
    expect(seen).toMatch(/\/tasks\/start/)
    expect(seen).toMatch(/\/tasks\/exit/)
  })

  test('sandboxes ls shows a CRI pod as a podsandbox record; rm stops and removes it', async () => {
    const pod = await runPod(h, podConfig('two-pod'))
    expect(await ctr('-n', 'k8s.io', 'sandboxes', 'ls')).toMatch(new RegExp(`^${pod}\\s+.+\\s+io\\.containerd\\.runc\\.v2\\s*$`, 'm'))
    expect(await ctr('sandboxes', 'ls')).not.toContain(pod)
    await ctr('-n', 'k8s.io', 'sandboxes', 'rm', pod)
    expect(await ctr('-n', 'k8s.io', 'sandboxes', 'ls')).not.toContain(pod)
    expect((await h.runtime.ListPodSandbox({})).items.map((p) => p.id)).not.toContain(pod)
  })
})

// containerd 2.1's Go client (github.com/containerd/containerd/v2/client) against the fake: the
// program test/go/client2 imports and unpacks through Transfer, tags, runs a task with stdio, reads
// a CRI pod from the sandbox store, pushes to and pulls from a registry behind htpasswd (credentials
// from its helper over the auth stream) and classifies wrong calls, printing JSON asserted here. It needs
// Go 1.24 and the 2.1 client in a GOPATH (GO2 and GOPATH2, or where .ci/run unpacks them from Debian:
// .ci/tools/go-1.24, .ci/tools/gocode-2); skipped where they are missing, unless CI is set. Without
// docker-registry only the registry steps are left out.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tarball } from '../containerd.js'
import { buildGoPrograms, runGoProgram, type GoToolchain } from '../go-programs.js'
import { harness, podConfig, runPod, type Harness } from '../helpers.js'
import { ociLayout } from '../oci-layout.mjs'
import { hasRegistry, manifestDigest, startRegistry, type RunningRegistry } from '../registry-server.mjs'

const IMAGE = 'docker.io/library/goclient2:1.0'
const USER = { name: 'go2-user', password: 'go2-password' }

function toolchain(): GoToolchain {
  const go = [process.env.GO2, '.ci/tools/go-1.24/usr/lib/go-1.24/bin/go'].find((p): p is string => !!p && existsSync(p))
  const gopath = [process.env.GOPATH2, '.ci/tools/gocode-2/usr/share/gocode'].find(
    (p): p is string => !!p && existsSync(join(p, 'src/github.com/containerd/containerd/v2/client/client.go')),
  )
  const missing = [
    go ? undefined : 'Go 1.24 (GO2; Debian trixie: golang-1.24-go golang-1.24-src)',
    gopath
      ? undefined
      : "containerd 2.1's Go client in a GOPATH (GOPATH2; Debian sid: golang-github-containerd-containerd-dev with its dependencies)",
  ].filter(Boolean)
  return { go, gopath, missing: missing.length ? `missing ${missing.join(' and ')}` : undefined }
}

const go2 = toolchain()

test.runIf(!!process.env.CI && !!go2.missing)('CI has what the Go 2.1 client program needs', () => {
  throw new Error(`CI must run the Go 2.1 client program, but ${go2.missing}: .ci/run unpacks them with ../shared/tools/debian-newer.sh`)
})

describe.skipIf(!!go2.missing)('containerd 2.1 Go client', () => {
  let bin: string
  let work: string
  let h: Harness
  let reg: RunningRegistry | undefined

  beforeAll(async () => {
    ;[bin, h, reg] = await Promise.all([
      buildGoPrograms(go2, ['client2']),
      harness(),
      hasRegistry() ? startRegistry(USER) : Promise.resolve(undefined),
    ])
    work = mkdtempSync(join(tmpdir(), 'fc-go2-run-'))
    const layer = tarball([
      { name: 'etc/', type: '5' },
      { name: 'etc/greeting', data: 'hello from a 2.x import\n' },
    ])
    writeFileSync(join(work, 'image.tar'), tarball(ociLayout(IMAGE, layer, { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sleep', '3600'] })))
  }, 900_000)
  afterAll(async () => {
    await h?.close()
    await reg?.stop()
  })

  test('import and unpack through Transfer, tag, a task with stdio, the sandbox store, push and pull with credentials, errdefs classes, events', async () => {
    const pod = await runPod(h, podConfig('go2-pod'))
    const { report, code, stderr } = await runGoProgram(join(bin, 'client2'), [
      '--socket',
      h.fake.socketPath,
      '--namespace',
      'go2',
      '--archive',
      join(work, 'image.tar'),
      '--fifo-dir',
      work,
      '--pod',
      pod,
      ...(reg ? ['--registry', reg.host, '--user', USER.name, '--password', USER.password] : []),
    ])
    expect({ failed: report.failed, code, stderr }).toEqual({ failed: undefined, code: 0, stderr: '' })
    expect(report).toMatchObject({
      serving: true,
      progress: ['Importing', `saved ${IMAGE}`, 'Completed import'],
      imported: [IMAGE],
      unpacked: true,
      taggedSameTarget: true,
      taskExit: 0,
      taskStdout: 'hello from a 2.x import\n',
      taskStderr: '',
      podSandbox: { sandboxer: 'podsandbox', runtime: 'io.containerd.runc.v2' },
      sandboxGetMissing: 'NotFound',
      imageGetMissing: 'NotFound',
    })
    // Four blobs (index, manifest, config, layer), the imported image, then the tag.
    expect(report.topics).toEqual([...Array(4).fill('/content/create'), '/images/create', '/images/create'])
    if (!reg) return
    expect(report).toMatchObject({
      pullProgress: [
        `Resolving from OCI Registry (${reg.host}/go2/pushed:1)`,
        `Pulling from OCI Registry (${reg.host}/go2/pushed:1)`,
        `saved ${reg.host}/go2/pushed:1`,
        `Completed pull from OCI Registry (${reg.host}/go2/pushed:1)`,
      ],
      pulledSameTarget: true,
      pulledUnpacked: true,
      badCredentialsClass: 'Unknown',
      missingRepoClass: 'NotFound',
    })
    // The helper is asked for the registry's host at each challenge (Basic: at every 401, so
    // requests sent together before the first answer each ask).
    expect(new Set([...(report.pushAsked as string[]), ...(report.pullAsked as string[])])).toEqual(new Set([reg.host]))
    expect(report.badCredentialsError).toContain('401 Unauthorized')
    const auth = { ...reg, authorization: `Basic ${Buffer.from(`${USER.name}:${USER.password}`).toString('base64')}` }
    expect(await manifestDigest(auth, 'go2/pushed', '1')).toBe(report.pushedDigest)
  })
})

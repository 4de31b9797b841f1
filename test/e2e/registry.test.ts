// Against a real registry (Debian's docker-registry on 127.0.0.1, one open, one behind htpasswd):
// the test pushes its own image (a static busybox and a file in one layer) as an OCI index for two
// platforms and as a single manifest, then real crictl pulls it by tag and by digest, with and
// without credentials, runs a container of it whose entrypoint cats the file, and removes it; and
// real ctr 1.6 pulls (fetching itself, writing through Content and Diff) and pushes (reading the
// blobs back through Content) with and without --user, the digests in the registry matching the store.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { sha256, tarball } from '../containerd.js'
import { crictlPodFile, eventually, harness, type Harness } from '../helpers.js'
import { hasOpenssl, makePki, type Pki } from '../registry-tls.js'
import { hasRegistry, manifestDigest, pushBlob, pushManifest, startRegistry, type RunningRegistry } from '../registry-server.mjs'

const run = promisify(execFile)
const CRICTLS = (process.env.CRICTL ?? '').split(',').filter(Boolean)
const CTR = process.env.CTR ?? (existsSync('/usr/bin/ctr') ? '/usr/bin/ctr' : undefined)
const BUSYBOX = '/bin/busybox'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const USER = { name: 'e2e-user', password: 'e2e-password' }
const HELLO = 'hello from the registry image\n'

interface Pushed {
  index: string
  manifest: string
  config: string
}

/** Pushes the image to `repo`: an index (amd64 + arm64) under tag "multi", the amd64 manifest alone under "single". */
async function pushImage(reg: RunningRegistry, repo: string): Promise<Pushed> {
  const tar = tarball([
    { name: 'bin/', type: '5', mode: 0o755 },
    { name: 'bin/busybox', data: readFileSync(BUSYBOX), mode: 0o755 },
    { name: 'bin/sh', type: '2', linkname: 'busybox' },
    { name: 'bin/cat', type: '2', linkname: 'busybox' },
    { name: 'bin/sleep', type: '2', linkname: 'busybox' },
    { name: 'srv/', type: '5', mode: 0o755 },
    { name: 'srv/hello.txt', data: HELLO, mode: 0o644 },
  ])
  const layer = gzipSync(tar)
  const diffId = sha256(tar)
  await pushBlob(reg, repo, layer)
  const manifests: { digest: string; size: number; arch: string; config: string }[] = []
  for (const arch of ['amd64', 'arm64']) {
    const config = Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        config: { Env: ['PATH=/bin'], Entrypoint: ['/bin/sh', '-c'], Cmd: ['cat /srv/hello.txt; exec sleep 3600'] },
        rootfs: { type: 'layers', diff_ids: [diffId] },
      }),
    )
    await pushBlob(reg, repo, config)
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
      }),
    )
    const digest = await pushManifest(reg, repo, sha256(manifest), OCI_MANIFEST, manifest)
    if (arch === 'amd64') await pushManifest(reg, repo, 'single', OCI_MANIFEST, manifest)
    manifests.push({ digest, size: manifest.length, arch, config: sha256(config) })
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: manifests.map((m) => ({
        mediaType: OCI_MANIFEST,
        digest: m.digest,
        size: m.size,
        platform: { os: 'linux', architecture: m.arch },
      })),
    }),
  )
  const amd = manifests[0] as (typeof manifests)[number]
  return { index: await pushManifest(reg, repo, 'multi', OCI_INDEX, index), manifest: amd.digest, config: amd.config }
}

describe.skipIf(!hasRegistry())('a real registry', () => {
  let open: RunningRegistry
  let locked: RunningRegistry
  let openImage: Pushed
  let lockedImage: Pushed

  beforeAll(async () => {
    open = await startRegistry()
    locked = await startRegistry(USER)
    openImage = await pushImage(open, 'e2e/box')
    lockedImage = await pushImage(locked, 'e2e/box')
  }, 60_000)
  afterAll(async () => {
    await open?.stop()
    await locked?.stop()
  })

  describe.each(CRICTLS)('crictl (%s)', (CRICTL) => {
    let h: Harness
    const crictl = async (...args: string[]) =>
      (await run(CRICTL, ['-r', h.fake.address, '-i', h.fake.address, '--timeout', '30s', ...args], { timeout: 60_000 })).stdout
    const crictlFails = async (...args: string[]) => {
      try {
        await crictl(...args)
      } catch (err) {
        // crictl quotes the server's text: its quotes come escaped.
        return (err as { stderr: string }).stderr.replace(/\\"/g, '"')
      }
      throw new Error(`crictl ${args.join(' ')} succeeded`)
    }
    beforeAll(async () => {
      h = await harness({ pullPolicy: 'registry' })
    })
    afterAll(() => h?.close())

    test('pull by tag (an OCI index) and by digest: the ids and repo digests containerd gives', async () => {
      const tag = `${open.host}/e2e/box:multi`
      expect(await crictl('pull', tag)).toContain(`Image is up to date for ${openImage.config}`)
      const byDigest = `${open.host}/e2e/box@${openImage.manifest}`
      expect(await crictl('pull', byDigest)).toContain(openImage.config)
      const images = JSON.parse(await crictl('images', '-o', 'json')).images as { id: string; repoTags: string[]; repoDigests: string[] }[]
      const image = images.find((i) => i.id === openImage.config)
      expect(image?.repoTags).toEqual([tag])
      expect(image?.repoDigests.sort()).toEqual([`${open.host}/e2e/box@${openImage.index}`, byDigest].sort())
      await crictl('rmi', tag)
      expect(JSON.parse(await crictl('images', '-o', 'json')).images.some((i: { id: string }) => i.id === openImage.config)).toBe(false)
    })

    test('a registry with users: refused without credentials, pulled with --creds and with --auth', async () => {
      const ref = `${locked.host}/e2e/box:single`
      expect(await crictlFails('pull', ref)).toContain(
        `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`,
      )
      expect(await crictlFails('pull', '--creds', `${USER.name}:wrong`, ref)).toContain('401 Unauthorized')
      expect(await crictl('pull', '--creds', `${USER.name}:${USER.password}`, ref)).toContain(lockedImage.config)
      await crictl('rmi', ref)
      const auth = Buffer.from(`${USER.name}:${USER.password}`).toString('base64')
      expect(await crictl('pull', '--auth', auth, ref)).toContain(lockedImage.config)
    })

    test('a container of the pulled image runs its entrypoint, which cats the file from the layer', async () => {
      const ref = `${open.host}/e2e/box:single`
      await crictl('pull', ref)
      const podFile = crictlPodFile(h.logDir, `reg-${Math.random().toString(36).slice(2, 7)}`)
      const ctrFile = join(h.logDir, 'reg-ctr.json')
      writeFileSync(ctrFile, JSON.stringify({ metadata: { name: 'box' }, image: { image: ref }, log_path: 'box/0.log', linux: {} }))
      const pod = (await crictl('runp', podFile)).trim()
      const id = (await crictl('create', pod, ctrFile, podFile)).trim()
      await crictl('start', id)
      const logs = await eventually(
        async () => {
          const out = await crictl('logs', id)
          return out === '' ? undefined : out
        },
        'the entrypoint wrote the file',
        20_000,
      )
      expect(logs).toBe(HELLO)
      expect((await crictl('exec', '-s', id, 'cat', '/srv/hello.txt')).trim()).toBe(HELLO.trim())
      await crictl('rm', '-f', id)
      await crictl('stopp', pod)
      await crictl('rmp', pod)
      await crictl('rmi', ref)
    })
  })

  // A third registry serves the open one's storage over TLS, with a certificate for 127.0.0.1 from a
  // CA made here. Its hosts.toml names it by https:// (a loopback registry is otherwise plain HTTP to
  // containerd 1.6, and never verified), so its certificate is checked as any registry's is.
  describe.skipIf(!hasOpenssl())('a registry over TLS', () => {
    let secure: RunningRegistry
    let pki: Pki
    let hostsRoot: string
    beforeAll(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fc-e2e-tls-'))
      pki = makePki(dir)
      secure = await startRegistry(undefined, { tls: { certificate: pki.serverCert, key: pki.serverKey }, storage: open.storage })
      hostsRoot = join(dir, 'hosts')
      mkdirSync(join(hostsRoot, secure.host.replace(/:(\d+)$/, '_$1_')), { recursive: true })
    }, 60_000)
    afterAll(() => secure?.stop())
    const hostsToml = (extra: string) =>
      writeFileSync(join(hostsRoot, secure.host.replace(/:(\d+)$/, '_$1_'), 'hosts.toml'), `server = "${secure.origin}"\n${extra}`)

    test.each(CRICTLS)('crictl (%s): untrusted without ca, pulled with ca = ..., pulled with skip_verify = true', async (CRICTL) => {
      const h = await harness({ pullPolicy: 'registry', registryConfigPath: hostsRoot })
      const crictl = async (...args: string[]) =>
        (await run(CRICTL, ['-r', h.fake.address, '-i', h.fake.address, '--timeout', '30s', ...args], { timeout: 60_000 })).stdout
      try {
        const ref = `${secure.host}/e2e/box:single`
        hostsToml('')
        const refused = await crictl('pull', ref).then(
          () => 'pulled',
          (err: { stderr: string }) => err.stderr.replace(/\\"/g, '"'),
        )
        expect(refused).toContain(
          `failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": failed to do request: Head "${secure.origin}/v2/e2e/box/manifests/single": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
        )
        hostsToml(`ca = "${pki.ca}"\n`)
        expect(await crictl('pull', ref)).toContain(openImage.config)
        await crictl('rmi', ref)
        hostsToml('skip_verify = true\n')
        expect(await crictl('pull', ref)).toContain(openImage.config)
        expect(await crictl('inspecti', '-o', 'json', ref)).toContain(openImage.manifest)
      } finally {
        await h.close()
      }
    })
  })

  describe.skipIf(!CTR)('ctr 1.6', () => {
    let h: Harness
    const ctr = async (...args: string[]) =>
      (await run(CTR as string, ['-a', h.fake.socketPath, '-n', 'e2e', ...args], { timeout: 60_000 })).stdout
    beforeAll(async () => {
      h = await harness()
    })
    afterAll(() => h?.close())

    test("images pull --plain-http, then push to another repository: the registry holds the store's digests", async () => {
      await ctr('images', 'pull', '--plain-http', `${open.host}/e2e/box:multi`)
      const listed = await ctr('images', 'ls')
      expect(listed).toContain(`${open.host}/e2e/box:multi`)
      expect(listed).toContain(openImage.index)
      const content = await ctr('content', 'ls', '-q')
      for (const d of [openImage.index, openImage.manifest, openImage.config]) expect(content).toContain(d)
      // The snapshot of the unpacked layer is there: a container of the image reads the file.
      await ctr('run', '--rm', `${open.host}/e2e/box:multi`, 'e2e-cat', 'cat', '/srv/hello.txt').then((out) => expect(out).toBe(HELLO))

      await ctr('images', 'pull', '--plain-http', `${open.host}/e2e/box:single`)
      await ctr('images', 'push', '--plain-http', `${open.host}/e2e/pushed:v1`, `${open.host}/e2e/box:single`)
      expect(await manifestDigest(open, 'e2e/pushed', 'v1')).toBe(openImage.manifest)
    })

    test('--user: pull and push against the registry with users', async () => {
      const user = `${USER.name}:${USER.password}`
      await ctr('images', 'pull', '--plain-http', '--user', user, `${locked.host}/e2e/box:single`)
      expect(await ctr('images', 'ls', '-q')).toContain(`${locked.host}/e2e/box:single`)
      await ctr('images', 'push', '--plain-http', '--user', user, `${locked.host}/e2e/copy:v2`, `${locked.host}/e2e/box:single`)
      expect(await manifestDigest(locked, 'e2e/copy', 'v2')).toBe(lockedImage.manifest)
      const refused = await run(CTR as string, [
        '-a',
        h.fake.socketPath,
        '-n',
        'e2e',
        'images',
        'pull',
        '--plain-http',
        `${locked.host}/e2e/box:multi`,
      ]).catch((err: { stderr: string }) => err.stderr)
      expect(refused).toContain('401 Unauthorized')
    })
  })
})

// The registry binary is what .ci/run installs; a CI run without it would skip all of the above.
test.runIf(process.env.CI && !hasRegistry())('CI installs docker-registry for the registry e2e suite', () => {
  throw new Error('docker-registry is not installed: .ci/run installs it (apt package docker-registry)')
})

// Real ctr of containerd 2.1 pulling from and pushing to a real registry (Debian's docker-registry on
// 127.0.0.1, one open and one behind htpasswd) through the Transfer service: ctr sends OCIRegistry
// and ImageStore objects and answers the server's credential questions on its auth stream. The test
// imports an image from an archive it builds, pushes it, checks the registry serves the digests the
// fake's store has, removes it and pulls it back (unpacked: a container of it runs), and checks the
// errors of a missing repository and of refused credentials.
import { createHash } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { tarball } from '../containerd.js'
import { ctrCli } from '../ctr-cli.js'
import { imageBlobs, ociLayout } from '../oci-layout.mjs'
import { harness, type Harness } from '../helpers.js'
import { hasRegistry, manifestDigest, pushBlob, pushManifest, startRegistry, type RunningRegistry } from '../registry-server.mjs'

const CTR2 = [process.env.CTR2, '.ci/tools/containerd-2/usr/bin/ctr'].find((p): p is string => !!p && existsSync(p))
/** ctr redraws its progress table at each event: the last table, up to its status line. */
const lastFrame = (out: string): string => {
  const frames = out.split(/(?<=\(\d[^)]*\/s\)\t?\n)/)
  return frames.filter((f) => f.trim() !== '').at(-1) ?? ''
}
const USER = { name: 'ctr2-user', password: 'ctr2-password' }
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

/** The image's manifest digest as `ctr images ls` shows it. */
async function listedDigest(ctr: (...args: string[]) => Promise<string>, name: string): Promise<string | undefined> {
  const line = (await ctr('images', 'ls')).split('\n').find((l) => l.startsWith(`${name} `))
  return /sha256:[0-9a-f]{64}/.exec(line ?? '')?.[0]
}

describe.skipIf(!CTR2 || !hasRegistry())('ctr 2.1 pull and push through Transfer', () => {
  let h: Harness
  let open: RunningRegistry
  let locked: RunningRegistry
  const { ctr, ctrFails } = ctrCli(CTR2!, () => h.fake.socketPath)

  beforeAll(async () => {
    h = await harness()
    open = await startRegistry()
    locked = await startRegistry(USER)
  }, 60_000)
  afterAll(async () => {
    await h?.close()
    await open?.stop()
    await locked?.stop()
  })

  /** Imports a one-layer image named `name` whose /etc/greeting says `text`. */
  async function importImage(name: string, text: string): Promise<void> {
    const archive = join(h.logDir, `${text.replace(/\W/g, '')}.tar`)
    const layer = tarball([
      { name: 'etc/', type: '5' },
      { name: 'etc/greeting', data: text },
    ])
    writeFileSync(archive, tarball(ociLayout(name, layer, { Cmd: ['cat', '/etc/greeting'] })))
    await ctr('images', 'import', archive)
  }

  test('push to an open registry, remove, pull back (progress lines, unpacked, runs); digests match the store', async () => {
    const name = `${open.host}/ctr2/greeting:1`
    await importImage(name, 'pushed by ctr 2\n')
    const local = await listedDigest(ctr, name)
    expect(local).toMatch(/^sha256:/)

    const pushed = lastFrame(await ctr('images', 'push', '--plain-http', name))
    // The pushed target keeps its OCI ref name ("1", from the archive): containerd keys it "1@<digest>".
    expect(pushed).toMatch(/└──manifest 1@sha256:[0-9a-f]+\s+complete/)
    expect(pushed).toMatch(/└──layer \([0-9a-f]{12}\)\s+complete/)
    expect(pushed).toMatch(new RegExp(`^Completed push to OCI Registry \\(${name.replace(/[.:/]/g, '\\$&')}\\)\\s+elapsed:`, 'm'))
    expect(await manifestDigest(open, 'ctr2/greeting', '1')).toBe(local)
    // Pushing again finds every blob there already.
    expect(await ctr('images', 'push', '--plain-http', name)).toMatch(/already exists/)

    await ctr('images', 'rm', name)
    expect(await listedDigest(ctr, name)).toBeUndefined()
    const pulled = lastFrame(await ctr('images', 'pull', '--plain-http', name))
    expect(pulled).toMatch(new RegExp(`^${name.replace(/[.:/]/g, '\\$&')}\\s+saved`, 'm'))
    // The layer is listed; its last state may be one event behind: ctr reads progress on its own
    // goroutine and stops at Transfer's answer (containerd 2.1's ctr has that race too), so that the
    // layer is all there is proved by the digest below and by the container that runs from it.
    expect(pulled).toMatch(/└──layer \([0-9a-f]{12}\)\s+(complete|waiting|downloading)/)
    expect(pulled).toMatch(/^Completed pull from OCI Registry \(.+\)\s+elapsed:/m)
    expect(await listedDigest(ctr, name)).toBe(local)

    const out = await ctr('run', '--rm', name, 'greeter')
    expect(out).toBe('pushed by ctr 2\n')
  })

  test('pull and push with --user against an htpasswd registry: the credentials go over the auth stream', async () => {
    const name = `${locked.host}/ctr2/locked:1`
    await importImage(name, 'behind a password\n')
    const local = await listedDigest(ctr, name)
    const user = `${USER.name}:${USER.password}`
    await ctr('images', 'push', '--plain-http', '--user', user, name)
    const auth = { ...locked, authorization: `Basic ${Buffer.from(user).toString('base64')}` }
    expect(await manifestDigest(auth, 'ctr2/locked', '1')).toBe(local)

    await ctr('images', 'rm', name)
    await ctr('images', 'pull', '--plain-http', '--user', user, name)
    expect(await listedDigest(ctr, name)).toBe(local)
  })

  test('--platform linux/amd64 --platform linux/arm64: both unpacked, the third platform fetched without its layer (as containerd 2.1)', async () => {
    // An index of three one-layer images, pushed as a registry client would.
    const repo = 'ctr2/multi'
    const manifests = []
    const blobs: Record<string, { config: string; layer: string; diffId: string }> = {}
    for (const architecture of ['amd64', 'arm64', 's390x']) {
      const image = imageBlobs([tarball([{ name: `hello-${architecture}`, data: `${architecture}\n` }])], { Cmd: ['sh'] })
      const config = Buffer.from(JSON.stringify({ ...JSON.parse(image.config.toString()), architecture }))
      const manifest = Buffer.from(
        JSON.stringify({
          ...JSON.parse(image.manifest.toString()),
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        }),
      )
      await pushBlob(open, repo, image.layers[0]!)
      await pushBlob(open, repo, config)
      const digest = await pushManifest(open, repo, sha256(manifest), OCI_MANIFEST, manifest)
      manifests.push({ mediaType: OCI_MANIFEST, digest, size: manifest.length, platform: { os: 'linux', architecture } })
      blobs[architecture] = { config: sha256(config), layer: sha256(image.layers[0]!), diffId: image.diffIds[0]! }
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }))
    await pushManifest(open, repo, '1', OCI_INDEX, index)
    const name = `${open.host}/${repo}:1`

    const out = lastFrame(await ctr('images', 'pull', '--plain-http', '--platform', 'linux/amd64', '--platform', 'linux/arm64', name))
    expect(out).toMatch(new RegExp(`^${name.replace(/[.:/]/g, '\\$&')}\\s+saved`, 'm'))
    expect(await listedDigest(ctr, name)).toBe(sha256(index))
    const snapshots = await ctr('snapshots', 'ls')
    for (const a of ['amd64', 'arm64']) expect(snapshots).toMatch(new RegExp(`^${blobs[a]!.diffId}\\s+Committed`, 'm'))
    expect(snapshots).not.toContain(blobs.s390x!.diffId)
    const content = await ctr('content', 'ls')
    // (Its manifest's gc label still names the layer: only a line of its own would mean it is here.)
    expect(content).toMatch(new RegExp(`^${blobs.s390x!.config}\\s`, 'm'))
    expect(content).not.toMatch(new RegExp(`^${blobs.s390x!.layer}\\s`, 'm'))
    expect(content).toMatch(new RegExp(`^${blobs.arm64!.config}\\s.*containerd.io/gc.ref.snapshot.overlayfs=${blobs.arm64!.diffId}`, 'm'))
    // An unpack on a snapshotter the transfer service does not unpack into: containerd 2.1's refusal.
    await ctr('images', 'rm', name)
    expect(await ctrFails('images', 'pull', '--plain-http', '--snapshotter', 'native', name)).toContain(
      'unable to initialize unpacker: no unpack platforms defined: invalid argument',
    )
  })

  test('refused credentials and a missing repository fail with the registry answer, nothing stored', async () => {
    const name = `${locked.host}/ctr2/locked:1`
    const wrong = await ctrFails('images', 'pull', '--plain-http', '--user', 'ctr2-user:wrong', `${locked.host}/ctr2/other:1`)
    expect(wrong).toMatch(/failed to resolve image: .*401 Unauthorized/)
    const none = await ctrFails('images', 'pull', '--plain-http', `${open.host}/ctr2/missing:1`)
    expect(none).toContain(`failed to resolve image: ${open.host}/ctr2/missing:1: not found`)
    expect(await ctr('images', 'ls')).not.toContain('missing')
    const denied = await ctrFails('images', 'push', '--plain-http', '--user', 'ctr2-user:wrong', name)
    expect(denied).toMatch(/unexpected status from HEAD request to http:\/\/.+: 401 Unauthorized/)
    // Without --user ctr answers the auth stream with nothing: containerd 2.1's ErrInvalidAuthorization.
    const anonymous = await ctrFails('images', 'pull', '--plain-http', name)
    expect(anonymous).toContain(
      'failed to resolve image: pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials',
    )
    const anonymousPush = await ctrFails('images', 'push', '--plain-http', name)
    expect(anonymousPush).toContain(
      'push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials',
    )
    const unknown = await ctrFails('images', 'push', '--plain-http', `${open.host}/ctr2/never:1`)
    expect(unknown).toContain(`image "${open.host}/ctr2/never:1": not found`)
  })
})

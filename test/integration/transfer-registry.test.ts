// Transfer push and pull against a registry the test shapes (test/push-registry.ts), as containerd
// 2.1's local transfer service does them: the push order (blobs, manifests, the index last) and
// paths (getManifestPath), credentials only where the POST went, a failed push stopping its other
// uploads, one credential question for concurrent 401s, an empty Basic answer refused, every
// platform fetched and nothing unpacked unless asked, every platform fetched with its layers unpacked
// (all_metadata: the others' manifests and configs only), no CRI progress timeout, a client that goes
// away while a question is open; and an import's unpacker, which follows the pull's rules.
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { collect, containerdClients, type ContainerdClients } from '../../src/client.js'
import { decodeMessage } from '../../src/proto/load.js'
import { tarball } from '../containerd.js'
import { imageBlobs } from '../oci-layout.mjs'
import { eventually, grpcError, harness, subscribe, type Harness } from '../helpers.js'
import { PushRegistry, sha256 } from '../push-registry.js'
import { T, any, openTransferStream, progressEvents, sendBytes, type TransferStream } from '../transfer-streams.js'

const USER = { name: 'pusher', password: 'push-secret' }
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const INDEX = 'application/vnd.oci.image.index.v1+json'
const amd64 = { os: 'linux', architecture: 'amd64' }

let h: Harness
let ctr: ContainerdClients
let reg: PushRegistry
let elsewhere: PushRegistry | undefined
beforeEach(async () => {
  h = await harness()
  ctr = containerdClients(h.fake.address, 'default')
  reg = await new PushRegistry().start()
})
afterEach(async () => {
  ctr.close()
  await h.close()
  await reg.stop()
  await elsewhere?.stop()
  elsewhere = undefined
})

/** An OCI layout of an index over one image per architecture, each with `layers` layers. */
function multiPlatform(
  name: string,
  layers = 1,
  architectures = ['amd64', 'arm64'],
): { archive: Buffer; index: Buffer; manifests: Buffer[]; blobs: Buffer[]; images: ReturnType<typeof imageBlobs>[] } {
  const images = architectures.map((architecture) => {
    const blobs = imageBlobs(
      Array.from({ length: layers }, (_, i) => tarball([{ name: `f${i}`, data: `${architecture} ${i}\n` }])),
      { Env: [`ARCH=${architecture}`] },
    )
    // The config names the image's own architecture (the unpacker matches on it), the manifest that config.
    const config = Buffer.from(JSON.stringify({ ...JSON.parse(blobs.config.toString()), architecture }))
    const manifest = JSON.parse(blobs.manifest.toString())
    manifest.config = { ...manifest.config, digest: sha256(config), size: config.length }
    return { architecture, ...blobs, config, manifest: Buffer.from(JSON.stringify(manifest)) }
  })
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: images.map((i) => ({
        mediaType: MANIFEST,
        digest: sha256(i.manifest),
        size: i.manifest.length,
        platform: { os: 'linux', architecture: i.architecture },
      })),
    }),
  )
  const blob = (b: Buffer) => ({ name: `blobs/sha256/${sha256(b).slice(7)}`, data: b })
  const top = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: INDEX, digest: sha256(index), size: index.length, annotations: { 'io.containerd.image.name': name } }],
    }),
  )
  const blobs = images.flatMap((i) => [i.config, ...i.layers])
  return {
    archive: tarball([
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: top },
      blob(index),
      ...images.flatMap((i) => [blob(i.manifest), blob(i.config), ...i.layers.map(blob)]),
    ]),
    index,
    manifests: images.map((i) => i.manifest),
    blobs,
    images,
  }
}

/** Imports an archive into the store, every platform, nothing unpacked. */
async function importArchive(id: string, archive: Buffer): Promise<void> {
  const input = await openTransferStream(ctr, id)
  const done = ctr.transfer.Transfer({
    source: any(`${T}ImageImportStream`, { stream: id }),
    destination: any(`${T}ImageStore`, { name: '', extra_references: [{ name: 'imported', is_prefix: true, allow_overwrite: true }] }),
  })
  await sendBytes(input, archive)
  await done
}

/** Answers every credential question on `stream` with `answer` (after `delayMs`); the questions asked. */
function answering(stream: TransferStream, answer: Record<string, unknown>, delayMs = 0): Promise<Record<string, unknown>[]> {
  return (async () => {
    const asked: Record<string, unknown>[] = []
    for (let m = await stream.next(); m; m = await stream.next()) {
      asked.push(decodeMessage(`${T}AuthRequest`, m.value))
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs))
      stream.call.write(any(`${T}AuthResponse`, answer))
    }
    return asked
  })()
}

const registrySpec = (reference: string, auth?: string) =>
  any(`${T}OCIRegistry`, { reference, resolver: { default_scheme: 'http', ...(auth ? { auth_stream: auth } : {}) } })

describe('Transfer push', () => {
  test('a multi-platform index: every blob first, then the manifests, the index last; all under the tag, the index left on it', async () => {
    const name = `${reg.host}/multi/app:1`
    const image = multiPlatform(name, 2)
    await importArchive('import-multi', image.archive)
    await ctr.transfer.Transfer({ source: any(`${T}ImageStore`, { name }), destination: registrySpec(name) })
    const order = reg.seen.filter((s) => s.method === 'PUT').map((s) => (s.path.includes('/manifests/') ? 'manifest' : 'blob'))
    expect(order).toEqual([...image.blobs.map(() => 'blob'), 'manifest', 'manifest', 'manifest'])
    const manifestPuts = reg.seen.filter((s) => s.method === 'PUT' && s.path.includes('/manifests/')).map((s) => s.path)
    expect(manifestPuts).toEqual(Array(3).fill('/v2/multi/app/manifests/1'))
    // The last PUT under the tag is the index.
    expect(reg.manifests.get('multi/app:1')?.body.equals(image.index)).toBe(true)
    for (const b of image.blobs) expect(reg.blobs.get(sha256(b))?.equals(b)).toBe(true)
  })

  test('"name:tag@digest" puts the target under the tag when the digest is the target\'s, else under the digest', async () => {
    const name = `${reg.host}/pinned/app:1`
    const image = multiPlatform(name)
    await importArchive('import-pinned', image.archive)
    const digest = sha256(image.index)
    await ctr.images.Create({
      image: { name: `${reg.host}/pinned/app:2@${digest}`, target: (await ctr.images.Get({ name })).image!.target },
    })
    await ctr.transfer.Transfer({
      source: any(`${T}ImageStore`, { name: `${reg.host}/pinned/app:2@${digest}` }),
      destination: registrySpec(`${reg.host}/pinned/app:2@${digest}`),
    })
    const puts = reg.seen.filter((s) => s.method === 'PUT' && s.path.includes('/manifests/')).map((s) => s.path)
    expect(puts).toEqual([...image.manifests.map((m) => `/v2/pinned/app/manifests/${sha256(m)}`), '/v2/pinned/app/manifests/2'])
  })

  test('an upload moved to another host gets no credentials (containerd drops the authorizer); the registry itself gets them', async () => {
    elsewhere = await new PushRegistry().start()
    reg.user = USER
    reg.uploadOrigin = elsewhere.origin
    const name = `${reg.host}/moved/app:1`
    await importArchive('import-moved', multiPlatform(name).archive)
    const creds = await openTransferStream(ctr, 'creds-moved')
    const asked = answering(creds, { authType: 1, username: USER.name, secret: USER.password })
    await ctr.transfer.Transfer({ source: any(`${T}ImageStore`, { name }), destination: registrySpec(name, 'creds-moved') })
    await asked
    const uploads = elsewhere.seen.filter((s) => s.method === 'PUT')
    expect(uploads.length).toBeGreaterThan(0)
    expect(uploads.map((s) => s.authorization)).toEqual(uploads.map(() => undefined))
    const basic = `Basic ${Buffer.from(`${USER.name}:${USER.password}`).toString('base64')}`
    expect(reg.seen.filter((s) => s.method === 'POST').every((s) => s.authorization === basic)).toBe(true)
  })

  test('a failed upload ends the push: the uploads still running are abandoned and no other starts', async () => {
    const name = `${reg.host}/broken/app:1`
    const image = multiPlatform(name, 4)
    await importArchive('import-broken', image.archive)
    const [first, ...rest] = image.blobs
    reg.fail.add(sha256(first!))
    for (const b of rest) reg.hang.add(sha256(b))
    const err = await grpcError(ctr.transfer.Transfer({ source: any(`${T}ImageStore`, { name }), destination: registrySpec(name) }))
    expect(err.code).toBe(2)
    expect(err.details).toMatch(/^unexpected status from PUT request to http:\/\/.+: 500 Internal Server Error$/)
    // Every upload that was left hanging is given up by the server; nothing is sent after.
    await eventually(() => (reg.abandoned === reg.hung ? true : undefined), 'the hanging uploads abandoned')
    const seen = reg.seen.length
    await new Promise((r) => setTimeout(r, 300))
    expect(reg.seen.length).toBe(seen)
    expect(reg.hung).toBeLessThan(rest.length)
  })

  test('concurrent 401s from a Bearer registry ask the client once, and fetch one token per scope', async () => {
    reg.user = USER
    reg.bearer = true
    const name = `${reg.host}/bearer/app:1`
    await importArchive('import-bearer', multiPlatform(name, 3).archive)
    const creds = await openTransferStream(ctr, 'creds-bearer')
    const asked = answering(creds, { authType: 1, username: USER.name, secret: USER.password }, 200)
    await ctr.transfer.Transfer({ source: any(`${T}ImageStore`, { name }), destination: registrySpec(name, 'creds-bearer') })
    expect(await asked).toEqual([{ host: reg.host, reference: name, wwwauthenticate: [] }])
    expect(reg.count('GET', /^\/token/)).toBe(1)
  })

  test('an empty Basic answer is refused at the upload: push access denied, no basic auth credentials', async () => {
    reg.user = USER
    const name = `${reg.host}/anon/app:1`
    await importArchive('import-anon', multiPlatform(name).archive)
    const creds = await openTransferStream(ctr, 'creds-anon')
    void answering(creds, { authType: 0 })
    const err = await grpcError(
      ctr.transfer.Transfer({ source: any(`${T}ImageStore`, { name }), destination: registrySpec(name, 'creds-anon') }),
    )
    expect([err.code, err.details]).toEqual([
      2,
      'push access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials',
    ])
  })
})

describe('Transfer pull', () => {
  /** Puts a multi-platform image in the registry under `repo:1`; its archive's parts. */
  function seed(repo: string, architectures?: string[]): ReturnType<typeof multiPlatform> {
    const image = multiPlatform(`${reg.host}/${repo}:1`, 1, architectures)
    for (const b of image.blobs) reg.blobs.set(sha256(b), b)
    for (const m of image.manifests) reg.manifests.set(`${repo}@${sha256(m)}`, { mediaType: MANIFEST, body: m })
    reg.manifests.set(`${repo}:1`, { mediaType: INDEX, body: image.index })
    reg.manifests.set(`${repo}@${sha256(image.index)}`, { mediaType: INDEX, body: image.index })
    return image
  }

  test('no platforms and no unpacks (ctr --all-platforms): every platform fetched, nothing unpacked', async () => {
    const image = seed('all/app')
    const name = `${reg.host}/all/app:1`
    await ctr.transfer.Transfer({ source: registrySpec(name), destination: any(`${T}ImageStore`, { name }) })
    for (const m of image.manifests) expect(reg.count('GET', new RegExp(`/manifests/${sha256(m)}$`))).toBe(1)
    for (const b of image.blobs) expect(Number((await ctr.content.Info({ digest: sha256(b) })).info?.size)).toBe(b.length)
    expect(await snapshotNames(ctr)).toEqual([])
  })

  test('two platforms, each with its unpack, and all_metadata (ctr 2.1 --platform ×2): both unpacked, the third fetched without layers', async () => {
    // As containerd 2.1 with its default transfer config (checked against the real daemon): the
    // unpacker unpacks every config it meets with layers; all_metadata fetches the other
    // platforms' manifests and configs only; the labels tie it all to the index.
    const image = seed('two/app', ['amd64', 'arm64', 's390x'])
    const name = `${reg.host}/two/app:1`
    const platforms = ['amd64', 'arm64'].map((architecture) => ({ os: 'linux', architecture }))
    const sub = await subscribe(ctr)
    await ctr.transfer.Transfer({
      source: registrySpec(name),
      destination: any(`${T}ImageStore`, {
        name,
        platforms,
        all_metadata: true,
        unpacks: platforms.map((platform) => ({ platform, snapshotter: '' })),
      }),
    })
    const [amd64, arm64, s390x] = image.images as [
      ReturnType<typeof imageBlobs>,
      ReturnType<typeof imageBlobs>,
      ReturnType<typeof imageBlobs>,
    ]
    expect((await snapshotNames(ctr)).sort()).toEqual([amd64.diffIds[0], arm64.diffIds[0]].sort())
    const labels = async (b: Buffer) => (await ctr.content.Info({ digest: sha256(b) })).info!.labels
    const source = { 'containerd.io/distribution.source.127.0.0.1': 'two/app' }
    for (const i of [amd64, arm64]) {
      expect(await labels(i.config)).toEqual({ ...source, 'containerd.io/gc.ref.snapshot.overlayfs': i.diffIds[0] })
      expect(await labels(i.layers[0]!)).toEqual({ ...source, 'containerd.io/uncompressed': i.diffIds[0] })
    }
    // s390x: its manifest (labelled with all its children) and config, no layer, no snapshot.
    expect(await labels(s390x.config)).toEqual(source)
    expect(await labels(s390x.manifest)).toEqual({
      ...source,
      'containerd.io/gc.ref.content.config': sha256(s390x.config),
      'containerd.io/gc.ref.content.l.0': sha256(s390x.layers[0]!),
    })
    expect((await grpcError(ctr.content.Info({ digest: sha256(s390x.layers[0]!) }))).code).toBe(5)
    expect(reg.count('GET', new RegExp(`/blobs/${sha256(s390x.layers[0]!)}$`))).toBe(0)
    expect(await labels(image.index)).toEqual({
      ...source,
      ...Object.fromEntries(image.manifests.map((m, i) => [`containerd.io/gc.ref.content.m.${i}`, sha256(m)])),
    })
    const images = (await ctr.images.List({ filters: [] })).images
    expect(images.map((i) => [i.name, i.target?.digest, i.target?.media_type])).toEqual([[name, sha256(image.index), INDEX]])
    // Each blob committed is published, all before the image record.
    await eventually(() => (sub.events.some((e) => e.topic === '/images/create') ? true : undefined), '/images/create')
    sub.close()
    const topics = sub.events.map((e) => e.topic)
    const fetched = [image.index, ...image.manifests, amd64.config, amd64.layers[0]!, arm64.config, arm64.layers[0]!, s390x.config]
    expect(
      sub.events
        .filter((e) => e.topic === '/content/create')
        .map((e) => e.event.digest as string)
        .sort(),
    ).toEqual(fetched.map(sha256).sort())
    expect(topics.lastIndexOf('/content/create')).toBeLessThan(topics.indexOf('/images/create'))
    // The same blobs pulled from another repository of the host: each names both, sorted.
    seed('other/app', ['amd64', 'arm64', 's390x'])
    const other = `${reg.host}/other/app:1`
    await ctr.transfer.Transfer({ source: registrySpec(other), destination: any(`${T}ImageStore`, { name: other, platforms }) })
    expect((await labels(image.index))['containerd.io/distribution.source.127.0.0.1']).toBe('other/app,two/app')
    expect((await labels(amd64.layers[0]!))['containerd.io/distribution.source.127.0.0.1']).toBe('other/app,two/app')
    // Nothing is left outside the images: the collector finds nothing more to take.
    await ctr.images.Delete({ name: other, sync: true })
    await ctr.images.Delete({ name, sync: true })
    expect(await snapshotNames(ctr)).toEqual([])
    expect((await collect(ctr.content.List({ filters: [] }))).flatMap((m) => m.info)).toEqual([])
  })

  /** Adds to `repo:1`'s index a manifest for `architecture` whose config is `config` of `mediaType`, with no layers. */
  function addManifest(
    repo: string,
    image: ReturnType<typeof multiPlatform>,
    architecture: string,
    mediaType: string,
    config: Buffer,
  ): Buffer {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: { mediaType, digest: sha256(config), size: config.length },
        layers: [],
      }),
    )
    const idx = JSON.parse(image.index.toString())
    idx.manifests.push({ mediaType: MANIFEST, digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture } })
    const index = Buffer.from(JSON.stringify(idx))
    reg.blobs.set(sha256(config), config)
    reg.manifests.set(`${repo}@${sha256(manifest)}`, { mediaType: MANIFEST, body: manifest })
    reg.manifests.set(`${repo}:1`, { mediaType: INDEX, body: index })
    reg.manifests.set(`${repo}@${sha256(index)}`, { mediaType: INDEX, body: index })
    return manifest
  }

  test("all_metadata: another platform's artifact (a config of another type) is fetched as its manifest, its config not fetched nor read", async () => {
    const image = seed('art/app', ['amd64'])
    const cfg = Buffer.from('not json at all')
    const art = addManifest('art/app', image, 's390x', 'application/vnd.example.thing', cfg)
    const name = `${reg.host}/art/app:1`
    await ctr.transfer.Transfer({
      source: registrySpec(name),
      destination: any(`${T}ImageStore`, { name, platforms: [amd64], all_metadata: true, unpacks: [{ platform: amd64, snapshotter: '' }] }),
    })
    expect(reg.count('GET', new RegExp(`/manifests/${sha256(art)}$`))).toBe(1)
    expect(reg.count('GET', new RegExp(`/blobs/${sha256(cfg)}$`))).toBe(0)
    expect((await ctr.content.Info({ digest: sha256(art) })).info?.labels).toMatchObject({
      'containerd.io/gc.ref.content.config': sha256(cfg),
    })
    expect(await snapshotNames(ctr)).toEqual([image.images[0]!.diffIds[0]])
  })

  test("all_metadata: another platform's image config is fetched and kept unread; the platform's own that does not decode is the unpacker's Unknown", async () => {
    const image = seed('cfg/app', ['amd64'])
    const odd = Buffer.from('{"architecture": "s390x", oops}')
    addManifest('cfg/app', image, 's390x', 'application/vnd.oci.image.config.v1+json', odd)
    const name = `${reg.host}/cfg/app:1`
    await ctr.transfer.Transfer({
      source: registrySpec(name),
      destination: any(`${T}ImageStore`, { name, platforms: [amd64], all_metadata: true, unpacks: [{ platform: amd64, snapshotter: '' }] }),
    })
    expect(Number((await ctr.content.Info({ digest: sha256(odd) })).info?.size)).toBe(odd.length)
    // The same config for the platform pulled with its (one) layer: the unpacker's decode fails the pull.
    const bad = multiPlatform(`${reg.host}/bad/app:1`, 1, ['amd64'])
    const manifest = JSON.parse(bad.manifests[0]!.toString())
    manifest.config = { ...manifest.config, digest: sha256(odd), size: odd.length }
    const body = Buffer.from(JSON.stringify(manifest))
    for (const b of bad.images[0]!.layers) reg.blobs.set(sha256(b), b)
    reg.manifests.set('bad/app:1', { mediaType: MANIFEST, body })
    reg.manifests.set(`bad/app@${sha256(body)}`, { mediaType: MANIFEST, body })
    const err = await grpcError(
      ctr.transfer.Transfer({
        source: registrySpec(`${reg.host}/bad/app:1`),
        destination: any(`${T}ImageStore`, { name: `${reg.host}/bad/app:1`, unpacks: [{ platform: amd64, snapshotter: '' }] }),
      }),
    )
    expect([err.code, err.details]).toEqual([2, "unmarshal image config: invalid character 'o' looking for beginning of object key string"])
    expect((await ctr.images.List({ filters: ['name~=bad'] })).images).toEqual([])
  })

  test('several platforms without all_metadata and one unpack: only those platforms fetched, every one of them unpacked', async () => {
    const image = seed('some/app', ['amd64', 'arm64', 's390x'])
    const name = `${reg.host}/some/app:1`
    const platforms = [
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'amd64' },
    ]
    await ctr.transfer.Transfer({
      source: registrySpec(name),
      destination: any(`${T}ImageStore`, { name, platforms, unpacks: [{ platform: platforms[0], snapshotter: 'overlayfs' }] }),
    })
    const gets = image.manifests.map((m) => reg.count('GET', new RegExp(`/manifests/${sha256(m)}$`)))
    expect(gets).toEqual([1, 1, 0])
    expect(await snapshotNames(ctr)).toHaveLength(2)
  })

  test('unpacks only on a snapshotter the transfer service has no unpack config for: refused once resolved, nothing kept', async () => {
    seed('native/app')
    const name = `${reg.host}/native/app:1`
    const progress = await openTransferStream(ctr, 'progress-native')
    const err = await grpcError(
      ctr.transfer.Transfer({
        source: registrySpec(name),
        destination: any(`${T}ImageStore`, {
          name,
          unpacks: [{ platform: { os: 'linux', architecture: 'amd64' }, snapshotter: 'native' }],
        }),
        options: { progress_stream: 'progress-native' },
      }),
    )
    expect([err.code, err.details]).toEqual([3, 'unable to initialize unpacker: no unpack platforms defined: invalid argument'])
    expect((await progressEvents(progress)).map((e) => e.event)).toEqual([
      `Resolving from OCI Registry (${name})`,
      `Pulling from OCI Registry (${name})`,
      'fetching image content',
    ])
    expect(reg.count('GET', /\/blobs\//)).toBe(0)
    expect((await ctr.images.List({ filters: [] })).images).toEqual([])
    expect(await snapshotNames(ctr)).toEqual([])
  })

  test('under the 1.7 profile the transfer service unpacks linux/amd64 only (its unpack_config is platforms.OnlyStrict)', async () => {
    await h.close()
    h = await harness({ containerdVersion: '1.7' })
    ctr.close()
    ctr = containerdClients(h.fake.address, 'default')
    const image = seed('seven/app')
    const name = `${reg.host}/seven/app:1`
    const platforms = ['amd64', 'arm64'].map((architecture) => ({ os: 'linux', architecture }))
    const unpacks = platforms.map((platform) => ({ platform, snapshotter: '' }))
    await ctr.transfer.Transfer({ source: registrySpec(name), destination: any(`${T}ImageStore`, { name, platforms, unpacks }) })
    expect(await snapshotNames(ctr)).toEqual([image.images[0]!.diffIds[0]])
    const armOnly = await grpcError(
      ctr.transfer.Transfer({ source: registrySpec(name), destination: any(`${T}ImageStore`, { name, unpacks: unpacks.slice(1) }) }),
    )
    expect([armOnly.code, armOnly.details]).toEqual([3, 'unable to initialize unpacker: no unpack platforms defined: invalid argument'])
  })

  test('an ImageStore without a name (and no references) is containerd\'s "no image name found"', async () => {
    seed('nameless/app')
    const err = await grpcError(
      ctr.transfer.Transfer({ source: registrySpec(`${reg.host}/nameless/app:1`), destination: any(`${T}ImageStore`, { name: '' }) }),
    )
    expect([err.code, err.details]).toEqual([5, 'no image name found: not found'])
    expect((await ctr.images.List({ filters: [] })).images).toEqual([])
  })

  test("a credential question outlasts CRI's image pull progress timeout: a Transfer pull has none", async () => {
    await h.close()
    h = await harness({ imagePullProgressTimeoutMs: 100 })
    ctr.close()
    ctr = containerdClients(h.fake.address, 'default')
    reg.user = USER
    seed('slow/app')
    const name = `${reg.host}/slow/app:1`
    const creds = await openTransferStream(ctr, 'creds-slow')
    const asked = answering(creds, { authType: 1, username: USER.name, secret: USER.password }, 500)
    await ctr.transfer.Transfer({
      source: registrySpec(name, 'creds-slow'),
      destination: any(`${T}ImageStore`, { name, platforms: [{ os: 'linux', architecture: 'amd64' }] }),
    })
    expect(await asked).toHaveLength(1)
    expect((await ctr.images.Get({ name })).image?.name).toBe(name)
  })

  test('an answer that does not decode keeps its own code and words (InvalidArgument), not Unknown', async () => {
    reg.user = USER
    seed('garbled/app')
    const creds = await openTransferStream(ctr, 'creds-garbled')
    void (async () => {
      for (let m = await creds.next(); m; m = await creds.next())
        creds.call.write({ type_url: `${T}AuthResponse`, value: Buffer.from([0xff, 0xff, 0xff]) })
    })()
    const err = await grpcError(
      ctr.transfer.Transfer({
        source: registrySpec(`${reg.host}/garbled/app:1`, 'creds-garbled'),
        destination: any(`${T}ImageStore`, { name: 'x' }),
      }),
    )
    expect(err.code).toBe(3)
    expect(err.details).toMatch(/^the auth stream sent a AuthResponse that does not decode: .*: invalid argument$/)
  })

  test('the client going away while a credential question is open: the call ends, the server keeps answering', async () => {
    reg.user = USER
    seed('gone/app')
    const name = `${reg.host}/gone/app:1`
    const other = containerdClients(h.fake.address, 'default')
    const creds = await openTransferStream(other, 'creds-gone')
    const call = other.transfer.Transfer({ source: registrySpec(name, 'creds-gone'), destination: any(`${T}ImageStore`, { name }) })
    call.catch(() => undefined)
    expect((await creds.next())?.type_url).toBe(`${T}AuthRequest`)
    other.close()
    // The server is not stuck on the question: the same pull with an answer goes through.
    const again = await openTransferStream(ctr, 'creds-back')
    const asked = answering(again, { authType: 1, username: USER.name, secret: USER.password })
    await ctr.transfer.Transfer({
      source: registrySpec(name, 'creds-back'),
      destination: any(`${T}ImageStore`, { name, platforms: [{ os: 'linux', architecture: 'amd64' }] }),
    })
    expect(await asked).toHaveLength(1)
    expect((await ctr.version.Version({})).version).toMatch(/^v2\.1\./)
  })
})

describe("Transfer import's unpacker (the same as a pull's)", () => {
  const importWith = (id: string, archive: Buffer, store: Record<string, unknown>) =>
    (async () => {
      const input = await openTransferStream(ctr, id)
      const done = ctr.transfer.Transfer({
        source: any(`${T}ImageImportStream`, { stream: id }),
        destination: any(`${T}ImageStore`, { extra_references: [{ name: 'imported', is_prefix: true, allow_overwrite: true }], ...store }),
      })
      done.catch(() => undefined)
      await sendBytes(input, archive)
      return done
    })()

  test('ctr 2.1 import --all-platforms (no platforms, the default unpack): every platform unpacked', async () => {
    const image = multiPlatform('example.com/all/app:1', 1, ['amd64', 'arm64', 's390x'])
    await importWith('import-all', image.archive, { unpacks: [{ platform: amd64, snapshotter: '' }] })
    expect((await snapshotNames(ctr)).sort()).toEqual(image.images.map((i) => i.diffIds[0]).sort())
  })

  test('under the 1.7 profile import --all-platforms unpacks linux/amd64 only', async () => {
    await h.close()
    h = await harness({ containerdVersion: '1.7' })
    ctr.close()
    ctr = containerdClients(h.fake.address, 'default')
    const image = multiPlatform('example.com/seven/app:1', 1, ['amd64', 'arm64'])
    await importWith('import-seven', image.archive, { unpacks: [{ platform: amd64, snapshotter: '' }] })
    expect(await snapshotNames(ctr)).toEqual([image.images[0]!.diffIds[0]])
  })

  test('import --platform linux/arm64: that platform walked and unpacked, the others not', async () => {
    const image = multiPlatform('example.com/one/app:1', 1, ['amd64', 'arm64'])
    const arm64 = { os: 'linux', architecture: 'arm64' }
    await importWith('import-one', image.archive, { platforms: [arm64], unpacks: [{ platform: arm64, snapshotter: 'overlayfs' }] })
    expect(await snapshotNames(ctr)).toEqual([image.images[1]!.diffIds[0]])
  })

  test("import --platform linux/amd64 with all_metadata: the others' manifests labelled with every child, their configs walked, nothing of theirs unpacked", async () => {
    const [without, withAll] = [false, true].map((all) => multiPlatform(`example.com/meta${all}/app:1`, 1, ['amd64', 'arm64']))
    const held = async () => new Set((await collect(ctr.content.List({ filters: [] }))).flatMap((m) => m.info).map((i) => i.digest))
    const labels = async (b: Buffer) => (await ctr.content.Info({ digest: sha256(b) })).info?.labels
    const store = (all: boolean) => ({ platforms: [amd64], all_metadata: all, unpacks: [{ platform: amd64, snapshotter: '' }] })
    // Without it arm64's manifest is not walked: unlabelled, its config and layer left to the collector.
    await importWith('import-plain', without!.archive, store(false))
    const [plainAmd, plainArm] = without!.images as [ReturnType<typeof imageBlobs>, ReturnType<typeof imageBlobs>]
    expect(await labels(plainArm.manifest)).toEqual({})
    expect([(await held()).has(sha256(plainArm.config)), (await held()).has(sha256(plainArm.layers[0]!))]).toEqual([false, false])
    // With it the manifest names its config and layer for the collector, which keeps both; only amd64 is unpacked.
    await importWith('import-meta', withAll!.archive, store(true))
    const [amd, arm] = withAll!.images as [ReturnType<typeof imageBlobs>, ReturnType<typeof imageBlobs>]
    expect(await labels(arm.manifest)).toEqual({
      'containerd.io/gc.ref.content.config': sha256(arm.config),
      'containerd.io/gc.ref.content.l.0': sha256(arm.layers[0]!),
    })
    expect([(await held()).has(sha256(arm.config)), (await held()).has(sha256(arm.layers[0]!))]).toEqual([true, true])
    expect(await labels(arm.config)).toEqual({})
    // (The two images' amd64 layers are the same bytes: one snapshot.)
    expect(plainAmd.diffIds[0]).toBe(amd.diffIds[0])
    expect(await snapshotNames(ctr)).toEqual([amd.diffIds[0]])
  })

  test('import --snapshotter native: the unpacker cannot be made; nothing is kept', async () => {
    const image = multiPlatform('example.com/native/app:1')
    const err = await grpcError(importWith('import-native', image.archive, { unpacks: [{ platform: amd64, snapshotter: 'native' }] }))
    expect([err.code, err.details]).toEqual([3, 'unable to initialize unpacker: no unpack platforms defined: invalid argument'])
    expect((await ctr.images.List({ filters: [] })).images).toEqual([])
    expect((await collect(ctr.content.List({ filters: [] }))).flatMap((m) => m.info)).toEqual([])
  })
})

async function snapshotNames(c: ContainerdClients): Promise<string[]> {
  const names: string[] = []
  const list = c.snapshots.List({ snapshotter: 'overlayfs', filters: [] })
  for await (const r of list as AsyncIterable<{ info: { name: string }[] }>) names.push(...r.info.map((i) => i.name))
  return names
}

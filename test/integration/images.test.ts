import { readdirSync, readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { collect } from '../../src/client.js'
import type { Image__Output } from '../../src/generated/runtime/v1/Image.js'
import { grpcError, harness, podConfig, runPod, type Harness } from '../helpers.js'

// The image catalog the fake "registry" serves, read from disk so the expectations follow the fixtures.
interface CatalogEntry {
  repository: string
  tag: string | null
  manifestDigest: string
  configDigest: string
  size: number
}
const catalogDir = new URL('../../fixtures/images/', import.meta.url)
const catalog: CatalogEntry[] = readdirSync(catalogDir)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => (JSON.parse(readFileSync(new URL(f, catalogDir), 'utf8')) as { images: CatalogEntry[] }).images)

function entry(repository: string, tag: string | null): CatalogEntry {
  const found = catalog.find((e) => e.repository === repository && e.tag === tag)
  if (!found) throw new Error(`catalog has no ${repository}:${tag}`)
  return found
}

const CRI_TOOLS = 'gcr.io/k8s-staging-cri-tools'
const SANDBOX_IMAGE = 'registry.k8s.io/pause:3.10'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

const pull = async (image: string): Promise<string> => (await h.image.PullImage({ image: { image } })).image_ref
const status = async (image: string): Promise<Image__Output | null> =>
  (await h.image.ImageStatus({ image: { image }, verbose: false })).image
const listImages = async (): Promise<Image__Output[]> => (await h.image.ListImages({ filter: null })).images
const usedBytes = async (): Promise<bigint> => {
  const fs = await h.image.ImageFsInfo({})
  return BigInt(fs.image_filesystems[0]!.used_bytes!.value)
}

describe('PullImage normalises references as containerd does', () => {
  test.each([
    ['busybox', 'docker.io/library/busybox', 'latest'],
    ['alpine:3.20', 'docker.io/library/alpine', '3.20'],
    ['docker.io/library/nginx:latest', 'docker.io/library/nginx', 'latest'],
    ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause', '3.10'],
  ])('%s → %s:%s with the catalog digests', async (reference, repository, tag) => {
    const e = entry(repository, tag)
    const imageRef = await pull(reference)
    expect(imageRef).toBe(e.configDigest)
    const image = await status(reference)
    // uid/username and pinned have their own tests below.
    expect(image).toMatchObject({
      id: e.configDigest,
      repo_tags: [`${repository}:${tag}`],
      repo_digests: [`${repository}@${e.manifestDigest}`],
      size: String(e.size),
    })
    expect(await listImages()).toEqual([image])
  })

  test('an image pulled by digest has no repo_tags and exactly that reference as its repo digest', async () => {
    const e = entry(`${CRI_TOOLS}/test-image-digest`, null)
    const reference = `${CRI_TOOLS}/test-image-digest@${e.manifestDigest}`
    expect(await pull(reference)).toBe(e.configDigest)
    const image = await status(reference)
    expect(image!.id).toBe(e.configDigest)
    expect(image!.repo_tags).toEqual([])
    expect(image!.repo_digests).toEqual([reference])
  })

  test('three tags of one image are one image with the three tags, sorted', async () => {
    const e = entry(`${CRI_TOOLS}/test-image-tags`, '1')
    for (const tag of ['3', '1', '2']) expect(await pull(`${CRI_TOOLS}/test-image-tags:${tag}`)).toBe(e.configDigest)
    const images = await listImages()
    expect(images).toHaveLength(1)
    expect(images[0]!.id).toBe(e.configDigest)
    expect(images[0]!.repo_tags).toEqual([1, 2, 3].map((t) => `${CRI_TOOLS}/test-image-tags:${t}`))
    expect(images[0]!.repo_digests).toEqual([`${CRI_TOOLS}/test-image-tags@${e.manifestDigest}`])
  })

  test('pulling the same reference twice keeps one image with one tag', async () => {
    const first = await pull('busybox')
    expect(await pull('docker.io/library/busybox:latest')).toBe(first)
    const images = await listImages()
    expect(images.map((i) => [i.id, i.repo_tags])).toEqual([[first, ['docker.io/library/busybox:latest']]])
  })
})

describe('ImageStatus', () => {
  test('by id, unique id prefix (with and without sha256:), tag and repo digest gives the identical Image', async () => {
    const e = entry('docker.io/library/busybox', 'latest')
    await pull('busybox')
    const byId = await status(e.configDigest)
    expect(byId).not.toBeNull()
    expect(byId!.id).toBe(e.configDigest)
    const hex = e.configDigest.slice('sha256:'.length)
    for (const name of [
      `sha256:${hex.slice(0, 12)}`,
      hex.slice(0, 12),
      hex,
      'busybox',
      'docker.io/library/busybox:latest',
      `docker.io/library/busybox@${e.manifestDigest}`,
    ]) {
      expect(await status(name), name).toEqual(byId)
    }
  })

  test('an image that is not there is success with image unset', async () => {
    await pull('busybox')
    const res = await h.image.ImageStatus({ image: { image: 'docker.io/library/never-pulled:1' }, verbose: false })
    expect(res.image).toBeNull()
    expect(await status(`sha256:${'0'.repeat(64)}`)).toBeNull()
    expect(await status('alpine:3.20')).toBeNull()
  })

  test('verbose returns info.info as JSON with the image config', async () => {
    await pull('docker.io/library/nginx:latest')
    const quiet = await h.image.ImageStatus({ image: { image: 'nginx' }, verbose: false })
    expect(quiet.info).toEqual({})
    const res = await h.image.ImageStatus({ image: { image: 'nginx' }, verbose: true })
    expect(res.image).toEqual(quiet.image)
    const info = JSON.parse(res.info.info!)
    expect(info.imageSpec.os).toBe('linux')
    expect(info.imageSpec.architecture).toBe('amd64')
    expect(info.imageSpec.config).toMatchObject({
      Entrypoint: ['/docker-entrypoint.sh'],
      Cmd: ['nginx', '-g', 'daemon off;'],
      ExposedPorts: { '80/tcp': {} },
      StopSignal: 'SIGQUIT',
    })
    expect(info.imageSpec.config.Env).toContain('NGINX_VERSION=1.31.3')
  })

  test('size and id are set for every pulled image', async () => {
    for (const ref of ['busybox', 'alpine:3.20', `${CRI_TOOLS}/test-image-1`]) await pull(ref)
    const images = await listImages()
    expect(images).toHaveLength(3)
    for (const image of images) {
      expect(image.id).toMatch(/^sha256:[a-f0-9]{64}$/)
      expect(Number(image.size)).toBeGreaterThan(0)
    }
  })

  test.each([
    [`${CRI_TOOLS}/test-image-user-uid`, { value: '1002' }, ''],
    [`${CRI_TOOLS}/test-image-user-username`, null, 'www-data'],
    [`${CRI_TOOLS}/test-image-user-uid-group`, { value: '1003' }, ''],
    [`${CRI_TOOLS}/test-image-user-username-group`, null, 'www-data'],
    ['busybox', null, ''],
    ['registry.k8s.io/pause:3.10', { value: '65535' }, ''],
  ])('%s reports uid %j and username %j', async (reference, uid, username) => {
    await pull(reference)
    const image = await status(reference)
    expect(image!.uid).toEqual(uid)
    expect(image!.username).toBe(username)
  })
})

describe('RemoveImage', () => {
  test('removing by one tag removes the whole image with every tag', async () => {
    const e = entry(`${CRI_TOOLS}/test-image-tags`, '1')
    for (const tag of ['1', '2', '3']) await pull(`${CRI_TOOLS}/test-image-tags:${tag}`)
    await pull('busybox')
    await h.image.RemoveImage({ image: { image: `${CRI_TOOLS}/test-image-tags:2` } })
    for (const tag of ['1', '2', '3']) expect(await status(`${CRI_TOOLS}/test-image-tags:${tag}`)).toBeNull()
    expect(await status(e.configDigest)).toBeNull()
    expect(await status(`${CRI_TOOLS}/test-image-tags@${e.manifestDigest}`)).toBeNull()
    expect((await listImages()).map((i) => i.repo_tags)).toEqual([['docker.io/library/busybox:latest']])
  })

  test('removing by id removes the image', async () => {
    const id = await pull('alpine:3.20')
    await pull('busybox')
    await h.image.RemoveImage({ image: { image: id } })
    expect(await status(id)).toBeNull()
    expect(await status('alpine:3.20')).toBeNull()
    expect((await listImages()).map((i) => i.id)).toEqual([entry('docker.io/library/busybox', 'latest').configDigest])
  })

  test('removing by repo digest removes the image', async () => {
    const e = entry('docker.io/library/busybox', 'latest')
    await pull('busybox')
    await h.image.RemoveImage({ image: { image: `docker.io/library/busybox@${e.manifestDigest}` } })
    expect(await listImages()).toEqual([])
  })

  test('removing an image that is not there succeeds and changes nothing', async () => {
    await pull('busybox')
    const before = await listImages()
    await expect(h.image.RemoveImage({ image: { image: 'docker.io/library/never-pulled:1' } })).resolves.toEqual({})
    await expect(h.image.RemoveImage({ image: { image: `sha256:${'0'.repeat(64)}` } })).resolves.toEqual({})
    expect(await listImages()).toEqual(before)
  })

  test('an image pulled again after removal comes back', async () => {
    const id = await pull('busybox')
    await h.image.RemoveImage({ image: { image: 'busybox' } })
    expect(await listImages()).toEqual([])
    expect(await pull('busybox')).toBe(id)
    expect((await listImages()).map((i) => i.id)).toEqual([id])
  })
})

describe('the sandbox image', () => {
  test('the first RunPodSandbox pulls and pins the sandbox image; other images are not pinned', async () => {
    expect(await listImages()).toEqual([])
    await runPod(h, podConfig())
    await pull('busybox')
    const images = await listImages()
    const pause = images.find((i) => i.repo_tags.includes(SANDBOX_IMAGE))
    expect(pause).toBeDefined()
    expect(pause!.id).toBe(entry('registry.k8s.io/pause', '3.10').configDigest)
    expect(pause!.pinned).toBe(true)
    const busybox = images.find((i) => i.repo_tags.includes('docker.io/library/busybox:latest'))
    expect(busybox!.pinned).toBe(false)
    expect(images).toHaveLength(2)
    // A second pod reuses the image: still one pinned pause image.
    await runPod(h, podConfig())
    expect((await listImages()).filter((i) => i.pinned).map((i) => i.repo_tags)).toEqual([[SANDBOX_IMAGE]])
    // Pulling it again does not unpin it.
    await pull(SANDBOX_IMAGE)
    expect((await status(SANDBOX_IMAGE))!.pinned).toBe(true)
  })

  test('pulling the sandbox image explicitly pins it too (containerd labels it pinned by name at pull time)', async () => {
    await pull(SANDBOX_IMAGE)
    expect((await status(SANDBOX_IMAGE))!.pinned).toBe(true)
    await runPod(h, podConfig())
    expect((await status(SANDBOX_IMAGE))!.pinned).toBe(true)
  })
})

describe('ImageFsInfo', () => {
  test('image filesystem usage is the snapshotter usage of the images unpacked, growing with pulls and shrinking with removals', async () => {
    const fs0 = await h.image.ImageFsInfo({})
    expect(fs0.image_filesystems).toHaveLength(1)
    // As containerd: one image filesystem (the snapshotter's), no separate container filesystem.
    expect(fs0.container_filesystems).toEqual([])
    expect(fs0.image_filesystems[0]!.fs_id!.mountpoint).toBe('/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs')
    for (const f of fs0.image_filesystems) {
      expect(BigInt(f.timestamp)).toBeGreaterThan(0n)
      expect(f.fs_id!.mountpoint).not.toBe('')
      expect(f.used_bytes).not.toBeNull()
    }
    expect(await usedBytes()).toBe(0n)

    const busybox = entry('docker.io/library/busybox', 'latest')
    const nginx = entry('docker.io/library/nginx', 'latest')
    await pull('busybox')
    expect(await usedBytes()).toBe(BigInt(busybox.size))
    await pull('nginx')
    const sum = (await listImages()).reduce((acc, i) => acc + BigInt(i.size), 0n)
    expect(sum).toBe(BigInt(busybox.size + nginx.size))
    expect(await usedBytes()).toBe(sum)
    await h.image.RemoveImage({ image: { image: 'busybox' } })
    expect(await usedBytes()).toBe(BigInt(nginx.size))
  })

  test('a second tag of the same image does not count its size twice', async () => {
    const e = entry(`${CRI_TOOLS}/test-image-tags`, '1')
    await pull(`${CRI_TOOLS}/test-image-tags:1`)
    await pull(`${CRI_TOOLS}/test-image-tags:2`)
    expect(await usedBytes()).toBe(BigInt(e.size))
  })
})

describe('pull policy', () => {
  test('catalog policy refuses a reference the catalog lacks with NotFound', async () => {
    const strict = await harness({ pullPolicy: 'catalog' })
    try {
      const err = await grpcError(strict.image.PullImage({ image: { image: 'docker.io/library/does-not-exist:1' } }))
      expect(err.code).toBe(5)
      expect(err.details).toContain('failed to pull and unpack image "docker.io/library/does-not-exist:1"')
      expect((await strict.image.ListImages({ filter: null })).images).toEqual([])
      // Catalog images still pull.
      await expect(strict.image.PullImage({ image: { image: 'busybox' } })).resolves.toEqual({
        image_ref: entry('docker.io/library/busybox', 'latest').configDigest,
      })
    } finally {
      await strict.close()
    }
  })

  test('the default policy synthesises an unknown reference, the same on every server', async () => {
    const ref = 'docker.io/library/does-not-exist:1'
    const id = await pull(ref)
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/)
    const image = await status(ref)
    expect(image!.repo_tags).toEqual([ref])
    expect(image!.repo_digests).toHaveLength(1)
    expect(image!.repo_digests[0]).toMatch(/^docker\.io\/library\/does-not-exist@sha256:[a-f0-9]{64}$/)
    expect(Number(image!.size)).toBeGreaterThan(0)

    const other = await harness()
    try {
      expect((await other.image.PullImage({ image: { image: ref } })).image_ref).toBe(id)
      expect((await other.image.ImageStatus({ image: { image: ref }, verbose: false })).image).toEqual(image)
    } finally {
      await other.close()
    }
  })
})

describe('registry authentication', () => {
  const PRIVATE = 'registry.example.com/private/app:1.0'

  test('without credentials the pull is denied', async () => {
    const err = await grpcError(h.image.PullImage({ image: { image: PRIVATE } }))
    expect(err.code).toBe(2)
    expect(err.details).toContain(`failed to pull and unpack image "${PRIVATE}"`)
    expect(err.details).toContain('pull access denied')
    expect(await listImages()).toEqual([])
  })

  test('with wrong credentials the pull fails with 401 Unauthorized', async () => {
    const err = await grpcError(h.image.PullImage({ image: { image: PRIVATE }, auth: { username: 'fake-user', password: 'wrong' } }))
    expect(err.code).toBe(2)
    expect(err.details).toContain('401 Unauthorized')
    const err2 = await grpcError(
      h.image.PullImage({ image: { image: PRIVATE }, auth: { auth: Buffer.from('someone:fake-password').toString('base64') } }),
    )
    expect(err2.details).toContain('401 Unauthorized')
    expect(await listImages()).toEqual([])
  })

  test('with username and password the pull succeeds', async () => {
    const e = entry('registry.example.com/private/app', '1.0')
    const res = await h.image.PullImage({ image: { image: PRIVATE }, auth: { username: 'fake-user', password: 'fake-password' } })
    expect(res.image_ref).toBe(e.configDigest)
    expect((await status(PRIVATE))!.repo_tags).toEqual([PRIVATE])
  })

  test('with a base64 auth string the pull succeeds', async () => {
    const e = entry('registry.example.com/private/app', '1.0')
    const auth = Buffer.from('fake-user:fake-password').toString('base64')
    const res = await h.image.PullImage({ image: { image: PRIVATE }, auth: { auth } })
    expect(res.image_ref).toBe(e.configDigest)
  })
})

describe('bad input', () => {
  test.each(['', 'UPPER/case', 'a b'])('PullImage of %j is InvalidArgument', async (image) => {
    const err = await grpcError(h.image.PullImage({ image: { image } }))
    expect(err.code).toBe(3)
    expect(await listImages()).toEqual([])
  })

  test('PullImage without an image spec is InvalidArgument', async () => {
    expect((await grpcError(h.image.PullImage({ image: null }))).code).toBe(3)
  })

  test('ImageStatus and RemoveImage without an image are InvalidArgument', async () => {
    expect((await grpcError(h.image.ImageStatus({ image: null, verbose: false }))).code).toBe(3)
    expect((await grpcError(h.image.ImageStatus({ image: { image: '' }, verbose: false }))).code).toBe(3)
    expect((await grpcError(h.image.RemoveImage({ image: null }))).code).toBe(3)
    expect((await grpcError(h.image.RemoveImage({ image: { image: '' } }))).code).toBe(3)
  })
})

describe('ListImages and StreamImages', () => {
  test('ListImages filtered by a reference returns just that image', async () => {
    await pull('busybox')
    await pull('alpine:3.20')
    const { images } = await h.image.ListImages({ filter: { image: { image: 'alpine:3.20' } } })
    expect(images.map((i) => i.repo_tags)).toEqual([['docker.io/library/alpine:3.20']])
    expect((await h.image.ListImages({ filter: { image: { image: 'nginx' } } })).images).toEqual([])
  })

  test('StreamImages sends one message holding the same images as ListImages', async () => {
    for (const ref of ['busybox', 'alpine:3.20', `${CRI_TOOLS}/test-image-tags:1`, `${CRI_TOOLS}/test-image-tags:2`]) await pull(ref)
    const listed = await listImages()
    expect(listed).toHaveLength(3)
    const messages = await collect(h.image.StreamImages({ filter: null }))
    expect(messages).toHaveLength(1)
    expect(messages[0]!.images).toEqual(listed)
  })

  test('StreamImages honours a filter', async () => {
    await pull('busybox')
    await pull('alpine:3.20')
    const messages = await collect(h.image.StreamImages({ filter: { image: { image: 'busybox' } } }))
    expect(messages.flatMap((m) => m.images).map((i) => i.repo_tags)).toEqual([['docker.io/library/busybox:latest']])
  })

  test('StreamImages with no images sends no messages', async () => {
    expect(await collect(h.image.StreamImages({ filter: null }))).toEqual([])
  })
})

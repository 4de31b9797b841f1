// /content/create as an Events subscriber sees it: containerd 2.x publishes one for each blob its
// content store commits (core/metadata/content.go's writer), so a pull's blobs come before its image's
// /images/create; a blob already there is not published again. 1.6 and 1.7 have no such event. Pulls
// from a registry (CRI's and Transfer's) and `ctr images pull` of 1.6 write through the same commit;
// these cover what the catalog's pulls write, Content.Write, and the generations that publish none.
import { afterEach, describe, expect, test } from 'vitest'
import { containerdClients, type ContainerdClients } from '../../src/client.js'
import type { FakeContainerdOptions } from '../../src/config.js'
import { upload } from '../containerd.js'
import { eventually, harness, subscribe, type Harness, type Subscription } from '../helpers.js'

let h: Harness
let ctr: ContainerdClients
let sub: Subscription
async function start(options: FakeContainerdOptions = {}): Promise<void> {
  h = await harness(options)
  ctr = containerdClients(h.fake.address, 'k8s.io')
  sub = await subscribe(ctr)
}
afterEach(async () => {
  sub?.close()
  ctr?.close()
  await h?.close()
})

/** Publishes a marker and waits for it: every event the node sent before it has arrived by then. */
async function settled(): Promise<string[]> {
  const topic = `/marker/m${sub.events.length}`
  await ctr.events.Publish({ topic, event: { type_url: 'marker', value: Buffer.alloc(0) } })
  await eventually(() => (sub.events.some((e) => e.topic === topic) ? true : undefined), topic)
  return sub.events.map((e) => e.topic)
}

describe('containerd 2.1', () => {
  test("a CRI pull of a catalog image publishes its manifest and config before the image's records; a second pull nothing new", async () => {
    await start()
    const { image_ref } = await h.image.PullImage({ image: { image: 'busybox' } })
    const topics = await settled()
    const manifest = (await ctr.images.Get({ name: 'docker.io/library/busybox:latest' })).image!.target!.digest
    const created = sub.events.filter((e) => e.topic === '/content/create').map((e) => e.event)
    expect(created).toEqual([
      { digest: manifest, size: expect.any(String) },
      { digest: image_ref, size: expect.any(String) },
    ])
    expect(topics.lastIndexOf('/content/create')).toBeLessThan(topics.indexOf('/images/create'))
    const before = sub.events.length
    await h.image.PullImage({ image: { image: 'busybox' } })
    expect((await settled()).slice(before).filter((t) => t === '/content/create')).toEqual([])
  })

  test('Content.Write publishes the blob it commits, with its size', async () => {
    await start()
    const digest = await upload(ctr, 'seven b')
    await settled()
    expect(sub.events.filter((e) => e.topic === '/content/create').map((e) => [e.namespace, e.event])).toEqual([
      ['k8s.io', { digest, size: '7' }],
    ])
  })
})

describe.each(['1.6', '1.7'] as const)('containerd %s', (containerdVersion) => {
  test('publishes no /content/create (a pull, a write); its other events and a client-published one still arrive', async () => {
    await start({ containerdVersion })
    await h.image.PullImage({ image: { image: 'busybox' } })
    await upload(ctr, 'seven b')
    await ctr.events.Publish({ topic: '/content/create', event: { type_url: 'mine', value: Buffer.alloc(0) } })
    const topics = await settled()
    expect(topics).toContain('/images/create')
    expect(sub.events.filter((e) => e.topic === '/content/create').map((e) => e.type)).toEqual(['mine'])
  })
})

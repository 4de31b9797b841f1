// ListContainers, ListPodSandbox, their Stream* twins, ContainerStatus and PodSandboxStatus answer
// from each record's messages encoded once and kept (src/cri/wire.ts). What goes over the socket
// must be, byte for byte, the answer encoded afresh from the records as they are now, after every
// kind of change: a container created, started, exited, stopped, updated, removed; a pod stopped;
// its image removed and pulled again; a restart from the state file; a restore and a reset. Each
// check also decodes the answers and compares the states a client reads.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { afterEach, expect, test } from 'vitest'
import { containerInfo, sandboxInfo, toContainer, toContainerStatus, toPodSandbox, toPodSandboxStatus } from '../../src/cri/convert.js'
import { servicePackage } from '../../src/proto/load.js'
import { MESSAGE_LIMITS, serviceConstructor } from '../../src/service-descriptors.cjs'
import { containerConfig, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

const runtime = serviceConstructor(servicePackage('cri'), 'runtime.v1.RuntimeService').service as grpc.ServiceDefinition
const raw = (b: Buffer) => b

let h: Harness | undefined
let client: grpc.Client | undefined
afterEach(async () => {
  client?.close()
  await h?.close()
})

/** A client that hands back the bytes of each answer, undecoded. */
function rawClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), MESSAGE_LIMITS)
}

function unary(method: string, request: object): Promise<Buffer> {
  const def = runtime[method]!
  return new Promise((ok, fail) =>
    client!.makeUnaryRequest(def.path, def.requestSerialize, raw, request, (err, bytes) => (err ? fail(err) : ok(bytes!))),
  )
}

function stream(method: string, request: object): Promise<Buffer[]> {
  const def = runtime[method]!
  const call = client!.makeServerStreamRequest(def.path, def.requestSerialize, raw, request)
  const out: Buffer[] = []
  return new Promise((ok, fail) => {
    call.on('data', (b: Buffer) => out.push(b))
    call.on('end', () => ok(out))
    call.on('error', fail)
  })
}

type Filters = { containers: object | null; pods: object | null }

/**
 * Every list answer over the socket against the same answer encoded afresh from the node's records
 * (the filters as the server applied them: the fresh answer takes the ids the raw answer names, and
 * the unfiltered one must hold every record). Returns the CRI states a client decodes.
 */
async function check(filters: Filters = { containers: null, pods: null }): Promise<{ containers: string[]; pods: string[] }> {
  const node = h!.fake.node
  const fresh = {
    containers: (ids: string[]) =>
      runtime.ListContainers!.responseSerialize({ containers: ids.map((id) => toContainer(node.containers.get(id))) }),
    pods: (ids: string[]) => runtime.ListPodSandbox!.responseSerialize({ items: ids.map((id) => toPodSandbox(node.sandboxes.get(id))) }),
  }
  const all = {
    containers: runtime.ListContainers!.responseSerialize({ containers: node.containers.all().map(toContainer) }),
    pods: runtime.ListPodSandbox!.responseSerialize({ items: node.sandboxes.all().map(toPodSandbox) }),
  }
  expect(await unary('ListContainers', { filter: null })).toEqual(all.containers)
  expect(await unary('ListPodSandbox', { filter: null })).toEqual(all.pods)
  expect(Buffer.concat(await stream('StreamContainers', { filter: null }))).toEqual(all.containers)
  expect(Buffer.concat(await stream('StreamPodSandboxes', { filter: null }))).toEqual(all.pods)

  const containers = await unary('ListContainers', { filter: filters.containers })
  const listed = runtime.ListContainers!.responseDeserialize(containers) as { containers: { id: string; state: string }[] }
  expect(containers).toEqual(fresh.containers(listed.containers.map((c) => c.id)))
  const pods = await unary('ListPodSandbox', { filter: filters.pods })
  const podList = runtime.ListPodSandbox!.responseDeserialize(pods) as { items: { id: string; state: string }[] }
  expect(pods).toEqual(fresh.pods(podList.items.map((p) => p.id)))
  await checkStatuses()
  return { containers: listed.containers.map((c) => c.state), pods: podList.items.map((p) => p.state) }
}

/** Every ContainerStatus and PodSandboxStatus answer, verbose and not, against the same encoded afresh. */
async function checkStatuses(): Promise<void> {
  const node = h!.fake.node
  for (const c of node.containers.all()) {
    for (const verbose of [false, true]) {
      const answer = await unary('ContainerStatus', { container_id: c.id, verbose })
      const now = node.containers.get(c.id)
      expect(answer).toEqual(
        runtime.ContainerStatus!.responseSerialize({ status: toContainerStatus(node, now), info: verbose ? containerInfo(now) : {} }),
      )
    }
  }
  for (const s of node.sandboxes.all()) {
    for (const verbose of [false, true]) {
      const answer = await unary('PodSandboxStatus', { pod_sandbox_id: s.id, verbose })
      const { timestamp } = runtime.PodSandboxStatus!.responseDeserialize(answer) as { timestamp: string }
      expect(Number(timestamp)).toBeGreaterThan(0)
      expect(answer).toEqual(
        runtime.PodSandboxStatus!.responseSerialize({
          status: toPodSandboxStatus(s),
          info: verbose ? sandboxInfo(s) : {},
          containers_statuses: node.sandboxes.containersOf(s.id).map((c) => toContainerStatus(node, c)),
          timestamp,
        }),
      )
    }
  }
}

/** The image a container's status names (its tag), as a client decodes it. */
async function statusImage(id: string): Promise<string> {
  const { status } = runtime.ContainerStatus!.responseDeserialize(await unary('ContainerStatus', { container_id: id })) as {
    status: { image: { image: string }; image_ref: string }
  }
  return `${status.image.image} ${status.image_ref.split('@')[0]}`
}

test('list answers are the records encoded afresh, through every change of state and a restart', async () => {
  const state = join(mkdtempSync(join(tmpdir(), 'fc-wire-')), 'state.json')
  h = await harness({ state })
  client = rawClient(h.fake.address)
  expect(await check()).toEqual({ containers: [], pods: [] })

  const podA = podConfig('wire-a', { labels: { team: 'blue' } })
  const podB = podConfig('wire-b', { labels: { team: 'red' } })
  const a = await runPod(h, podA)
  const b = await runPod(h, podB)
  const sleeper = await runContainer(h, a, podA, containerConfig('sleeper', { command: ['sleep', '3600'], labels: { tier: 'web' } }))
  const created = await runContainer(h, a, podA, containerConfig('created', { command: ['sleep', '3600'] }), false)
  const quitter = await runContainer(h, b, podB, containerConfig('quitter', { command: ['sh', '-c', 'sleep 0.2; exit 3'] }))
  // Each list is read while the quitter runs, so its running encoding is what the cache holds when it exits.
  expect(await check()).toEqual({
    containers: ['CONTAINER_RUNNING', 'CONTAINER_CREATED', 'CONTAINER_RUNNING'],
    pods: ['SANDBOX_READY', 'SANDBOX_READY'],
  })
  await waitForState(h, quitter, 'CONTAINER_EXITED')
  expect((await check()).containers).toEqual(['CONTAINER_RUNNING', 'CONTAINER_CREATED', 'CONTAINER_EXITED'])

  // Changes that leave the CRI message as it was must not leave stale bytes behind either.
  await h.runtime.UpdateContainerResources({ container_id: sleeper, linux: { cpu_shares: '512' } })
  await h.runtime.ContainerStats({ container_id: sleeper })
  await h.runtime.StartContainer({ container_id: created })
  expect((await check()).containers).toEqual(['CONTAINER_RUNNING', 'CONTAINER_RUNNING', 'CONTAINER_EXITED'])

  // Filters: label selector, state, pod id prefix, container id prefix.
  expect(await check({ containers: { label_selector: { tier: 'web' } }, pods: { label_selector: { team: 'red' } } })).toEqual({
    containers: ['CONTAINER_RUNNING'],
    pods: ['SANDBOX_READY'],
  })
  expect(await check({ containers: { state: { state: 'CONTAINER_EXITED' } }, pods: { state: { state: 'SANDBOX_NOTREADY' } } })).toEqual({
    containers: ['CONTAINER_EXITED'],
    pods: [],
  })
  expect((await check({ containers: { pod_sandbox_id: a.slice(0, 12) }, pods: { id: b.slice(0, 8) } })).containers).toHaveLength(2)

  await h.runtime.StopContainer({ container_id: sleeper, timeout: '0' })
  await h.runtime.StopPodSandbox({ pod_sandbox_id: b })
  expect(await check()).toEqual({
    containers: ['CONTAINER_EXITED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED'],
    pods: ['SANDBOX_READY', 'SANDBOX_NOTREADY'],
  })
  await h.runtime.RemoveContainer({ container_id: quitter })
  expect((await check()).containers).toEqual(['CONTAINER_EXITED', 'CONTAINER_RUNNING'])

  // A status names its image's tag and repo digest: gone with the image, back when it is pulled again.
  expect(await statusImage(created)).toBe('docker.io/library/busybox:latest docker.io/library/busybox')
  await h.image.RemoveImage({ image: { image: 'busybox' } })
  expect(await statusImage(created)).toMatch(/^busybox sha256:/)
  await check()
  await h.image.PullImage({ image: { image: 'busybox' } })
  expect(await statusImage(created)).toBe('docker.io/library/busybox:latest docker.io/library/busybox')
  await check()

  // A restart reads every record anew from the state file.
  await h.fake.restart()
  client.close()
  client = rawClient(h.fake.address)
  expect(await check()).toEqual({ containers: ['CONTAINER_EXITED', 'CONTAINER_RUNNING'], pods: ['SANDBOX_READY', 'SANDBOX_NOTREADY'] })

  // A restore puts back an earlier state; a reset empties the node.
  const snapshot = h.fake.snapshot()
  await h.runtime.StopPodSandbox({ pod_sandbox_id: a })
  expect((await check()).pods).toEqual(['SANDBOX_NOTREADY', 'SANDBOX_NOTREADY'])
  h.fake.restore(snapshot)
  expect((await check()).pods).toEqual(['SANDBOX_READY', 'SANDBOX_NOTREADY'])
  h.fake.reset()
  expect(await check()).toEqual({ containers: [], pods: [] })
})

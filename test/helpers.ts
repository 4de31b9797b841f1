// Shared test helpers: a fresh server per test, typed clients, and small CRI config builders.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ServiceError } from '@grpc/grpc-js'
import { criClients, type ContainerdClients, type CriClients } from '../src/client.js'
import { decodeMessage } from '../src/proto/load.js'
import { startFakeContainerd, type FakeContainerd } from '../src/server.js'
import type { FakeContainerdOptions } from '../src/config.js'
import type { PodSandboxConfig } from '../src/generated/runtime/v1/PodSandboxConfig.js'
import type { ContainerConfig } from '../src/generated/runtime/v1/ContainerConfig.js'

export interface Harness extends CriClients {
  fake: FakeContainerd
  logDir: string
  close(): Promise<void>
}

export async function harness(options: FakeContainerdOptions = {}): Promise<Harness> {
  const fake = await startFakeContainerd(options)
  const clients = criClients(fake.address)
  const logDir = mkdtempSync(join(tmpdir(), 'fc-logs-'))
  return {
    ...clients,
    fake,
    logDir,
    close: async () => {
      clients.close()
      await fake.close()
    },
  }
}

let podCounter = 0

/** A pod config file for crictl (runp, create, run) in `dir`, named `name`: its path. */
export function crictlPodFile(dir: string, name: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'pod.json')
  const metadata = { name, namespace: 'default', uid: `${name}-uid`, attempt: 1 }
  writeFileSync(file, JSON.stringify({ metadata, log_directory: join(dir, 'pods'), linux: {}, ...extra }))
  return file
}

export function podConfig(name = `pod-${++podCounter}`, extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    labels: { app: name },
    ...extra,
  }
}

export function containerConfig(name: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image: 'busybox' }, ...extra }
}

/** Runs a pod with the given config and returns its id. */
export async function runPod(h: CriClients, config: PodSandboxConfig = podConfig()): Promise<string> {
  return (await h.runtime.RunPodSandbox({ config })).pod_sandbox_id
}

/** Pulls busybox, creates a container in the pod and (unless told not to) starts it. */
export async function runContainer(
  h: CriClients,
  podId: string,
  pod: PodSandboxConfig,
  config: ContainerConfig,
  start = true,
): Promise<string> {
  await h.image.PullImage({ image: { image: config.image?.image ?? 'busybox' } })
  const { container_id } = await h.runtime.CreateContainer({ pod_sandbox_id: podId, config, sandbox_config: pod })
  if (start) await h.runtime.StartContainer({ container_id })
  return container_id
}

/** Awaits a rejected gRPC call and returns its error. */
export async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p
  } catch (err) {
    return err as ServiceError
  }
  throw new Error('expected the call to fail, but it succeeded')
}

/** Polls until `check` returns a value (not undefined), for state that changes asynchronously. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Waits until a container reaches a CRI state and returns its status. */
export async function waitForState(h: Harness, id: string, state: string) {
  return eventually(async () => {
    const { status } = await h.runtime.ContainerStatus({ container_id: id })
    return status?.state === state ? status : undefined
  }, `container ${id} to be ${state}`)
}

/** The CRI log lines' content, without timestamps. */
export const logLines = (path: string): string[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\S+ /, ''))

/** An Events.Subscribe stream's envelopes as they come: topic, namespace and the event's decoded fields (for the node's own types). */
export interface Subscription {
  events: { topic: string; namespace: string; type: string; event: Record<string, unknown> }[]
  /** Ends the subscription. */
  close(): void
}

/** Subscribes over the socket, resolving once the server's headers say the subscription is live. */
export async function subscribe(ctr: ContainerdClients, filters: string[] = []): Promise<Subscription> {
  const events: Subscription['events'] = []
  const stream = ctr.events.Subscribe({ filters })
  stream.on('data', (e: { topic: string; namespace: string; event: { type_url: string; value: Buffer } }) => {
    let event: Record<string, unknown> = {}
    try {
      event = decodeMessage(e.event.type_url, e.event.value)
    } catch {
      // A client's own event type: kept undecoded.
    }
    events.push({ topic: e.topic, namespace: e.namespace, type: e.event.type_url, event })
  })
  stream.on('error', () => {})
  await new Promise((r) => stream.once('metadata', r))
  return { events, close: () => stream.cancel() }
}

// What CRI makes of a containerd container record: a pod sandbox (its pause container) or an app
// container, told apart by the CRI metadata the record carries, and how to look them up. A leaf
// of the model: the parts that act on CRI records (sandboxes.ts, containers.ts) and those that
// only need to recognise one (views, the network) all read these, so none needs another's class.
import type { PodSandboxConfig__Output } from '../../generated/runtime/v1/PodSandboxConfig.js'
import { unknown } from '../errors.js'
import type { ContainerRecord, CriContainerMeta, CriSandboxMeta, StoredContainerConfig } from '../../store/schema.js'

export type SandboxRecord = ContainerRecord & { cri: CriSandboxMeta }
export type AppContainerRecord = ContainerRecord & { cri: CriContainerMeta }
export type CriState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN'

export const isSandbox = (r: ContainerRecord): r is SandboxRecord => r.cri?.kind === 'sandbox'
export const isAppContainer = (r: ContainerRecord): r is AppContainerRecord => r.cri?.kind === 'container'

export function criState(c: AppContainerRecord): CriState {
  if (c.task?.status === 'running' || c.task?.status === 'paused') return 'CONTAINER_RUNNING'
  if (c.cri.exit) return 'CONTAINER_EXITED'
  return 'CONTAINER_CREATED'
}

/** Refuses a container that is not running, in containerd's words (ExecSync, Exec, Attach). */
export function requireRunning(c: AppContainerRecord): void {
  const state = criState(c)
  if (state !== 'CONTAINER_RUNNING') throw unknown(`container is in ${state} state`)
}

/** The name CRI reserves for a pod: name_namespace_uid_attempt. */
export function sandboxName(config: PodSandboxConfig__Output): string {
  const m = config.metadata
  return [m?.name, m?.namespace, m?.uid, m?.attempt ?? 0].join('_')
}

/** The name CRI reserves for a container: its name, its pod's name, namespace and uid, its attempt. */
export function containerName(config: StoredContainerConfig, sandbox: PodSandboxConfig__Output): string {
  const c = config.metadata
  const s = sandbox.metadata
  return [c?.name, s?.name, s?.namespace, s?.uid, c?.attempt ?? 0].join('_')
}

/** Finding pods by id or unique id prefix (model/cri/sandboxes.ts implements it). */
export interface SandboxLookup {
  all(): SandboxRecord[]
  find(idOrPrefix: string): SandboxRecord | undefined
  /** Like find, but a missing sandbox is containerd's NotFound error (with `context` as its text). */
  get(idOrPrefix: string, context?: string): SandboxRecord
  /** The pods holding this address, as their IP or an additional one, oldest first. */
  at(address: string): readonly SandboxRecord[]
  /** The pod whose network namespace is at this path, if any. */
  withNetns(path: string): SandboxRecord | undefined
}

// What each panel of the web view shows, read from the harness and its node: plain JSON, the same
// for the page (over Server-Sent Events) and for /api/<panel>. Reads only; nothing here changes
// the node.
import { status as grpcStatus } from '@grpc/grpc-js'
import type { FaultRule } from '../faults/rule.js'
import type { Harness, ProcessInfo } from '../harness.js'
import type { JournalEntry } from '../journal/journal.js'
import { criState, isSandbox } from '../model/cri/records.js'

/** A time kept as nanoseconds since the epoch, as milliseconds (0 if unset). */
const ms = (ns: string | undefined): number => (ns && /^\d+$/.test(ns) ? Number(BigInt(ns) / 1_000_000n) : 0)

export interface PodView {
  id: string
  name: string
  namespace: string
  uid: string
  attempt: number
  state: 'READY' | 'NOTREADY'
  ip: string
  runtimeHandler: string
  createdMs: number
}

export interface ProcessView {
  pid: number
  ppid: number
  args: string[]
  state: ProcessInfo['state']
}

export interface ContainerView {
  id: string
  /** The CRI name, or the containerd id for a container CRI did not make. */
  name: string
  /** The containerd namespace (k8s.io for CRI's). */
  namespace: string
  /** The pod's id and name, for a CRI container. */
  podId: string
  podName: string
  image: string
  /** CRI's state for a CRI container, the task's status (or "no task") for the others. */
  state: string
  exitCode: number | null
  createdMs: number
  processes: ProcessView[]
}

export interface ImageView {
  namespace: string
  name: string
  /** The config digest (the image id CRI reports). */
  id: string
  size: number
}

export interface JournalView {
  seq: number
  time: string
  service: string
  method: string
  namespace: string
  durationMs: number
  code: number
  /** The code's name (OK, UNAVAILABLE, …). */
  status: string
  details: string
  /** The call fault that fired, and the node faults that fired while the call was served. */
  fault: unknown
  nodeFaults: unknown[]
}

/** The panels the page shows apart from the journal, which goes as entries after a sequence number. */
export interface NodeView {
  pods: PodView[]
  containers: ContainerView[]
  images: ImageView[]
  faults: FaultRule[]
}

export function pods(harness: Harness): PodView[] {
  return harness.node.sandboxes.all().map((s) => {
    const m = s.cri.config.metadata
    return {
      id: s.id,
      name: m?.name ?? '',
      namespace: m?.namespace ?? '',
      uid: m?.uid ?? '',
      attempt: m?.attempt ?? 0,
      state: s.cri.ready ? 'READY' : 'NOTREADY',
      ip: s.cri.ip,
      runtimeHandler: s.cri.runtimeHandler,
      createdMs: ms(s.cri.createdAt),
    }
  })
}

export function containers(harness: Harness): ContainerView[] {
  const node = harness.node
  const byContainer = new Map<string, ProcessView[]>()
  for (const p of harness.processes()) {
    const list = byContainer.get(p.containerId) ?? []
    list.push({ pid: p.pid, ppid: p.ppid, args: p.args, state: p.state })
    byContainer.set(p.containerId, list)
  }
  return Object.values(node.state.containers)
    .filter((r) => !isSandbox(r))
    .map((r) => {
      const cri = r.cri?.kind === 'container' ? r.cri : undefined
      const pod = cri ? node.state.containers[cri.sandboxId] : undefined
      const podName = pod?.cri?.kind === 'sandbox' ? (pod.cri.config.metadata?.name ?? '') : ''
      const exit = r.task?.exitStatus ?? cri?.exit?.exitCode
      return {
        id: r.id,
        name: cri ? (cri.config.metadata?.name ?? '') : r.id,
        namespace: r.namespace,
        podId: cri?.sandboxId ?? '',
        podName,
        image: cri?.config.image?.image || r.image,
        state: cri ? criState({ ...r, cri }).replace(/^CONTAINER_/, '') : (r.task?.status ?? 'no task').toUpperCase(),
        exitCode: exit ?? null,
        createdMs: ms(cri?.createdAt ?? r.createdAt),
        processes: byContainer.get(r.id) ?? [],
      }
    })
}

export function images(harness: Harness): ImageView[] {
  const state = harness.node.state
  return state.images.map((i) => ({
    namespace: i.namespace,
    name: i.name,
    id: i.configDigest,
    size: state.imageContent[i.configDigest]?.size ?? i.size,
  }))
}

export function faults(harness: Harness): FaultRule[] {
  return harness.faults.list()
}

export function nodeView(harness: Harness): NodeView {
  return { pods: pods(harness), containers: containers(harness), images: images(harness), faults: faults(harness) }
}

/** One journal entry as the journal panel shows it: no request or response. */
export function journalView(e: JournalEntry): JournalView {
  return {
    seq: e.seq,
    time: e.time,
    service: e.service,
    method: e.method,
    namespace: e.namespace,
    durationMs: Math.round(e.durationMs * 1000) / 1000,
    code: e.status.code,
    status: grpcStatus[e.status.code] ?? String(e.status.code),
    details: e.status.details,
    fault: e.fault ?? null,
    nodeFaults: e.nodeFaults ?? [],
  }
}

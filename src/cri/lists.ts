// The filtered listings behind List*, Stream* and the stats RPCs, with containerd's filter rules:
// an id or sandbox id may be a prefix (an unknown or ambiguous one matches nothing), state and
// label selectors must all match. The cheapest index goes first: an id is one record, a pod id its
// containers; only state and labels are tested record by record, in one pass. Pods and containers
// come back as records: cri/wire.ts makes the answer of them.
import type { ContainerFilter__Output } from '../generated/runtime/v1/ContainerFilter.js'
import type { ContainerStatsFilter__Output } from '../generated/runtime/v1/ContainerStatsFilter.js'
import type { PodSandboxFilter__Output } from '../generated/runtime/v1/PodSandboxFilter.js'
import type { PodSandboxStatsFilter__Output } from '../generated/runtime/v1/PodSandboxStatsFilter.js'
import { criState } from '../model/cri/records.js'
import type { Node } from '../model/node.js'
import { sandboxState, toContainerStats, toPodSandboxStats } from './convert.js'
import { checkLabelSelector } from './validate.js'

/** containerd's Stream* RPCs send results in batches of this size. */
const STREAM_BATCH = 5000

export function batches<T>(items: T[], send: (batch: T[]) => void): void {
  for (let i = 0; i < items.length; i += STREAM_BATCH) send(items.slice(i, i + STREAM_BATCH))
}

/** containerd's label match: every key of the selector is a label of the record (its own) with that value. */
function matchesLabels(labels: Record<string, string>, selector: [string, string][]): boolean {
  for (const [k, v] of selector) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false
  return true
}

export function listings(node: Node) {
  /** Resolves a filter's id (prefix) like containerd: an unknown or ambiguous prefix matches nothing. */
  const safeResolve = (resolve: () => { id: string } | undefined, raw: string): string => {
    try {
      return resolve()?.id ?? raw
    } catch {
      return raw
    }
  }

  /** The one record a filter's id (prefix) names, or none when it names none or several. */
  const byId = <T>(find: () => T | undefined): T[] => {
    try {
      const found = find()
      return found === undefined ? [] : [found]
    } catch {
      return []
    }
  }

  const sandboxes = (filter: PodSandboxFilter__Output | null) => {
    if (filter) checkLabelSelector(filter.label_selector)
    const candidates = filter?.id ? byId(() => node.sandboxes.find(filter.id)) : node.sandboxes.all()
    const state = filter?.state?.state
    const selector = Object.entries(filter?.label_selector ?? {})
    if (state === undefined && selector.length === 0) return candidates
    return candidates.filter((s) => (state === undefined || state === sandboxState(s)) && matchesLabels(s.cri.config.labels, selector))
  }

  const containers = (filter: ContainerFilter__Output | ContainerStatsFilter__Output | null) => {
    if (filter) checkLabelSelector(filter.label_selector)
    const sb = filter?.pod_sandbox_id ? safeResolve(() => node.sandboxes.find(filter.pod_sandbox_id), filter.pod_sandbox_id) : ''
    const state = filter && 'state' in filter ? filter.state?.state : undefined
    const candidates = filter?.id
      ? byId(() => node.containers.find(filter.id))
      : sb
        ? node.sandboxes.containersOf(sb)
        : node.containers.all()
    const selector = Object.entries(filter?.label_selector ?? {})
    if (!sb && state === undefined && selector.length === 0) return candidates
    return candidates.filter(
      (c) =>
        (!sb || c.cri.sandboxId === sb) && (state === undefined || state === criState(c)) && matchesLabels(c.cri.config.labels, selector),
    )
  }

  const sandboxStats = (filter: PodSandboxStatsFilter__Output | null) => {
    if (filter) checkLabelSelector(filter.label_selector)
    const candidates = filter?.id ? byId(() => node.sandboxes.find(filter.id)) : node.sandboxes.all()
    const selector = Object.entries(filter?.label_selector ?? {})
    return candidates.filter((s) => s.cri.ready && matchesLabels(s.cri.config.labels, selector)).map((s) => toPodSandboxStats(node, s))
  }

  const containerStats = (filter: ContainerStatsFilter__Output | null) =>
    containers(filter)
      .filter((c) => criState(c) === 'CONTAINER_RUNNING')
      .map((c) => toContainerStats(c, node.usage(c)))

  return { sandboxes, containers, sandboxStats, containerStats }
}

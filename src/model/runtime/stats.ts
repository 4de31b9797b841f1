// Resource usage of simulated containers. Nothing really runs, so usage is a model: a running
// process burns a steady trickle of CPU (its counter grows with time), holds a working set that
// depends on its image, and has written a little to its writable layer.
import type { ContainerRecord } from '../../store/schema.js'
import { nowNs } from '../time.js'

export interface Usage {
  timestamp: bigint
  cpuUsageCoreNs: bigint
  /** Average nanocores since the process started. */
  cpuNanoCores: bigint
  memoryWorkingSetBytes: bigint
  memoryUsageBytes: bigint
  memoryRssBytes: bigint
  memoryAvailableBytes: bigint
  pageFaults: bigint
  majorPageFaults: bigint
  writableLayerBytes: bigint
  writableLayerInodes: bigint
  processCount: bigint
}

/** CPU a simulated process uses: 2% of one core, plus a little at start. */
const NANOCORES = 20_000_000n

/** A stable per-container number, so two containers do not report identical figures. */
function seed(id: string): bigint {
  return BigInt(parseInt(id.slice(0, 6) || '0', 16) || 0)
}

const isRunning = (record: ContainerRecord): boolean => record.task?.status === 'running' || record.task?.status === 'paused'

/** The working set a running container has before its processes allocate anything. */
export function baseMemoryBytes(record: ContainerRecord): bigint {
  return isRunning(record) ? 1_048_576n + (seed(record.id) % 64n) * 65_536n : 0n
}

/** The cgroup limits of the runtime spec's linux.resources, or of what Tasks.Update set on the task. */
interface CgroupResources {
  memory?: { limit?: number | string; swap?: number | string }
  pids?: { limit?: number | string }
}
const updatedResources = (record: ContainerRecord): CgroupResources | undefined => record.task?.resources as CgroupResources | undefined
const specResources = (record: ContainerRecord): CgroupResources | undefined =>
  (record.spec.linux as { resources?: CgroupResources } | undefined)?.resources

/** The container's memory limit (0: none): its task's cgroup as updated, else CRI's resources or the OCI spec's. */
export function memoryLimitOf(record: ContainerRecord): bigint {
  const updated = updatedResources(record)?.memory?.limit
  if (updated !== undefined && updated !== null) return BigInt(updated)
  const cri = record.cri?.kind === 'container' ? record.cri.resources?.memory_limit_in_bytes : undefined
  if (cri !== undefined && cri !== null) return BigInt(cri)
  const oci = specResources(record)?.memory?.limit
  return oci ? BigInt(oci) : 0n
}

/**
 * The container's cgroup v2 memory.swap.max, as runc writes it from the spec's memory.swap (memory
 * plus swap, cgroup v1's sense), or from what Tasks.Update set on the task: "max" when unset or -1,
 * else swap minus the memory limit.
 */
export function memorySwapOf(record: ContainerRecord): string {
  const memory = updatedResources(record)?.memory ?? specResources(record)?.memory
  const swap = Number(memory?.swap ?? 0)
  const limit = Number(memoryLimitOf(record))
  return swap > 0 && limit > 0 && swap >= limit ? String(swap - limit) : 'max'
}

/** The container's PID limit (0: none): its task's cgroup as updated, else the OCI spec's. */
export function pidsLimitOf(record: ContainerRecord): bigint {
  const limit = updatedResources(record)?.pids?.limit ?? specResources(record)?.pids?.limit
  return limit !== undefined && limit !== null && BigInt(limit) > 0n ? BigInt(limit) : 0n
}

/** What the node knows of a container's live processes. */
export interface LiveFigures {
  /** Processes in its cgroup. */
  processes: number
  /** Bytes its processes have allocated (model/runtime/memory.ts). */
  chargedBytes: number
}

export function usage(record: ContainerRecord, memoryLimitBytes: bigint, live?: LiveFigures): Usage {
  const now = nowNs()
  const task = record.task
  const running = isRunning(record)
  const startedAt = task?.startedAt ? BigInt(task.startedAt) : now
  const ranNs = running ? now - startedAt : 0n
  const s = seed(record.id)
  const cpu = running ? 5_000_000n + (ranNs * NANOCORES) / 1_000_000_000n : 0n
  const working = running ? baseMemoryBytes(record) + BigInt(live?.chargedBytes ?? 0) : 0n
  return {
    timestamp: now,
    cpuUsageCoreNs: cpu,
    cpuNanoCores: running ? NANOCORES : 0n,
    memoryWorkingSetBytes: working,
    memoryUsageBytes: running ? working + 262_144n : 0n,
    memoryRssBytes: running ? (working * 3n) / 4n : 0n,
    memoryAvailableBytes: running && memoryLimitBytes > working ? memoryLimitBytes - working : 0n,
    pageFaults: running ? 500n + ranNs / 10_000_000n : 0n,
    majorPageFaults: 0n,
    writableLayerBytes: 8_192n + (s % 16n) * 4_096n,
    writableLayerInodes: 4n + (s % 8n),
    processCount: running ? BigInt(Math.max(1, live?.processes ?? 1)) : 0n,
  }
}

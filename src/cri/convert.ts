// Model records → CRI runtime.v1 messages. Pure translation: no state, no decisions.
import type { Container } from '../generated/runtime/v1/Container.js'
import type { ContainerStats } from '../generated/runtime/v1/ContainerStats.js'
import type { ContainerStatus } from '../generated/runtime/v1/ContainerStatus.js'
import type { Image } from '../generated/runtime/v1/Image.js'
import type { NamespaceOption } from '../generated/runtime/v1/NamespaceOption.js'
import type { PodSandbox } from '../generated/runtime/v1/PodSandbox.js'
import type { PodSandboxStats } from '../generated/runtime/v1/PodSandboxStats.js'
import type { PodSandboxStatus } from '../generated/runtime/v1/PodSandboxStatus.js'
import type { Signal } from '../generated/runtime/v1/Signal.js'
import { criState, type AppContainerRecord, type SandboxRecord } from '../model/cri/records.js'
import type { ImageView } from '../model/metadata/images.js'
import type { Node } from '../model/node.js'
import type { Usage } from '../model/runtime/stats.js'

const u64 = (v: bigint): { value: string } => ({ value: v.toString() })

export function sandboxState(s: SandboxRecord): 'SANDBOX_READY' | 'SANDBOX_NOTREADY' {
  return s.cri.ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY'
}

export function toPodSandbox(s: SandboxRecord): PodSandbox {
  return {
    id: s.id,
    metadata: s.cri.config.metadata,
    state: sandboxState(s),
    created_at: s.cri.createdAt,
    labels: s.cri.config.labels,
    annotations: s.cri.config.annotations,
    runtime_handler: s.cri.runtimeHandler,
  }
}

export function toPodSandboxStatus(s: SandboxRecord): PodSandboxStatus {
  return {
    id: s.id,
    metadata: s.cri.config.metadata,
    state: sandboxState(s),
    created_at: s.cri.createdAt,
    // A stopped pod's network namespace is closed: containerd reports no address (sandbox_status.go getIPs).
    network: s.cri.networkDown
      ? { ip: '', additional_ips: [] }
      : { ip: s.cri.ip, additional_ips: s.cri.additionalIps.map((ip) => ({ ip })) },
    linux: { namespaces: { options: sandboxNamespaceModes(s) } },
    labels: s.cri.config.labels,
    annotations: s.cri.config.annotations,
    runtime_handler: s.cri.runtimeHandler,
  }
}

/** The pod's network, PID and IPC modes, always filled (POD when the config names none), as containerd reports them. */
function sandboxNamespaceModes(s: SandboxRecord): NamespaceOption {
  const o = s.cri.config.linux?.security_context?.namespace_options
  return { network: o?.network ?? 'POD', pid: o?.pid ?? 'POD', ipc: o?.ipc ?? 'POD' }
}

/** The verbose "info" JSON, shaped like containerd's SandboxInfo. */
export function sandboxInfo(s: SandboxRecord): Record<string, string> {
  const info = {
    pid: s.task?.pid ?? 0,
    processStatus: s.task?.status ?? 'deleted',
    netNamespaceClosed: !s.cri.ready,
    image: s.image,
    snapshotKey: s.snapshotKey,
    snapshotter: s.snapshotter,
    runtimeHandler: s.cri.runtimeHandler,
    runtimeType: s.runtime.name,
    runtimeOptions: null,
    config: s.cri.config,
    runtimeSpec: s.spec,
    cniResult: s.cri.ip ? { Interfaces: { eth0: { IPConfigs: [{ IP: s.cri.ip, Gateway: '' }] } } } : null,
  }
  return { info: JSON.stringify(info) }
}

export function toContainer(c: AppContainerRecord): Container {
  return {
    id: c.id,
    pod_sandbox_id: c.cri.sandboxId,
    metadata: c.cri.config.metadata,
    image: c.cri.config.image,
    image_ref: c.cri.imageId,
    image_id: c.cri.imageId,
    state: criState(c),
    created_at: c.cri.createdAt,
    labels: c.cri.config.labels,
    annotations: c.cri.config.annotations,
  }
}

export function toContainerStatus(node: Node, c: AppContainerRecord): ContainerStatus {
  const state = criState(c)
  const image = node.images.byId(c.cri.imageId)
  const exit = c.cri.exit
  const proc = c.spec.process as { user: { uid: number; gid: number; additionalGids?: number[] } }
  return {
    id: c.id,
    metadata: c.cri.config.metadata,
    state,
    created_at: c.cri.createdAt,
    started_at: state === 'CONTAINER_RUNNING' ? (c.task?.startedAt ?? '0') : (exit?.startedAt ?? '0'),
    finished_at: exit?.finishedAt ?? '0',
    exit_code: exit?.exitCode ?? 0,
    image: { image: image?.repoTags[0] ?? c.cri.config.image?.image ?? '', annotations: c.cri.config.image?.annotations ?? {} },
    image_ref: image?.repoDigests[0] ?? c.cri.imageId,
    image_id: c.cri.imageId,
    reason: exit?.reason ?? '',
    message: exit?.message ?? '',
    labels: c.cri.config.labels,
    annotations: c.cri.config.annotations,
    mounts: c.cri.config.mounts,
    log_path: c.cri.logPath,
    resources: c.cri.resources ? { linux: c.cri.resources } : null,
    user: { linux: { uid: proc.user.uid, gid: proc.user.gid, supplemental_groups: proc.user.additionalGids ?? [proc.user.gid] } },
    stop_signal: c.cri.stopSignal as Signal,
  }
}

/** The verbose "info" JSON, shaped like containerd's ContainerInfo. */
export function containerInfo(c: AppContainerRecord): Record<string, string> {
  const info = {
    sandboxID: c.cri.sandboxId,
    pid: c.task?.pid ?? 0,
    removing: false,
    snapshotKey: c.snapshotKey,
    snapshotter: c.snapshotter,
    runtimeType: c.runtime.name,
    runtimeOptions: null,
    config: c.cri.config,
    runtimeSpec: c.spec,
  }
  return { info: JSON.stringify(info) }
}

export function toImage(i: ImageView): Image {
  const user = i.content.config.user.split(':')[0] ?? ''
  const numeric = /^\d+$/.test(user)
  return {
    id: i.id,
    repo_tags: i.repoTags,
    repo_digests: i.repoDigests,
    size: String(i.size),
    uid: numeric ? { value: user } : null,
    username: numeric ? '' : user,
    spec: null,
    pinned: i.pinned,
  }
}

export function toContainerStats(c: AppContainerRecord, u: Usage): ContainerStats {
  const ts = u.timestamp.toString()
  return {
    attributes: {
      id: c.id,
      metadata: c.cri.config.metadata,
      labels: c.cri.config.labels,
      annotations: c.cri.config.annotations,
    },
    cpu: { timestamp: ts, usage_core_nano_seconds: u64(u.cpuUsageCoreNs), usage_nano_cores: u64(u.cpuNanoCores) },
    memory: {
      timestamp: ts,
      working_set_bytes: u64(u.memoryWorkingSetBytes),
      available_bytes: u64(u.memoryAvailableBytes),
      usage_bytes: u64(u.memoryUsageBytes),
      rss_bytes: u64(u.memoryRssBytes),
      page_faults: u64(u.pageFaults),
      major_page_faults: u64(u.majorPageFaults),
    },
    writable_layer: {
      timestamp: ts,
      fs_id: { mountpoint: `/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${c.id.slice(0, 12)}/fs` },
      used_bytes: u64(u.writableLayerBytes),
      inodes_used: u64(u.writableLayerInodes),
    },
    swap: { timestamp: ts, swap_available_bytes: u64(0n), swap_usage_bytes: u64(0n) },
  }
}

export function toPodSandboxStats(node: Node, s: SandboxRecord): PodSandboxStats {
  // As containerd, which fills this from ListContainerStats: only containers with a running task.
  const containers = node.sandboxes.containersOf(s.id).filter((c) => criState(c) === 'CONTAINER_RUNNING')
  const pause = node.usage(s)
  const parts = [pause, ...containers.map((c) => node.usage(c))]
  const sum = (f: (u: Usage) => bigint): bigint => parts.reduce((acc, u) => acc + f(u), 0n)
  const ts = pause.timestamp.toString()
  const running = s.cri.ready
  return {
    attributes: {
      id: s.id,
      metadata: s.cri.config.metadata,
      labels: s.cri.config.labels,
      annotations: s.cri.config.annotations,
    },
    linux: {
      cpu: { timestamp: ts, usage_core_nano_seconds: u64(sum((u) => u.cpuUsageCoreNs)), usage_nano_cores: u64(sum((u) => u.cpuNanoCores)) },
      memory: {
        timestamp: ts,
        working_set_bytes: u64(sum((u) => u.memoryWorkingSetBytes)),
        available_bytes: u64(0n),
        usage_bytes: u64(sum((u) => u.memoryUsageBytes)),
        rss_bytes: u64(sum((u) => u.memoryRssBytes)),
        page_faults: u64(sum((u) => u.pageFaults)),
        major_page_faults: u64(0n),
      },
      network: {
        timestamp: ts,
        default_interface:
          running && s.cri.ip ? { name: 'eth0', rx_bytes: u64(1_024n), rx_errors: u64(0n), tx_bytes: u64(512n), tx_errors: u64(0n) } : null,
        interfaces: [],
      },
      process: { timestamp: ts, process_count: u64(sum((u) => u.processCount)) },
      containers: containers.map((c) => toContainerStats(c, node.usage(c))),
    },
    windows: null,
  }
}

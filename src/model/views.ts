// What each container's processes see: one filesystem per container (image layers, a writable
// layer, the CRI mounts, synthesised /etc and /proc), built when first needed and shared by the
// container's init process and every exec in it, so a file one writes, another reads. A pod's
// /etc/hosts, /etc/resolv.conf, /etc/hostname and /dev/shm are shared by its containers. The views
// live in memory: after a restart a container's writable layer starts empty again.
import { createContainerFs, sandboxFiles, type ContainerFs, type MountInput, type Tmpfs } from '../sim/fs/index.js'
import type { ProcessEntry } from '../sim/fs/procfs.js'
import type { ContainerRecord } from '../store/schema.js'
import { isAppContainer, type AppContainerRecord } from './containers.js'
import { UNPACK_SNAPSHOTTER } from './images.js'
import type { Node } from './node.js'
import { isSandbox, type SandboxRecord } from './sandboxes.js'
import { pidNamespace } from './spec.js'

interface ProcessUser {
  uid: number
  gid: number
  additionalGids?: number[]
}

const userOf = (r: ContainerRecord): ProcessUser =>
  ((r.spec.process as { user?: ProcessUser } | undefined)?.user ?? { uid: 0, gid: 0 }) as ProcessUser
const argsOf = (r: ContainerRecord): string[] => ((r.spec.process as { args?: string[] } | undefined)?.args ?? []) as string[]
const live = (r: ContainerRecord | undefined): r is ContainerRecord =>
  r !== undefined && (r.task?.status === 'running' || r.task?.status === 'paused')

export class ContainerViews {
  #fs = new Map<string, ContainerFs>()
  #pods = new Map<string, Tmpfs>()

  constructor(private readonly node: Node) {}

  /** The container's filesystem (created on first use). */
  fs(record: ContainerRecord): ContainerFs {
    let fs = this.#fs.get(record.id)
    if (!fs) {
      fs = this.#create(record)
      this.#fs.set(record.id, fs)
    }
    return fs
  }

  /** Forgets a removed container's (or pod's) view. */
  drop(id: string): void {
    this.#fs.delete(id)
    this.#pods.delete(id)
  }

  clear(): void {
    this.#fs.clear()
    this.#pods.clear()
  }

  /** The processes of a container's PID namespace, as /proc and ps show them. */
  processes(record: ContainerRecord): ProcessEntry[] {
    const entry = (r: ContainerRecord, pid: number): ProcessEntry => ({ pid, args: argsOf(r), uid: userOf(r).uid, gid: userOf(r).gid })
    // A pod-shared PID namespace: the pause process is PID 1 and every container of the pod is seen.
    if (isAppContainer(record) && pidNamespace(record.cri.config) === 'pod') {
      const sandbox = this.node.sandboxes.find(record.cri.sandboxId)
      const members = this.#podMembers(record)
      return [...(live(sandbox) ? [entry(sandbox, 1)] : []), ...members.map((c, i) => entry(c, i + 2))]
    }
    return live(record) ? [entry(record, 1)] : []
  }

  /** The PID of a container's init process inside its PID namespace (1, unless it shares the pod's). */
  pidOf(record: ContainerRecord): number {
    // As recordOfPid numbers them, without asking it for every PID (each asks for the pod's members).
    if (!isAppContainer(record) || pidNamespace(record.cri.config) !== 'pod') return 1
    const i = this.#podMembers(record).indexOf(record)
    return i === -1 ? 1 : i + 2
  }

  /** Which container's init process a PID of `record`'s namespace is. */
  recordOfPid(record: ContainerRecord, pid: number): ContainerRecord | undefined {
    if (isAppContainer(record) && pidNamespace(record.cri.config) === 'pod') {
      const sandbox = this.node.sandboxes.find(record.cri.sandboxId)
      if (pid === 1) return live(sandbox) ? sandbox : undefined
      return this.#podMembers(record)[pid - 2]
    }
    return pid === 1 ? record : undefined
  }

  /** The running containers of a pod-shared PID namespace, in the order they were created: PIDs 2, 3, … */
  #podMembers(record: AppContainerRecord): ContainerRecord[] {
    return this.node.containers.all().filter((c) => c.cri.sandboxId === record.cri.sandboxId && live(c))
  }

  /** The pod's shared files. */
  #pod(sandbox: SandboxRecord): Tmpfs {
    let files = this.#pods.get(sandbox.id)
    if (!files) {
      files = sandboxFiles({
        hostname: sandbox.cri.hostname,
        podIp: sandbox.cri.ip,
        dns: sandbox.cri.config.dns_config,
        now: () => this.node.clock.now(),
      })
      this.#pods.set(sandbox.id, files)
    }
    return files
  }

  #create(record: ContainerRecord): ContainerFs {
    const node = this.node
    const user = userOf(record)
    const image = node.images.resolve(record.image, record.namespace)
    const chain = image ? node.images.topSnapshot(record.namespace, image.id) : ''
    const files = chain ? node.snapshots.files(UNPACK_SNAPSHOTTER, record.namespace, chain) : []
    const base = {
      image: { name: record.image, ...(image ? { config: image.content.config } : {}), ...(files.length > 0 ? { files } : {}) },
      user: { uid: user.uid, gid: user.gid, supplementalGroups: (user.additionalGids ?? []).filter((g) => g !== user.gid) },
      processes: () => this.processes(record),
      now: () => node.clock.now(),
    }
    if (isSandbox(record)) {
      return createContainerFs({ ...base, hostname: record.cri.hostname, sandbox: this.#pod(record), readonlyRootfs: true })
    }
    if (isAppContainer(record)) {
      const sandbox = node.sandboxes.find(record.cri.sandboxId)
      const limit = Number(record.cri.resources?.memory_limit_in_bytes ?? 0)
      return createContainerFs({
        ...base,
        hostname: sandbox?.cri.hostname ?? '',
        ...(sandbox ? { sandbox: this.#pod(sandbox), podIp: sandbox.cri.ip } : {}),
        mounts: record.cri.config.mounts.map((m): MountInput => ({
          container_path: m.container_path,
          host_path: m.host_path,
          readonly: m.readonly,
          propagation: m.propagation,
        })),
        sysctls: sandbox?.cri.config.linux?.sysctls ?? {},
        security: record.cri.config.linux?.security_context ?? null,
        ...(limit > 0 ? { memoryLimitBytes: limit } : {}),
      })
    }
    // A container made through containerd's API: its runtime spec says it all.
    const spec = record.spec as {
      hostname?: string
      root?: { readonly?: boolean }
      mounts?: { destination: string; source: string; type?: string; options?: string[] }[]
    }
    const mounts = (spec.mounts ?? [])
      .filter((m) => m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind'))
      .map((m): MountInput => ({ container_path: m.destination, host_path: m.source, readonly: m.options?.includes('ro') ?? false }))
    return createContainerFs({
      ...base,
      hostname: spec.hostname || record.id.slice(0, 12),
      readonlyRootfs: spec.root?.readonly ?? false,
      mounts,
    })
  }
}

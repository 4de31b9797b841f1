// What each container's processes see: one filesystem per container (image layers, a writable
// layer, the CRI mounts, synthesised /etc and /proc), built when first needed and shared by the
// container's init process and every exec in it, so a file one writes, another reads. A pod's
// /etc/hosts, /etc/resolv.conf, /etc/hostname and /dev/shm are shared by its containers, and so is
// its UTS namespace (the hostname sethostname changes). The views live in memory: after a restart a
// container's writable layer starts empty again and a changed hostname is the pod's again.
import { catalogFiles } from '../images/catalog.js'
import { createContainerFs, sandboxFiles, type ContainerFs, type MountInput, type Tmpfs } from '../sim/fs/index.js'
import type { NetNamespace, Uts } from '../sim/kernel.js'
import type { SeccompProfile } from '../sim/seccomp.js'
import type { ProcessEntry } from '../sim/fs/procfs.js'
import type { ContainerRecord } from '../store/schema.js'
import { isAppContainer } from './containers.js'
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
  /** UTS and network namespaces: one per pod (its sandbox's id), one per container made through containerd's API. */
  #ns = new Map<string, { uts: Uts; net: NetNamespace }>()

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
    this.#ns.delete(id)
  }

  clear(): void {
    this.#fs.clear()
    this.#pods.clear()
    this.#ns.clear()
  }

  /** The processes of a container's PID namespace, as /proc and ps show them. */
  processes(record: ContainerRecord): ProcessEntry[] {
    const entry = (r: ContainerRecord, pid: number): ProcessEntry => ({ pid, args: argsOf(r), uid: userOf(r).uid, gid: userOf(r).gid })
    // A pod-shared PID namespace: the pause process is PID 1 and every container of the pod is seen.
    if (isAppContainer(record) && pidNamespace(record.cri.config) === 'pod') {
      const sandbox = this.node.sandboxes.find(record.cri.sandboxId)
      const members = this.node.containers.all().filter((c) => c.cri.sandboxId === record.cri.sandboxId && live(c))
      return [...(live(sandbox) ? [entry(sandbox, 1)] : []), ...members.map((c, i) => entry(c, i + 2))]
    }
    return live(record) ? [entry(record, 1)] : []
  }

  /** The PID of a container's init process inside its PID namespace (1, unless it shares the pod's). */
  pidOf(record: ContainerRecord): number {
    const own = this.processes(record).find((e) => this.recordOfPid(record, e.pid) === record)
    return own?.pid ?? 1
  }

  /** Which container's init process a PID of `record`'s namespace is. */
  recordOfPid(record: ContainerRecord, pid: number): ContainerRecord | undefined {
    if (isAppContainer(record) && pidNamespace(record.cri.config) === 'pod') {
      const sandbox = this.node.sandboxes.find(record.cri.sandboxId)
      if (pid === 1) return live(sandbox) ? sandbox : undefined
      const members = this.node.containers.all().filter((c) => c.cri.sandboxId === record.cri.sandboxId && live(c))
      return members[pid - 2]
    }
    return pid === 1 ? record : undefined
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

  /**
   * The UTS and network namespaces of a pod (or a lone container): its hostname, its IP, the
   * bridges made in it. Another live pod's IP on the node answers a ping from it.
   */
  #namespaces(id: string, hostname: string, ip: string): { uts: Uts; net: NetNamespace } {
    let ns = this.#ns.get(id)
    if (!ns) {
      const node = this.node
      ns = {
        uts: { hostname },
        net: {
          addresses: ip ? [ip] : [],
          bridges: new Map(),
          reachable: (addr) => node.sandboxes.all().some((s) => s.cri.ready && s.cri.ip === addr),
        },
      }
      this.#ns.set(id, ns)
    }
    return ns
  }

  #create(record: ContainerRecord): ContainerFs {
    const node = this.node
    const user = userOf(record)
    const image = node.images.resolve(record.image, record.namespace)
    const chain = image ? node.images.topSnapshot(record.namespace, image.id) : ''
    const files = chain ? node.snapshots.files(UNPACK_SNAPSHOTTER, record.namespace, chain) : []
    const extraFiles = image ? catalogFiles(image.id) : undefined
    const base = {
      image: {
        name: record.image,
        ...(image ? { config: image.content.config } : {}),
        ...(files.length > 0 ? { files } : {}),
        ...(extraFiles ? { extraFiles } : {}),
      },
      user: { uid: user.uid, gid: user.gid, supplementalGroups: (user.additionalGids ?? []).filter((g) => g !== user.gid) },
      processes: () => this.processes(record),
      now: () => node.clock.now(),
    }
    if (isSandbox(record)) {
      return createContainerFs({
        ...base,
        hostname: record.cri.hostname,
        ...this.#namespaces(record.id, record.cri.hostname, record.cri.ip),
        sandbox: this.#pod(record),
        readonlyRootfs: true,
      })
    }
    if (isAppContainer(record)) {
      const sandbox = node.sandboxes.find(record.cri.sandboxId)
      const limit = Number(record.cri.resources?.memory_limit_in_bytes ?? 0)
      const hostname = sandbox?.cri.hostname ?? ''
      // The Localhost profile containerd loaded into the spec; RuntimeDefault is derived from the security context.
      const seccomp = (record.spec.linux as { seccomp?: SeccompProfile } | undefined)?.seccomp
      return createContainerFs({
        ...base,
        hostname,
        ...this.#namespaces(record.cri.sandboxId, hostname, sandbox?.cri.ip ?? ''),
        ...(seccomp ? { seccomp } : {}),
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
      linux?: { seccomp?: SeccompProfile }
      mounts?: { destination: string; source: string; type?: string; options?: string[] }[]
    }
    const mounts = (spec.mounts ?? [])
      .filter((m) => m.type === 'bind' || m.options?.includes('bind') || m.options?.includes('rbind'))
      .map((m): MountInput => ({ container_path: m.destination, host_path: m.source, readonly: m.options?.includes('ro') ?? false }))
    const hostname = spec.hostname || record.id.slice(0, 12)
    return createContainerFs({
      ...base,
      hostname,
      ...this.#namespaces(record.id, hostname, ''),
      seccomp: spec.linux?.seccomp ?? null,
      readonlyRootfs: spec.root?.readonly ?? false,
      mounts,
    })
  }
}

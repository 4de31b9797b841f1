// CRI's indexes over the container records, as containerd's CRI keeps them (its sandbox and
// container stores, name indexes and truncindexes): sandboxes and app containers by id and id
// prefix, the names they reserve, a pod's containers, pods by IP and by netns path. Kept by the
// container store (metadata/container-store.ts tells it of every record added or removed and of a
// replaced state), so no call lists every record to find one, and RunPodSandbox, CreateContainer
// or a lookup cost the same at ten thousand pods as at one.
import type { ContainerRecord } from '../../store/schema.js'
import type { ContainerStore, RecordIndex } from '../metadata/container-store.js'
import { IdIndex } from '../ids.js'
import { IpAllocator } from './ipam.js'
import { isAppContainer, isSandbox, type AppContainerRecord, type SandboxRecord } from './records.js'

export class CriIndex implements RecordIndex {
  readonly #sandboxes = new IdIndex<SandboxRecord>()
  readonly #containers = new IdIndex<AppContainerRecord>()
  /** Reserved names (CRI's sandbox and container name indexes are separate): name → id. */
  readonly #sandboxNames = new Map<string, string>()
  readonly #containerNames = new Map<string, string>()
  /** A pod's containers, in the order they were made. */
  readonly #ofSandbox = new Map<string, Set<AppContainerRecord>>()
  /** Pods by their IP (a pod keeps its address until it is removed): the addresses IPAM holds. */
  readonly #byIp = new Map<string, SandboxRecord>()
  /** Pods by every address they answer on, their IP and additional ones, oldest first. */
  readonly #at = new Map<string, SandboxRecord[]>()
  readonly #byNetns = new Map<string, SandboxRecord>()
  /** Pod IPs handed out from the CIDR; told of every address given back. */
  readonly ips = new IpAllocator()

  constructor(private readonly store: ContainerStore) {
    store.addIndex(this)
  }

  /** The sandboxes, up to date with the state. */
  get sandboxes(): IdIndex<SandboxRecord> {
    this.store.synced()
    return this.#sandboxes
  }

  /** The app containers, up to date with the state. */
  get containers(): IdIndex<AppContainerRecord> {
    this.store.synced()
    return this.#containers
  }

  /** The id of the sandbox holding `name`, if one does. */
  sandboxNamed(name: string): string | undefined {
    this.store.synced()
    return this.#sandboxNames.get(name)
  }

  /** The id of the container holding `name`, if one does. */
  containerNamed(name: string): string | undefined {
    this.store.synced()
    return this.#containerNames.get(name)
  }

  /** The containers of a pod, oldest first (a copy: callers remove them as they go). */
  containersOf(sandboxId: string): AppContainerRecord[] {
    this.store.synced()
    return [...(this.#ofSandbox.get(sandboxId) ?? [])]
  }

  /** Whether a pod still has containers. */
  hasContainers(sandboxId: string): boolean {
    this.store.synced()
    return (this.#ofSandbox.get(sandboxId)?.size ?? 0) > 0
  }

  /** Whether a pod holds this IP as its own (IPAM's view: additional IPs are not its). */
  holdsIp(ip: string): boolean {
    this.store.synced()
    return this.#byIp.has(ip)
  }

  /** The pods answering on an address, oldest first. */
  sandboxesAt(address: string): readonly SandboxRecord[] {
    this.store.synced()
    return this.#at.get(address) ?? []
  }

  /** The pod whose network namespace is at this path, if any. */
  sandboxWithNetns(path: string): SandboxRecord | undefined {
    this.store.synced()
    return this.#byNetns.get(path)
  }

  clear(): void {
    this.#sandboxes.clear()
    this.#containers.clear()
    this.#sandboxNames.clear()
    this.#containerNames.clear()
    this.#ofSandbox.clear()
    this.#byIp.clear()
    this.#at.clear()
    this.#byNetns.clear()
    this.ips.reset()
  }

  added(record: ContainerRecord): void {
    if (isSandbox(record)) {
      this.#sandboxes.add(record)
      // Two holders of one name only come from a state written by hand: the first keeps it, as a scan would find.
      if (!this.#sandboxNames.has(record.cri.name)) this.#sandboxNames.set(record.cri.name, record.id)
      if (record.cri.ip !== '' && !this.#byIp.has(record.cri.ip)) this.#byIp.set(record.cri.ip, record)
      if (record.cri.netnsPath !== '' && !this.#byNetns.has(record.cri.netnsPath)) this.#byNetns.set(record.cri.netnsPath, record)
      for (const address of new Set([record.cri.ip, ...record.cri.additionalIps])) {
        if (address === '') continue
        const list = this.#at.get(address)
        if (list) list.push(record)
        else this.#at.set(address, [record])
      }
    } else if (isAppContainer(record)) {
      this.#containers.add(record)
      if (!this.#containerNames.has(record.cri.name)) this.#containerNames.set(record.cri.name, record.id)
      let set = this.#ofSandbox.get(record.cri.sandboxId)
      if (!set) this.#ofSandbox.set(record.cri.sandboxId, (set = new Set()))
      set.add(record)
    }
  }

  removed(record: ContainerRecord): void {
    if (isSandbox(record)) {
      this.#sandboxes.delete(record)
      if (this.#sandboxNames.get(record.cri.name) === record.id) this.#sandboxNames.delete(record.cri.name)
      if (this.#byIp.get(record.cri.ip) === record) {
        this.#byIp.delete(record.cri.ip)
        this.ips.released(record.cri.ip)
      }
      if (this.#byNetns.get(record.cri.netnsPath) === record) this.#byNetns.delete(record.cri.netnsPath)
      for (const address of new Set([record.cri.ip, ...record.cri.additionalIps])) {
        const rest = this.#at.get(address)?.filter((s) => s !== record) ?? []
        if (rest.length > 0) this.#at.set(address, rest)
        else this.#at.delete(address)
      }
    } else if (isAppContainer(record)) {
      this.#containers.delete(record)
      if (this.#containerNames.get(record.cri.name) === record.id) this.#containerNames.delete(record.cri.name)
      const set = this.#ofSandbox.get(record.cri.sandboxId)
      set?.delete(record)
      if (set?.size === 0) this.#ofSandbox.delete(record.cri.sandboxId)
    }
  }
}

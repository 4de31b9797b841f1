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

/**
 * Every holder of a key, oldest first. One holder per key is the rule, but a state written by hand
 * or restored may give two records one name or IP: the key is free only once the last one goes.
 */
class Holders<V> {
  readonly #by = new Map<string, V[]>()

  add(key: string, value: V): void {
    const list = this.#by.get(key)
    if (list) list.push(value)
    else this.#by.set(key, [value])
  }

  /** Removes one holder; true when the key is now free. */
  remove(key: string, value: V): boolean {
    const list = this.#by.get(key)
    if (!list) return false
    const rest = list.filter((v) => v !== value)
    if (rest.length === list.length) return false
    if (rest.length > 0) this.#by.set(key, rest)
    else this.#by.delete(key)
    return rest.length === 0
  }

  first(key: string): V | undefined {
    return this.#by.get(key)?.[0]
  }

  all(key: string): readonly V[] {
    return this.#by.get(key) ?? []
  }

  has(key: string): boolean {
    return this.#by.has(key)
  }

  clear(): void {
    this.#by.clear()
  }
}

export class CriIndex implements RecordIndex {
  readonly #sandboxes = new IdIndex<SandboxRecord>()
  readonly #containers = new IdIndex<AppContainerRecord>()
  /** Reserved names (CRI's sandbox and container name indexes are separate): name → ids. */
  readonly #sandboxNames = new Holders<string>()
  readonly #containerNames = new Holders<string>()
  /** A pod's containers, in the order they were made. */
  readonly #ofSandbox = new Map<string, Set<AppContainerRecord>>()
  /** Pods by their IP while their network is up (StopPodSandbox gives it back): the addresses IPAM holds. */
  readonly #byIp = new Holders<SandboxRecord>()
  /** Pods by every address they answer on, their IP and additional ones, oldest first. */
  readonly #at = new Holders<SandboxRecord>()
  readonly #byNetns = new Holders<SandboxRecord>()
  /** Pod IPs handed out from the CIDR. */
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
    return this.#sandboxNames.first(name)
  }

  /** The id of the container holding `name`, if one does. */
  containerNamed(name: string): string | undefined {
    this.store.synced()
    return this.#containerNames.first(name)
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
    return this.#at.all(address)
  }

  /** The pod whose network namespace is at this path, if any. */
  sandboxWithNetns(path: string): SandboxRecord | undefined {
    this.store.synced()
    return this.#byNetns.first(path)
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
      // Two holders of one name only come from a state written by hand: the first answers, as a scan would find.
      this.#sandboxNames.add(record.cri.name, record.id)
      if (record.cri.netnsPath !== '') this.#byNetns.add(record.cri.netnsPath, record)
      if (!record.cri.networkDown) this.#networkUp(record)
    } else if (isAppContainer(record)) {
      this.#containers.add(record)
      this.#containerNames.add(record.cri.name, record.id)
      let set = this.#ofSandbox.get(record.cri.sandboxId)
      if (!set) this.#ofSandbox.set(record.cri.sandboxId, (set = new Set()))
      set.add(record)
    }
  }

  removed(record: ContainerRecord): void {
    if (isSandbox(record)) {
      this.#sandboxes.delete(record)
      this.#sandboxNames.remove(record.cri.name, record.id)
      this.#byNetns.remove(record.cri.netnsPath, record)
      this.#networkGone(record)
    } else if (isAppContainer(record)) {
      this.#containers.delete(record)
      this.#containerNames.remove(record.cri.name, record.id)
      const set = this.#ofSandbox.get(record.cri.sandboxId)
      set?.delete(record)
      if (set?.size === 0) this.#ofSandbox.delete(record.cri.sandboxId)
    }
  }

  /** A pod's network was torn down (StopPodSandbox; the record says so): its addresses are free. */
  networkTornDown(record: SandboxRecord): void {
    this.store.synced()
    this.#networkGone(record)
  }

  #networkUp(record: SandboxRecord): void {
    if (record.cri.ip !== '') this.#byIp.add(record.cri.ip, record)
    for (const address of new Set([record.cri.ip, ...record.cri.additionalIps])) if (address !== '') this.#at.add(address, record)
  }

  #networkGone(record: SandboxRecord): void {
    this.#byIp.remove(record.cri.ip, record)
    for (const address of new Set([record.cri.ip, ...record.cri.additionalIps])) this.#at.remove(address, record)
  }
}

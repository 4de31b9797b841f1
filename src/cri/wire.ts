// CRI's list and status answers as bytes. Each record's messages (its Container or PodSandbox list
// item, its ContainerStatus or PodSandboxStatus) are encoded once and kept until the record
// changes, and an answer is those encodings put together. That is byte for byte what encoding the
// whole answer gives: protobuf encodes a message's fields in field-number order, and an embedded
// message or a repeated one is, on the wire, its tag, its length and its bytes, once per item. So
// ListContainers' `repeated Container containers = 1` over twenty thousand containers costs a
// copy of bytes per call, not twenty thousand messages built, converted (protobufjs fromObject) and
// encoded each time, and a status call costs about what a bare grpc-js server answering a fixed
// message does. ListContainers and StreamContainers carry their items as field 1 (so do
// ListPodSandbox and StreamPodSandboxes), so one encoding serves both. Verbose info (a few KB of
// JSON per record: its config and OCI spec) is kept for the last INFO_KEPT records asked, not all.
import type * as grpc from '@grpc/grpc-js'
import type { ContainerStatusResponse } from '../generated/runtime/v1/ContainerStatusResponse.js'
import type { ListContainersResponse } from '../generated/runtime/v1/ListContainersResponse.js'
import type { ListPodSandboxResponse } from '../generated/runtime/v1/ListPodSandboxResponse.js'
import type { PodSandboxStatusResponse } from '../generated/runtime/v1/PodSandboxStatusResponse.js'
import type { StreamContainersResponse } from '../generated/runtime/v1/StreamContainersResponse.js'
import type { StreamPodSandboxesResponse } from '../generated/runtime/v1/StreamPodSandboxesResponse.js'
import { criState, type AppContainerRecord, type SandboxRecord } from '../model/cri/records.js'
import type { Node } from '../model/node.js'
import { servicePackage } from '../proto/load.js'
import { serviceConstructor } from '../service-descriptors.cjs'
import { Encoded } from '../rpc/adapter.js'
import { containerInfo, sandboxInfo, sandboxState, toContainer, toContainerStatus, toPodSandbox, toPodSandboxStatus } from './convert.js'

/** A record's encodings, and what they were made from that may change without a new record object. */
interface Kept {
  state: string
  config: object
  /** Its list item: field 1 of ListContainers' or ListPodSandbox's answer (tag, length, message). */
  item?: Buffer
  /** Its status message alone (no tag, no length). */
  status?: Buffer
  /** The images' generation (Images.generation) a container's status was made at: it names the image's tag and digest. */
  images?: number
  /** Its verbose info: field 2 of its status answer (the map's one entry). */
  info?: Buffer
}

/** How many records keep their verbose info encoded (`crictl inspect` again costs a copy), at a few KB each. */
const INFO_KEPT = 256

/** Field 1 of an answer (tag 0x0a, a length-delimited field) with its tag and length taken off: the message alone. */
function body(field1: Buffer): Buffer {
  let at = 1
  while (field1[at]! & 0x80) at++
  return field1.subarray(at + 1)
}

/** A length-delimited field's tag and length, before its bytes. */
function head(field: number, length: number): Buffer {
  const out = [(field << 3) | 2]
  for (; length >= 0x80; length >>>= 7) out.push((length & 0x7f) | 0x80)
  out.push(length)
  return Buffer.from(out)
}

/** `containers_statuses = 3` of PodSandboxStatusResponse; `status = 1` of both status answers. */
const STATUS = 1
const CONTAINER_STATUSES = 3

/**
 * The kept encodings of one node's CRI records. A record's are dropped when the node says it
 * changed (Node.onChanged); its CRI state, the value that changes most (every task start and
 * exit), and its config object are checked again on each use as well, so that a change told a
 * moment late is never answered from old bytes. A container's status names its image's tag and
 * digest, so every kept status goes when the images change. A record replaced whole (restart,
 * restore) is a new key.
 */
export class CriWire {
  #kept = new WeakMap<object, Kept>()
  /** What holds an info, oldest first: past INFO_KEPT the oldest lets its go. */
  readonly #infos = new Set<Kept>()
  readonly #service: grpc.ServiceDefinition

  constructor(node: Node) {
    this.#service = serviceConstructor(servicePackage('cri'), 'runtime.v1.RuntimeService').service as grpc.ServiceDefinition
    node.onChanged((paths) => {
      if (paths.length === 0) this.#kept = new WeakMap()
      for (const path of paths) {
        if (path[0] !== 'containers' || path.length < 2) continue
        const record = node.state.containers[path[1]!]
        if (record) this.#kept.delete(record)
      }
    })
  }

  /** ListContainers' (and StreamContainers') answer for these containers, in this order. */
  containers(records: readonly AppContainerRecord[]): Encoded<ListContainersResponse & StreamContainersResponse> {
    return this.#list(records, (c) => this.#encode('ListContainers', { containers: [toContainer(c)] }))
  }

  /** ListPodSandbox's (and StreamPodSandboxes') answer for these pods, in this order. */
  sandboxes(records: readonly SandboxRecord[]): Encoded<ListPodSandboxResponse & StreamPodSandboxesResponse> {
    return this.#list(records, (s) => this.#encode('ListPodSandbox', { items: [toPodSandbox(s)] }))
  }

  /** A list answer: each record's kept item (made by `item` when it has none), one after another. */
  #list<R extends AppContainerRecord | SandboxRecord, T>(records: readonly R[], item: (record: R) => Buffer): Encoded<T> {
    const parts = records.map((r) => (this.#of(r).item ??= item(r)))
    return new Encoded(parts.length === 1 ? parts[0]! : Buffer.concat(parts))
  }

  /** ContainerStatus' answer: the status, and with verbose the info map. */
  containerStatus(node: Node, c: AppContainerRecord, verbose: boolean): Encoded<ContainerStatusResponse> {
    const status = this.#containerStatus(node, c)
    const parts = [head(STATUS, status.length), status]
    if (verbose) parts.push(this.#info(this.#of(c), () => this.#encode('ContainerStatus', { info: containerInfo(c) })))
    return new Encoded(Buffer.concat(parts))
  }

  /** PodSandboxStatus' answer: the pod's status, with verbose its info, its containers' statuses, the time. */
  podSandboxStatus(
    node: Node,
    s: SandboxRecord,
    containers: readonly AppContainerRecord[],
    verbose: boolean,
    timestamp: string,
  ): Encoded<PodSandboxStatusResponse> {
    const kept = this.#of(s)
    const status = (kept.status ??= body(this.#encode('PodSandboxStatus', { status: toPodSandboxStatus(s) })))
    const parts = [head(STATUS, status.length), status]
    if (verbose) parts.push(this.#info(kept, () => this.#encode('PodSandboxStatus', { info: sandboxInfo(s) })))
    for (const c of containers) {
      const cs = this.#containerStatus(node, c)
      parts.push(head(CONTAINER_STATUSES, cs.length), cs)
    }
    parts.push(this.#encode('PodSandboxStatus', { timestamp }))
    return new Encoded(Buffer.concat(parts))
  }

  #containerStatus(node: Node, c: AppContainerRecord): Buffer {
    const kept = this.#of(c)
    if (kept.status && kept.images === node.images.generation) return kept.status
    kept.images = node.images.generation
    return (kept.status = body(this.#encode('ContainerStatus', { status: toContainerStatus(node, c), info: {} })))
  }

  #info(kept: Kept, make: () => Buffer): Buffer {
    if (kept.info) return kept.info
    kept.info = make()
    this.#infos.add(kept)
    if (this.#infos.size > INFO_KEPT) {
      const [oldest] = this.#infos
      this.#infos.delete(oldest!)
      oldest!.info = undefined
    }
    return kept.info
  }

  /** What is kept of a record, made anew when its state or config is not what the kept bytes were made from. */
  #of(record: AppContainerRecord | SandboxRecord): Kept {
    const state = record.cri.kind === 'sandbox' ? sandboxState(record as SandboxRecord) : criState(record as AppContainerRecord)
    const config = record.cri.config
    let kept = this.#kept.get(record)
    if (!kept || kept.state !== state || kept.config !== config) this.#kept.set(record, (kept = { state, config }))
    return kept
  }

  /** A message of a method's answer, encoded by the method's own serializer (what the adapter would have used). */
  #encode(method: string, message: object): Buffer {
    return this.#service[method]!.responseSerialize(message)
  }
}

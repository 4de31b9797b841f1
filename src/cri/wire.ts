// CRI's list answers as bytes. Each record's Container (or PodSandbox) message is encoded once and
// kept until the record changes; a ListContainers answer is those encodings one after another. On
// the wire `repeated Container containers = 1` is each item as a field 1 of its own (tag 0x0a, its
// length, its bytes), which is exactly what encoding the whole list as one message gives, so the
// answer is byte for byte the same; twenty thousand containers then cost a copy of bytes per call,
// not twenty thousand messages built, converted (protobufjs fromObject) and encoded each time.
// ListContainers and StreamContainers both carry their items as field 1 (so do ListPodSandbox and
// StreamPodSandboxes), so one encoding serves both.
import type * as grpc from '@grpc/grpc-js'
import type { ListContainersResponse } from '../generated/runtime/v1/ListContainersResponse.js'
import type { ListPodSandboxResponse } from '../generated/runtime/v1/ListPodSandboxResponse.js'
import type { StreamContainersResponse } from '../generated/runtime/v1/StreamContainersResponse.js'
import type { StreamPodSandboxesResponse } from '../generated/runtime/v1/StreamPodSandboxesResponse.js'
import { criState, type AppContainerRecord, type CriState, type SandboxRecord } from '../model/cri/records.js'
import type { Node } from '../model/node.js'
import { servicePackage } from '../proto/load.js'
import { serviceConstructor } from '../service-descriptors.cjs'
import { Encoded } from '../rpc/adapter.js'
import { sandboxState, toContainer, toPodSandbox } from './convert.js'

/** An item's encoding and what it was made from that may change without a new record object. */
interface Item {
  state: CriState | 'SANDBOX_READY' | 'SANDBOX_NOTREADY'
  config: object
  bytes: Buffer
}

/** Encodes one item as field 1 of a list message: the method's own serializer over a list of one. */
type Encode = (item: object) => Buffer

/**
 * The encoded items of one node's CRI records. An item is dropped when the node says its record
 * changed (Node.onChanged); its CRI state, the value that changes most (every task start and exit),
 * and its config object are checked again on each use as well, so that a change told a moment late
 * is never answered from the old bytes. A record replaced whole (restart, restore) is a new key.
 */
export class ListWire {
  #items = new WeakMap<object, Item>()
  readonly #encodeContainer: Encode
  readonly #encodeSandbox: Encode

  constructor(node: Node) {
    const service = serviceConstructor(servicePackage('cri'), 'runtime.v1.RuntimeService').service as grpc.ServiceDefinition
    const container = service.ListContainers!.responseSerialize
    const sandbox = service.ListPodSandbox!.responseSerialize
    this.#encodeContainer = (c) => container({ containers: [c] })
    this.#encodeSandbox = (s) => sandbox({ items: [s] })
    node.onChanged((paths) => {
      if (paths.length === 0) this.#items = new WeakMap()
      for (const path of paths) {
        if (path[0] !== 'containers' || path.length < 2) continue
        const record = node.state.containers[path[1]!]
        if (record) this.#items.delete(record)
      }
    })
  }

  /** ListContainers' (and StreamContainers') answer for these containers, in this order. */
  containers(records: readonly AppContainerRecord[]): Encoded<ListContainersResponse & StreamContainersResponse> {
    return new Encoded(this.#concat(records.map((c) => this.#item(c, criState(c), c.cri.config, toContainer, this.#encodeContainer))))
  }

  /** ListPodSandbox's (and StreamPodSandboxes') answer for these pods, in this order. */
  sandboxes(records: readonly SandboxRecord[]): Encoded<ListPodSandboxResponse & StreamPodSandboxesResponse> {
    return new Encoded(this.#concat(records.map((s) => this.#item(s, sandboxState(s), s.cri.config, toPodSandbox, this.#encodeSandbox))))
  }

  #item<R extends object>(record: R, state: Item['state'], config: object, message: (r: R) => object, encode: Encode): Buffer {
    const kept = this.#items.get(record)
    if (kept && kept.state === state && kept.config === config) return kept.bytes
    const bytes = encode(message(record))
    this.#items.set(record, { state, config, bytes })
    return bytes
  }

  #concat(parts: Buffer[]): Buffer {
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }
}

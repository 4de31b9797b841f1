// What every part of the node model shares: the state, the change signal for the store, and the
// event bus for containerd envelopes. Node implements it; each part gets it in its constructor.
import type { NodeState, StatePath } from '../store/schema.js'

export interface Core {
  readonly state: NodeState
  /**
   * Marks the state dirty at these paths (a record, or a small collection) so the store writes
   * them (coalesced); without a path, the whole state is written (store/store.ts).
   */
  changed(...paths: StatePath[]): void
  /** Publishes a containerd event: topic (e.g. /tasks/exit), payload type and fields. */
  emit(namespace: string, topic: string, type: string, payload: Record<string, unknown>): void
  /** Creates a namespace implicitly, as creating any object in it does. */
  ensureNamespace(namespace: string): void
  /** Whether a namespace exists (errors that name it say so). */
  namespaceExists(namespace: string): boolean
  /** Collects content and snapshots nothing holds any more (model/metadata/gc.ts); call after deletions. */
  gc(): unknown
  /**
   * Asks for a collection soon (after a burst of deletions, not one per deletion): for removals that
   * happen in bulk, like CRI's. What a client reads of content, snapshots and leases settles it first.
   */
  gcSoon(): void
  /** Runs the collection gcSoon asked for, if it has not run yet: before a read whose answer it changes. */
  settleGc(): void
}

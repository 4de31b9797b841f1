import type { Logger } from '../log.js'

// The node's event bus. Every lifecycle change is published here once; the CRI face turns these
// into GetContainerEvents messages (and the containerd face, later, into envelopes).

export type LifecycleEventType = 'CREATED' | 'STARTED' | 'STOPPED' | 'DELETED'

export interface LifecycleEvent {
  type: LifecycleEventType
  /** The container the event is about; for a sandbox, its own id. */
  containerId: string
  sandboxId: string
  at: bigint
}

type Listener = (event: LifecycleEvent) => void

export class EventBus {
  constructor(private readonly log: Logger) {}

  #listeners = new Set<Listener>()

  /** Subscribes; returns the function that unsubscribes. Listeners run synchronously. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  publish(event: LifecycleEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (err) {
        this.log.error(`event listener failed: ${(err as Error).message}`)
      }
    }
  }
}

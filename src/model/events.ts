import type { Logger } from '../log.js'

// The node's event bus. Every change is published here once, in two forms: CRI lifecycle events
// (turned into GetContainerEvents messages by the CRI face) and containerd envelopes (topic +
// typed payload, turned into Events.Subscribe messages by the containerd face).

export type LifecycleEventType = 'CREATED' | 'STARTED' | 'STOPPED' | 'DELETED'

export interface LifecycleEvent {
  type: LifecycleEventType
  /** The container the event is about; for a sandbox, its own id. */
  containerId: string
  sandboxId: string
  at: bigint
}

/**
 * A containerd event: its payload uses proto field names of the full type name `type`. An event a
 * client published (Events.Publish/Forward) is passed on as the Any it sent, in `raw`.
 */
export interface Envelope {
  namespace: string
  topic: string
  type: string
  payload: Record<string, unknown>
  raw?: { type_url: string; value: Buffer }
  at: bigint
}

class Channel<E> {
  #listeners = new Set<(event: E) => void>()

  constructor(private readonly log: Logger) {}

  subscribe(listener: (event: E) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  publish(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (err) {
        this.log.error(`event listener failed: ${(err as Error).message}`)
      }
    }
  }
}

export class EventBus {
  /** CRI lifecycle events. Listeners run synchronously, so they see the state of that moment. */
  readonly lifecycle: Channel<LifecycleEvent>
  /** containerd envelopes. */
  readonly envelopes: Channel<Envelope>

  constructor(log: Logger) {
    this.lifecycle = new Channel(log)
    this.envelopes = new Channel(log)
  }
}

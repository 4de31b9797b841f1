// Events service: Subscribe streams every envelope the node emits (from CRI and containerd
// operations alike) that matches the filters; Publish and Forward let clients add their own.
import type { EventsHandlers } from '../generated/containerd/services/events/v1/Events.js'
import type { Envelope as WireEnvelope } from '../generated/containerd/types/Envelope.js'
import { invalidArgument } from '../model/errors.js'
import type { Envelope } from '../model/events.js'
import { validateIdentifier } from '../model/metadata/namespaces.js'
import type { Node } from '../model/node.js'
import { nowNs } from '../model/time.js'
import { encodeMessage } from '../proto/load.js'
import type { Implementation } from '../rpc/adapter.js'
import { namespaceOf } from './context.js'
import { fromTimestamp, timestamp } from './convert.js'
import { mapField, parseFilters, type Adaptor } from './filters.js'
import { publishes, type ContainerdVersion } from './profiles.js'

/** containerd's envelope fields: namespace, topic, and the event's own string fields (event.<field>). */
function adaptor(e: Envelope): Adaptor {
  return (path) => {
    switch (path[0]) {
      case 'namespace':
        return e.namespace || undefined
      case 'topic':
        return e.topic || undefined
      case 'event': {
        const field = path[1]
        if (field === undefined) return undefined
        if (field === 'labels') return mapField(path.slice(2), e.payload.labels as Record<string, string> | undefined)
        const value = e.payload[field]
        return typeof value === 'string' && value !== '' ? value : undefined
      }
    }
    return undefined
  }
}

/** containerd's validateTopic. */
function checkTopic(topic: string): void {
  const fail = (why: string): never => {
    throw invalidArgument(`envelope topic ${JSON.stringify(topic)}: ${why}: invalid argument`)
  }
  if (topic === '') fail('must not be empty')
  if (!topic.startsWith('/')) fail("must start with '/'")
  if (topic.length === 1) fail('must have at least one component')
  for (const component of topic.slice(1).split('/')) {
    try {
      validateIdentifier(component)
    } catch (err) {
      fail(`failed validation on component ${JSON.stringify(component)}: ${(err as Error).message}`)
    }
  }
}

function toWire(e: Envelope): WireEnvelope {
  return {
    timestamp: timestamp(e.at.toString()),
    namespace: e.namespace,
    topic: e.topic,
    event: e.raw ?? { type_url: e.type, value: encodeMessage(e.type, e.payload) },
  }
}

export function eventsService(node: Node, containerd: ContainerdVersion): Implementation<EventsHandlers> {
  return {
    Publish: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      checkTopic(req.topic)
      if (!req.event) throw invalidArgument('event must be set: invalid argument')
      node.events.envelopes.publish({ namespace, topic: req.topic, type: req.event.type_url, payload: {}, raw: req.event, at: nowNs() })
      return {}
    },
    Forward: (req) => {
      const e = req.envelope
      if (!e) throw invalidArgument('envelope must be set: invalid argument')
      try {
        validateIdentifier(e.namespace)
      } catch (err) {
        throw invalidArgument(`event envelope has invalid namespace: ${(err as Error).message}`)
      }
      checkTopic(e.topic)
      const at = fromTimestamp(e.timestamp)
      if (!at || at === '0') throw invalidArgument('timestamp must be set on forwarded event: invalid argument')
      if (!e.event) throw invalidArgument('event must be set: invalid argument')
      node.events.envelopes.publish({
        namespace: e.namespace,
        topic: e.topic,
        type: e.event.type_url,
        payload: {},
        raw: e.event,
        at: BigInt(at),
      })
      return {}
    },
    Subscribe: (req, ctx, send) => {
      const match = parseFilters(req.filters)
      return new Promise<void>((resolve) => {
        const unsubscribe = node.events.envelopes.subscribe((e) => {
          // A client's own events (raw) always pass; the node's only those the generation publishes.
          if ((e.raw || publishes(containerd, e.topic)) && match(adaptor(e))) send(toWire(e))
        })
        ctx.signal.addEventListener('abort', () => {
          unsubscribe()
          resolve()
        })
        ctx.sendHeaders()
      })
    },
  }
}

// Content service: blobs by digest, their labels, and resumable writes (services/content/contentserver).
import type { ContentHandlers } from '../generated/containerd/services/content/v1/Content.js'
import type { Info } from '../generated/containerd/services/content/v1/Info.js'
import type { Status } from '../generated/containerd/services/content/v1/Status.js'
import type { WriteContentRequest__Output } from '../generated/containerd/services/content/v1/WriteContentRequest.js'
import type { WriteContentResponse } from '../generated/containerd/services/content/v1/WriteContentResponse.js'
import type { ContentInfo, Ingest } from '../model/metadata/content.js'
import { RuntimeError, invalidArgument, unknown, type ErrorKind } from '../model/errors.js'
import { digestProblem } from '../model/metadata/leases.js'
import { checkDigest as checkExpected } from '../model/metadata/content.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'
import { leaseOf, namespaceOf } from './context.js'
import { timestamp } from './convert.js'
import { mapField, parseFilters, type Adaptor } from './filters.js'

/** containerd reads in chunks of its 1 MiB buffer. */
const READ_CHUNK = 1 << 20
/** List RPCs send their results in blocks of this many. */
const LIST_BLOCK = 100

/** containerd answers a write or read at the wrong offset with OUT_OF_RANGE. */
export const OUT_OF_RANGE: ErrorKind = 'OutOfRange'

export function toInfo(i: ContentInfo): Info {
  return { digest: i.digest, size: i.size, created_at: timestamp(i.createdAt), updated_at: timestamp(i.updatedAt), labels: i.labels }
}

function toStatus(i: Ingest): Status {
  return {
    started_at: timestamp(i.startedAt),
    updated_at: timestamp(i.updatedAt),
    ref: i.ref,
    offset: i.offset,
    total: i.total,
    expected: i.expected,
  }
}

/** containerd's content filter fields (content.AdaptInfo): digest, labels.<key>; size is not filterable. */
function adaptor(i: ContentInfo): Adaptor {
  return (path) => {
    switch (path[0]) {
      case 'digest':
        return i.digest
      case 'labels':
        return mapField(path.slice(1), i.labels)
    }
    return undefined
  }
}

/** The Info/Update RPCs refuse a malformed digest with the service's own wording (no sentinel). */
function checkDigest(digest: string): void {
  if (digestProblem(digest)) throw invalidArgument(`${JSON.stringify(digest)} failed validation`)
}

const int = (v: string | number): number => Number(v)

export function contentService(node: Node): Implementation<ContentHandlers> {
  const content = node.content
  return {
    Info: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      checkDigest(req.digest)
      return { info: toInfo(content.info(namespace, req.digest)) }
    },

    Update: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const digest = req.info?.digest ?? ''
      checkDigest(digest)
      const info = content.update(namespace, digest, req.info?.labels ?? {}, req.update_mask?.paths ?? [])
      // Labels may have dropped references: what nothing holds any more is garbage.
      node.gc()
      return { info: toInfo(info) }
    },

    List: async (req, ctx, send) => {
      const namespace = namespaceOf(ctx)
      const match = parseFilters(req.filters)
      const infos = content
        .list(namespace)
        .filter((i) => content.has(namespace, i.digest) && match(adaptor(i)))
        .map(toInfo)
      for (let i = 0; i < infos.length; i += LIST_BLOCK) send({ info: infos.slice(i, i + LIST_BLOCK) })
    },

    Delete: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const problem = digestProblem(req.digest)
      if (problem) throw invalidArgument(problem)
      content.delete(namespace, req.digest, leaseOf(ctx))
      node.gc()
      return {}
    },

    Read: async (req, ctx, send) => {
      const namespace = namespaceOf(ctx)
      const problem = digestProblem(req.digest)
      if (problem) throw invalidArgument(`${req.digest}: ${problem}`)
      const info = content.info(namespace, req.digest)
      let offset = Math.max(0, int(req.offset))
      if (offset > info.size) throw new RuntimeError(OUT_OF_RANGE, `read past object length ${info.size} bytes`)
      let size = int(req.size)
      if (size <= 0 || offset + size > info.size) size = info.size - offset
      const data = content.read(namespace, req.digest, offset, size)
      // As containerd's readResponseWriter: offsets count from the start of this read, not of the blob.
      for (offset = 0; offset < data.length && !ctx.signal.aborted; offset += READ_CHUNK) {
        send({ offset, data: data.subarray(offset, offset + READ_CHUNK) })
      }
    },

    Status: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      try {
        return { status: toStatus(content.status(namespace, req.ref)) }
      } catch (err) {
        if (err instanceof RuntimeError) {
          throw new RuntimeError(err.kind, `could not get status for ref ${JSON.stringify(req.ref)}: ${err.message}`)
        }
        throw err
      }
    },

    ListStatuses: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const match = parseFilters(req.filters)
      return {
        statuses: content
          .statuses(namespace)
          .filter((i) => match((p) => (p[0] === 'ref' ? i.ref : undefined)))
          .map(toStatus),
      }
    },

    Abort: (req, ctx) => {
      content.abort(namespaceOf(ctx), req.ref, leaseOf(ctx))
      return {}
    },

    Write: async (requests, ctx, send) => {
      const namespace = namespaceOf(ctx)
      const lease = leaseOf(ctx)
      const incoming = requests[Symbol.asyncIterator]()
      const first = await incoming.next()
      // Go's Recv gives io.EOF, which the service returns as it is: an UNKNOWN "EOF".
      if (first.done) throw unknown('EOF')
      let req: WriteContentRequest__Output = first.value
      const ref = req.ref
      if (ref === '') throw invalidArgument('first message must have a reference')
      let total = int(req.total)
      let expected = req.expected
      const ingest = content.openWriter(namespace, ref, total, expected, lease)
      // containerd reuses one response message for the whole session: fields set by a STAT stay
      // in later responses, and on success the last one is sent once more as the session ends.
      const msg: WriteContentResponse = { action: 'STAT', offset: 0, total: 0, digest: '', started_at: null, updated_at: null }
      let committed = false
      try {
        for (;;) {
          msg.action = req.action
          msg.offset = ingest.offset
          if (req.expected !== '') {
            checkExpected(req.expected)
            expected = req.expected
            if (content.has(namespace, expected)) {
              content.release(ingest)
              content.abort(namespace, ref, lease)
              throw new RuntimeError('AlreadyExists', `blob with expected digest ${req.expected} exists`)
            }
          }
          if (int(req.total) > 0) total = int(req.total)
          if (req.action === 'STAT') {
            msg.digest = content.digestOf(ingest)
            msg.started_at = timestamp(ingest.startedAt)
            msg.updated_at = timestamp(ingest.updatedAt)
            msg.total = total
          } else {
            const offset = int(req.offset)
            if (offset > 0 && offset !== ingest.offset) {
              throw new RuntimeError(OUT_OF_RANGE, `write @${offset} must occur at current offset ${ingest.offset}`)
            }
            if (offset === 0 && ingest.offset > 0) {
              content.truncate(ingest, 0)
              msg.offset = 0
            }
            if (req.data.length > 0) {
              content.append(ingest, req.data)
              msg.offset = Number(msg.offset) + req.data.length
            }
            if (req.action === 'COMMIT') {
              const labels = Object.keys(req.labels).length > 0 ? req.labels : undefined
              content.commit(ingest, total, expected, labels, lease)
              committed = true
            }
            msg.digest = content.digestOf(ingest)
          }
          send({ ...msg })
          if (committed) break
          const next = await incoming.next()
          if (next.done) break
          req = next.value
        }
      } finally {
        content.release(ingest)
      }
      send({ ...msg })
    },
  }
}

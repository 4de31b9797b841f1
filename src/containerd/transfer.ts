// Transfer service (containerd 2.x): a source and a destination, each an Any, and the streams they
// name (Streaming service). Served pairs, as containerd's local transfer service: archive import
// (ImageImportStream → ImageStore), export (ImageStore → ImageExportStream), tag (ImageStore →
// ImageStore), pull (OCIRegistry → ImageStore) and push (ImageStore → OCIRegistry); the work is
// model/transfer/. Bytes flow with containerd's window credit: a receiver grants 64 KiB at a time,
// a sender sends at most 32 KiB per Data message. A registry's credentials are asked of the client
// over the auth stream it names (AuthRequest out, AuthResponse back), one question at a time.
import type { TransferHandlers } from '../generated/containerd/services/transfer/v1/Transfer.js'
import { RuntimeError } from '../model/errors.js'
import type { Node } from '../model/node.js'
import type { Credentials } from '../registry/auth.js'
import { RegistryError } from '../registry/errors.js'
import { RegistryTransfer, type RegistrySpec } from '../model/transfer/registry.js'
import { ImageTransfer, type ExportSpec, type ImageStoreSpec, type PlatformSpec, type ProgressEvent } from '../model/transfer/images.js'
import { decodeMessage, encodeMessage, knownMessage } from '../proto/load.js'
import type { Implementation } from '../rpc/adapter.js'
import { leaseOf, namespaceOf } from './context.js'
import { anyType, streamsOf, type AnyMessage, type Stream, type StreamManager } from './streaming.js'

const T = 'containerd.types.transfer.'
const IMAGE_STORE = `${T}ImageStore`
const IMPORT_STREAM = `${T}ImageImportStream`
const EXPORT_STREAM = `${T}ImageExportStream`
const OCI_REGISTRY = `${T}OCIRegistry`
const DATA = `${T}Data`
const WINDOW_UPDATE = `${T}WindowUpdate`
const PROGRESS = `${T}Progress`
const AUTH_REQUEST = `${T}AuthRequest`
const AUTH_RESPONSE = `${T}AuthResponse`
/** AuthResponse.authType: CREDENTIALS and REFRESH carry a secret (REFRESH with no user name). */
const AUTH_CREDENTIALS = 1
const AUTH_REFRESH = 2
/** containerd's streaming window and largest Data message. */
const WINDOW = 64 * 1024
const MAX_DATA = 32 * 1024

const anyOf = (type: string, value: Record<string, unknown>): AnyMessage => ({ type_url: type, value: encodeMessage(type, value) })

/** An Any of the types Transfer takes, decoded (proto field names). */
function decodeObject(a: AnyMessage | null | undefined, what: string): { type: string; value: Record<string, unknown> } {
  if (!a) throw new RuntimeError('InvalidArgument', `transfer ${what} is required: invalid argument`)
  const type = anyType(a)
  if (![IMAGE_STORE, IMPORT_STREAM, EXPORT_STREAM, OCI_REGISTRY].includes(type)) {
    // A type typeurl knows but no transferrer takes reaches the end of the service's loop: Unimplemented there.
    if (!knownMessage(type)) throw new RuntimeError('NotFound', `type with url ${a.type_url}: not found`)
  }
  try {
    return { type, value: decodeMessage(type, a.value) }
  } catch (err) {
    throw new RuntimeError('InvalidArgument', `transfer ${what} (${type}) does not decode: ${(err as Error).message}: invalid argument`)
  }
}

type Obj = Record<string, unknown>
const platformOf = (p: unknown): PlatformSpec | undefined =>
  p
    ? { os: String((p as Obj).os ?? ''), architecture: String((p as Obj).architecture ?? ''), variant: String((p as Obj).variant ?? '') }
    : undefined
const platformsOf = (ps: unknown): PlatformSpec[] => ((ps as unknown[] | undefined) ?? []).map((p) => platformOf(p) as PlatformSpec)

function imageStoreOf(v: Obj): ImageStoreSpec {
  return {
    name: String(v.name ?? ''),
    labels: (v.labels as Record<string, string> | undefined) ?? {},
    platforms: platformsOf(v.platforms),
    allMetadata: v.all_metadata === true,
    extraReferences: ((v.extra_references as Obj[] | undefined) ?? []).map((r) => ({
      name: String(r.name ?? ''),
      isPrefix: r.is_prefix === true,
      allowOverwrite: r.allow_overwrite === true,
      addDigest: r.add_digest === true,
      skipNamedDigest: r.skip_named_digest === true,
    })),
    unpacks: ((v.unpacks as Obj[] | undefined) ?? []).map((u) => ({
      platform: platformOf(u.platform),
      snapshotter: String(u.snapshotter ?? ''),
    })),
  }
}

/**
 * The most bytes one import may send. The archive is held whole while it is read into the content store
 * (about three times its size at the peak), so the bound keeps one client from taking the server's memory.
 */
export const importLimits = { maxBytes: 512 * 1024 * 1024 }

const mib = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`)

/** A Data or WindowUpdate a client sent on a stream, decoded; one that does not decode is InvalidArgument. */
function decodeStreamed(type: string, m: AnyMessage, what: 'import' | 'export' | 'auth'): Record<string, unknown> {
  try {
    return decodeMessage(type, m.value)
  } catch (err) {
    throw new RuntimeError(
      'InvalidArgument',
      `the ${what} stream sent a ${type.slice(T.length)} that does not decode: ${(err as Error).message}: invalid argument`,
    )
  }
}

/** The stream's next message, or Canceled when the Transfer call is cancelled first. */
async function recvOrCancel(stream: Stream, signal: AbortSignal): Promise<AnyMessage | undefined> {
  const cancelled = (): RuntimeError => new RuntimeError('Canceled', 'the transfer was cancelled by the client: context canceled')
  if (signal.aborted) throw cancelled()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelled())
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([stream.recv(), aborted])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}

/** Reads a byte stream to its end, granting the sender credit as containerd's ReceiveStream does. */
async function receiveAll(stream: Stream, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  let window = 0
  const limit = importLimits.maxBytes
  try {
    for (;;) {
      if (window < WINDOW) {
        stream.send(anyOf(WINDOW_UPDATE, { update: WINDOW }))
        window += WINDOW
      }
      const m = await recvOrCancel(stream, signal)
      if (!m) break
      if (anyType(m) !== DATA) continue
      const data = Buffer.from(decodeStreamed(DATA, m, 'import').data as Uint8Array)
      total += data.length
      if (total > limit) {
        throw new RuntimeError(
          'ResourceExhausted',
          `the import stream sent more than ${mib(limit)}, the largest archive fake-containerd imports in one transfer: resource exhausted`,
        )
      }
      chunks.push(data)
      window -= data.length
    }
  } finally {
    stream.close()
  }
  return Buffer.concat(chunks)
}

/** Sends bytes as the receiver's credit allows (containerd's SendStream), then ends the stream. */
async function sendAll(stream: Stream, bytes: Buffer, signal: AbortSignal): Promise<void> {
  let credit = 0
  let offset = 0
  try {
    while (offset < bytes.length) {
      while (credit <= 0) {
        const m = await recvOrCancel(stream, signal)
        if (!m) throw new RuntimeError('Unknown', 'the export stream closed before the archive was sent: unknown')
        if (anyType(m) === WINDOW_UPDATE) credit += Number(decodeStreamed(WINDOW_UPDATE, m, 'export').update)
      }
      const n = Math.min(MAX_DATA, credit, bytes.length - offset)
      stream.send(anyOf(DATA, { data: bytes.subarray(offset, offset + n) }))
      offset += n
      credit -= n
    }
  } finally {
    stream.close()
  }
}

/**
 * credCallback (core/transfer/registry): each question an AuthRequest on the stream, answered by the
 * client's next message; questions wait for the one before (the stream has one reader).
 */
function credentialsOver(stream: Stream, reference: string, signal: AbortSignal): Credentials {
  let last: Promise<unknown> = Promise.resolve()
  return (host, pullSignal) => {
    // The question ends with the call or with the pull that asked it (a failure elsewhere in the pull).
    const until = pullSignal ? AbortSignal.any([signal, pullSignal]) : signal
    const ask = last.then(async () => {
      stream.send(anyOf(AUTH_REQUEST, { host, reference, wwwauthenticate: [] }))
      const m = await recvOrCancel(stream, until)
      if (!m) throw new RegistryError('Unknown', `the auth stream closed before it answered for ${host}: EOF`)
      if (anyType(m) !== AUTH_RESPONSE) {
        throw new RegistryError('Unknown', `can't unmarshal type ${JSON.stringify(m.type_url)} to output ${JSON.stringify(AUTH_RESPONSE)}`)
      }
      const r = decodeStreamed(AUTH_RESPONSE, m, 'auth')
      const type = Number(r.authType)
      if (type === AUTH_CREDENTIALS) return { username: String(r.username ?? ''), secret: String(r.secret ?? '') }
      if (type === AUTH_REFRESH) return { username: '', secret: String(r.secret ?? '') }
      // NONE, and HEADER (containerd's resolver takes only a user name and secret from the helper).
      return undefined
    })
    last = ask.catch(() => undefined)
    return ask
  }
}

/** An OCIRegistry, decoded; its auth stream claimed and turned into the credentials callback. */
function registryOf(v: Obj, namespace: string, streams: StreamManager, signal: AbortSignal, opened: Stream[]): RegistrySpec {
  const resolver = (v.resolver as Obj | null | undefined) ?? {}
  const reference = String(v.reference ?? '')
  if (reference === '') throw new RuntimeError('InvalidArgument', 'the OCIRegistry names no reference: invalid argument')
  const authId = String(resolver.auth_stream ?? '')
  let credentials: Credentials | undefined
  if (authId !== '') {
    const auth = streams.get(namespace, authId)
    auth.claim()
    opened.push(auth)
    credentials = credentialsOver(auth, reference, signal)
  }
  return {
    reference,
    ...(credentials ? { credentials } : {}),
    hostDir: String(resolver.host_dir ?? ''),
    defaultScheme: String(resolver.default_scheme ?? ''),
    headers: (resolver.headers as Record<string, string> | undefined) ?? {},
  }
}

export function transferService(node: Node): Implementation<TransferHandlers> {
  const streams = streamsOf(node)
  const transfer = new ImageTransfer(node)
  const registries = new RegistryTransfer(node, transfer)
  return {
    Transfer: async (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const progressId = req.options?.progress_stream ?? ''
      const progressStream = progressId ? streams.get(namespace, progressId) : undefined
      progressStream?.claim()
      const progress = (p: ProgressEvent): void => {
        if (!progressStream || progressStream.closed) return
        const desc = p.desc
          ? { media_type: p.desc.mediaType, digest: p.desc.digest, size: p.desc.size, annotations: p.desc.annotations ?? {} }
          : null
        progressStream.send(
          anyOf(PROGRESS, {
            event: p.event,
            name: p.name ?? '',
            parents: p.parents ?? [],
            progress: p.progress ?? 0,
            total: p.total ?? 0,
            desc,
          }),
        )
      }
      /** Streams a transfer claimed besides the progress stream (an auth stream): closed when it ends. */
      const opened: Stream[] = []
      try {
        const src = decodeObject(req.source, 'source')
        const dst = decodeObject(req.destination, 'destination')
        if (src.type === OCI_REGISTRY && dst.type === IMAGE_STORE) {
          const source = registryOf(src.value, namespace, streams, ctx.signal, opened)
          await registries.pull(namespace, source, imageStoreOf(dst.value), progress, ctx.signal)
          return {}
        }
        if (src.type === IMAGE_STORE && dst.type === OCI_REGISTRY) {
          const dest = registryOf(dst.value, namespace, streams, ctx.signal, opened)
          await registries.push(namespace, imageStoreOf(src.value), dest, progress, ctx.signal)
          return {}
        }
        if (src.type === IMPORT_STREAM && dst.type === IMAGE_STORE) {
          const input = streams.get(namespace, String(src.value.stream ?? ''))
          input.claim()
          await transfer.import(namespace, () => receiveAll(input, ctx.signal), imageStoreOf(dst.value), leaseOf(ctx), progress)
          return {}
        }
        if (src.type === IMAGE_STORE && dst.type === EXPORT_STREAM) {
          const out = streams.get(namespace, String(dst.value.stream ?? ''))
          out.claim()
          const spec: ExportSpec = {
            platforms: platformsOf(dst.value.platforms),
            allPlatforms: dst.value.all_platforms === true,
            skipCompatibilityManifest: dst.value.skip_compatibility_manifest === true,
          }
          let bytes: Buffer
          try {
            bytes = transfer.export(namespace, imageStoreOf(src.value), spec, progress)
          } catch (err) {
            out.close()
            throw err
          }
          await sendAll(out, bytes, ctx.signal)
          return {}
        }
        if (src.type === IMAGE_STORE && dst.type === IMAGE_STORE) {
          transfer.tag(namespace, imageStoreOf(src.value), imageStoreOf(dst.value))
          return {}
        }
        throw new RuntimeError(
          'Unimplemented',
          `method Transfer not implemented for ${req.source?.type_url} to ${req.destination?.type_url}`,
        )
      } finally {
        progressStream?.close()
        for (const s of opened) s.close()
      }
    },
  }
}

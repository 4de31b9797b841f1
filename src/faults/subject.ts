// What a rule can match in a request, found without knowing its type: the ids, name, image and
// labels that CRI and containerd requests carry under a handful of field names.

export interface RequestFacts {
  ids: string[]
  name?: string
  image?: string
  labels: Record<string, string>
  request?: unknown
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Buffer.isBuffer(v)
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

export function describeRequest(request: unknown): RequestFacts {
  const facts: RequestFacts = { ids: [], labels: {}, request }
  if (!isObj(request)) return facts
  for (const k of ['container_id', 'pod_sandbox_id', 'id', 'exec_id', 'key', 'digest']) {
    const v = str(request[k])
    if (v) facts.ids.push(v)
  }
  const config = isObj(request.config) ? request.config : undefined
  const inner = isObj(request.container)
    ? request.container
    : isObj(request.image)
      ? request.image
      : isObj(request.namespace)
        ? request.namespace
        : undefined
  const metadata = config && isObj(config.metadata) ? config.metadata : undefined
  facts.name = str(metadata?.name) ?? str(inner?.name) ?? str(request.name)
  if (inner && str(inner.id)) facts.ids.push(inner.id as string)
  const imageSpec = config && isObj(config.image) ? config.image : isObj(request.image) ? request.image : undefined
  facts.image = str(imageSpec?.image) ?? str(inner?.image) ?? (isObj(request.image) ? str(request.image.name) : undefined)
  const labels = (config && isObj(config.labels) ? config.labels : inner && isObj(inner.labels) ? inner.labels : undefined) as
    Record<string, string> | undefined
  if (labels) facts.labels = { ...labels }
  return facts
}

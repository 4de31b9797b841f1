// Containers service: the containerd container records, CRI's sandboxes and containers among them.
import type { Container } from '../generated/containerd/services/containers/v1/Container.js'
import type { Container__Output } from '../generated/containerd/services/containers/v1/Container.js'
import type { ContainersHandlers } from '../generated/containerd/services/containers/v1/Containers.js'
import { RuntimeError, invalidArgument, notFound } from '../model/errors.js'
import { isSandbox } from '../model/cri/sandboxes.js'
import { isAppContainer } from '../model/cri/containers.js'
import type { Node } from '../model/node.js'
import { nowString } from '../model/time.js'
import type { ContainerRecord, StoredAny } from '../store/schema.js'
import type { Implementation } from '../rpc/adapter.js'
import { namespaceOf } from './context.js'
import { SPEC_TYPE_URL, jsonAny, timestamp, toJsonAny } from './convert.js'
import { mapField, parseFilters, type Adaptor } from './filters.js'

const storeAny = (a: { type_url: string; value: Buffer }): StoredAny => ({ type_url: a.type_url, value: a.value.toString('base64') })
const loadAny = (a: StoredAny): { type_url: string; value: Buffer } => ({ type_url: a.type_url, value: Buffer.from(a.value, 'base64') })

/** CRI keeps its own metadata on the containerd record as extensions; shown as containerd shows them. */
function extensionsOf(c: ContainerRecord): Record<string, { type_url: string; value: Buffer }> {
  const out = Object.fromEntries(Object.entries(c.extensions ?? {}).map(([k, v]) => [k, loadAny(v)]))
  if (c.cri && isSandbox(c)) {
    out['io.cri-containerd.sandbox.metadata'] = toJsonAny('github.com/containerd/containerd/v2/internal/cri/store/sandbox/Metadata', {
      Version: 'v1',
      Metadata: { ID: c.id, Name: c.cri.name, Config: c.cri.config, RuntimeHandler: c.cri.runtimeHandler, IP: c.cri.ip },
    })
  } else if (c.cri && isAppContainer(c)) {
    out['io.cri-containerd.container.metadata'] = toJsonAny('github.com/containerd/containerd/v2/internal/cri/store/container/Metadata', {
      Version: 'v1',
      Metadata: {
        ID: c.id,
        Name: c.cri.name,
        SandboxID: c.cri.sandboxId,
        Config: c.cri.config,
        ImageRef: c.cri.imageId,
        LogPath: c.cri.logPath,
      },
    })
  }
  return out
}

export function toContainer(c: ContainerRecord): Container {
  return {
    id: c.id,
    labels: c.labels,
    image: c.image,
    runtime: { name: c.runtime.name, options: c.runtime.options ? loadAny(c.runtime.options) : null },
    spec: toJsonAny(SPEC_TYPE_URL, c.spec),
    snapshotter: c.snapshotter,
    snapshot_key: c.snapshotKey,
    created_at: timestamp(c.createdAt),
    updated_at: timestamp(c.updatedAt),
    extensions: extensionsOf(c),
    sandbox: c.sandbox ?? '',
  }
}

/** containerd's container filter fields: id, image, runtime.name, labels.<key>. */
function adaptor(c: ContainerRecord): Adaptor {
  return (path) => {
    switch (path[0]) {
      case 'id':
        return c.id || undefined
      case 'image':
        return c.image || undefined
      case 'runtime':
        return path[1] === 'name' && c.runtime.name ? c.runtime.name : undefined
      case 'labels':
        return mapField(path.slice(1), c.labels)
    }
    return undefined
  }
}

function fromRequest(namespace: string, c: Container__Output): ContainerRecord {
  if (c.snapshot_key !== '' && c.snapshotter === '') {
    throw invalidArgument(
      'create container failed validation: container.Snapshotter must be set if container.SnapshotKey is set: invalid argument',
    )
  }
  if (!c.runtime || c.runtime.name === '')
    throw invalidArgument('create container failed validation: container.Runtime.Name must be set: invalid argument')
  if (!c.spec) throw invalidArgument('create container failed validation: container.Spec must be set: invalid argument')
  if (Object.keys(c.extensions).some((k) => k === '')) {
    throw invalidArgument('create container failed validation: container.Extension keys must not be zero-length: invalid argument')
  }
  const now = nowString()
  return {
    namespace,
    id: c.id,
    image: c.image,
    labels: { ...c.labels },
    runtime: { name: c.runtime.name, ...(c.runtime.options ? { options: storeAny(c.runtime.options) } : {}) },
    snapshotter: c.snapshotter,
    snapshotKey: c.snapshot_key,
    spec: jsonAny(c.spec, 'container spec') ?? {},
    extensions: Object.fromEntries(Object.entries(c.extensions).map(([k, v]) => [k, storeAny(v)])),
    ...(c.sandbox ? { sandbox: c.sandbox } : {}),
    createdAt: now,
    updatedAt: now,
  }
}

export function containersService(node: Node): Implementation<ContainersHandlers> {
  const list = (namespace: string, filters: string[]) => {
    const match = parseFilters(filters)
    return node.containerStore.list(namespace).filter((c) => match(adaptor(c)))
  }
  return {
    Get: (req, ctx) => ({ container: toContainer(node.containerStore.get(namespaceOf(ctx), req.id)) }),
    List: (req, ctx) => ({ containers: list(namespaceOf(ctx), req.filters).map(toContainer) }),
    ListStream: async (req, ctx, send) => {
      for (const c of list(namespaceOf(ctx), req.filters)) send({ container: toContainer(c) })
    },
    Create: (req, ctx) => {
      if (!req.container) throw invalidArgument('container is required: invalid argument')
      if (req.container.id === '') throw invalidArgument('must specify a container id: invalid argument')
      const record = node.containerStore.add(fromRequest(namespaceOf(ctx), req.container))
      return { container: toContainer(record) }
    },
    Update: (req, ctx) => {
      const c = req.container
      if (!c) throw invalidArgument('container is required: invalid argument')
      if (c.id === '') throw invalidArgument('must specify a container id: invalid argument')
      const namespace = namespaceOf(ctx)
      let record: ContainerRecord
      try {
        record = node.containerStore.get(namespace, c.id)
      } catch {
        throw new RuntimeError('NotFound', `container ${JSON.stringify(c.id)}: not found`)
      }
      if (c.snapshotter !== '' && c.snapshotter !== record.snapshotter) {
        throw invalidArgument('container.Snapshotter field is immutable: invalid argument')
      }
      if (c.runtime && c.runtime.name !== '' && c.runtime.name !== record.runtime.name) {
        throw invalidArgument('container.Runtime.Name field is immutable: invalid argument')
      }
      const paths = req.update_mask?.paths.length ? req.update_mask.paths : ['labels', 'spec', 'extensions', 'image', 'snapshotkey']
      const next = { ...record, labels: { ...record.labels }, extensions: { ...record.extensions } }
      for (const path of paths) {
        if (path.startsWith('labels.')) {
          const key = path.slice('labels.'.length)
          const value = c.labels[key]
          if (value === undefined || value === '') delete next.labels[key]
          else next.labels[key] = value
        } else if (path.startsWith('extensions.')) {
          const key = path.slice('extensions.'.length)
          const value = c.extensions[key]
          if (value === undefined) delete next.extensions[key]
          else next.extensions[key] = storeAny(value)
        } else if (path === 'labels') next.labels = { ...c.labels }
        else if (path === 'spec') {
          const spec = jsonAny(c.spec, 'container spec')
          if (!spec) throw invalidArgument('update failed validation: container.Spec must be set: invalid argument')
          next.spec = spec
        } else if (path === 'extensions')
          next.extensions = Object.fromEntries(Object.entries(c.extensions).map(([k, v]) => [k, storeAny(v)]))
        else if (path === 'image') next.image = c.image
        else if (path === 'snapshotkey') next.snapshotKey = c.snapshot_key
        else throw invalidArgument(`cannot update ${JSON.stringify(path)} field on ${JSON.stringify(c.id)}: invalid argument`)
      }
      Object.assign(record, next)
      node.containerStore.touched(record)
      return { container: toContainer(record) }
    },
    Delete: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const record = node.containerStore.find(namespace, req.id)
      // containerd's metadata store: the namespace's containers bucket, then the container's.
      if (!record) {
        if (!node.namespaces.exists(namespace))
          throw notFound(`cannot delete container ${JSON.stringify(req.id)} in namespace ${JSON.stringify(namespace)}: not found`)
        throw notFound(`container ${req.id}: not found`)
      }
      if (record.task && record.task.status !== 'stopped') {
        throw new RuntimeError(
          'FailedPrecondition',
          `cannot delete container ${JSON.stringify(req.id)}: its task is ${record.task.status}; kill and delete the task first: failed precondition`,
        )
      }
      // One record, two views: deleting a CRI container here removes it from CRI too; a sandbox
      // must lose its containers first, or CRI would keep containers of a pod that is gone.
      if (isSandbox(record) && node.containers.all().some((c) => c.cri.sandboxId === record.id)) {
        throw new RuntimeError(
          'FailedPrecondition',
          `container ${JSON.stringify(req.id)} is a pod sandbox that still has containers; remove the pod with RemovePodSandbox: failed precondition`,
        )
      }
      node.containerStore.delete(namespace, req.id)
      return {}
    },
  }
}

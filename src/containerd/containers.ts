// Containers service: the containerd container records, CRI's sandboxes and containers among them.
import type { Container } from '../generated/containerd/services/containers/v1/Container.js'
import type { Container__Output } from '../generated/containerd/services/containers/v1/Container.js'
import type { ContainersHandlers } from '../generated/containerd/services/containers/v1/Containers.js'
import { invalidArgument } from '../model/errors.js'
import { isAppContainer, isSandbox } from '../model/cri/records.js'
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
      const record = node.containerStore.update(
        namespaceOf(ctx),
        {
          id: c.id,
          labels: c.labels,
          extensions: Object.fromEntries(Object.entries(c.extensions).map(([k, v]) => [k, storeAny(v)])),
          spec: () => jsonAny(c.spec, 'container spec'),
          image: c.image,
          snapshotKey: c.snapshot_key,
          snapshotter: c.snapshotter,
          runtimeName: c.runtime?.name ?? '',
        },
        req.update_mask?.paths ?? [],
      )
      return { container: toContainer(record) }
    },
    Delete: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      node.containerStore.deleteChecked(namespace, req.id)
      return {}
    },
  }
}

// Sandbox Store and Controller (containerd 2.x, containerd.services.sandbox.v1): records and their
// lifecycle are model/sandbox/records.ts's (CRI pods among them); this face checks ids and sandboxers
// and translates records to containerd.types.Sandbox messages.
import type { ControllerHandlers } from '../generated/containerd/services/sandbox/v1/Controller.js'
import type { StoreHandlers } from '../generated/containerd/services/sandbox/v1/Store.js'
import type { Sandbox__Output } from '../generated/containerd/types/Sandbox.js'
import { invalidArgument } from '../model/errors.js'
import type { Node } from '../model/node.js'
import type { SandboxInfo, SandboxStatus } from '../model/sandbox/records.js'
import type { Implementation } from '../rpc/adapter.js'
import type { StoredAny } from '../store/schema.js'
import { namespaceOf } from './context.js'
import { fromTimestamp, timestamp } from './convert.js'
import { mapField, parseFilters, type Adaptor } from './filters.js'
import { taskMetric } from './tasks.js'

type WireAny = { type_url: string; value: Buffer }
const toWire = (a: StoredAny): WireAny => ({ type_url: a.type_url, value: Buffer.from(a.value, 'base64') })
const toStored = (a: WireAny): StoredAny => ({ type_url: a.type_url, value: a.value.toString('base64') })

function message(s: SandboxInfo) {
  return {
    sandbox_id: s.id,
    runtime: { name: s.runtime.name, options: s.runtime.options ? toWire(s.runtime.options) : null },
    spec: s.spec ? toWire(s.spec) : null,
    labels: s.labels,
    created_at: timestamp(s.createdAt),
    updated_at: timestamp(s.updatedAt),
    extensions: Object.fromEntries(Object.entries(s.extensions).map(([k, v]) => [k, toWire(v)])),
    sandboxer: s.sandboxer,
  }
}

function info(m: Sandbox__Output | null): SandboxInfo {
  if (!m) throw invalidArgument('sandbox is required: invalid argument')
  return {
    id: m.sandbox_id,
    runtime: { name: m.runtime?.name ?? '', ...(m.runtime?.options ? { options: toStored(m.runtime.options) } : {}) },
    ...(m.spec ? { spec: toStored(m.spec) } : {}),
    labels: m.labels,
    createdAt: fromTimestamp(m.created_at) ?? '',
    updatedAt: fromTimestamp(m.updated_at) ?? '',
    extensions: Object.fromEntries(Object.entries(m.extensions).map(([k, v]) => [k, toStored(v)])),
    sandboxer: m.sandboxer,
  }
}

/**
 * The fields a sandbox filter can name, as containerd v2.1.0's adaptSandbox has them: id and labels.<key>
 * (sandboxer and runtime.name are not among them there, so a filter on them matches nothing).
 */
function adaptor(s: SandboxInfo): Adaptor {
  return (path) => {
    switch (path[0]) {
      case 'id':
        return s.id
      case 'labels':
        return mapField(path.slice(1), s.labels)
    }
    return undefined
  }
}

export function sandboxStoreService(node: Node): Implementation<StoreHandlers> {
  const records = node.sandboxRecords
  return {
    Create: (req, ctx) => ({ sandbox: message(records.create(namespaceOf(ctx), info(req.sandbox))) }),
    Update: (req, ctx) => ({ sandbox: message(records.update(namespaceOf(ctx), info(req.sandbox), req.fields)) }),
    Delete: (req, ctx) => {
      records.delete(namespaceOf(ctx), req.sandbox_id)
      return {}
    },
    List: (req, ctx) => {
      const match = parseFilters(req.filters)
      return {
        list: records
          .list(namespaceOf(ctx))
          .filter((s) => match(adaptor(s)))
          .map(message),
      }
    },
    Get: (req, ctx) => ({ sandbox: message(records.get(namespaceOf(ctx), req.sandbox_id)) }),
  }
}

export function sandboxControllerService(node: Node): Implementation<ControllerHandlers> {
  const records = node.sandboxRecords
  /** Every controller call names its sandboxer, which is looked up first (controller_service.go's getController). */
  const target = (req: { sandbox_id: string; sandboxer: string }): string => {
    records.checkSandboxer(req.sandboxer)
    return req.sandbox_id
  }
  const exited = (s: SandboxStatus) => ({ exit_status: s.exitStatus ?? 0, exited_at: timestamp(s.exitedAt) })
  return {
    // The controller service publishes the sandbox events (plugins/services/sandbox/controller_service.go):
    // create on Create, start on Start, exit when a Wait returns. containerd v2.1.0 itself published
    // "sandboxes/create" etc. without the leading '/' (a bug fixed upstream later); the fake follows the fix.
    Create: (req, ctx) => {
      const namespace = namespaceOf(ctx)
      records.get(namespace, target(req))
      node.emit(namespace, '/sandboxes/create', 'containerd.events.SandboxCreate', { sandbox_id: req.sandbox_id })
      return { sandbox_id: req.sandbox_id }
    },
    Start: (req, ctx) => {
      const s = records.start(namespaceOf(ctx), target(req))
      node.emit(namespaceOf(ctx), '/sandboxes/start', 'containerd.events.SandboxStart', { sandbox_id: s.id })
      const labels = records.get(namespaceOf(ctx), s.id).labels
      return { sandbox_id: s.id, pid: s.pid, created_at: timestamp(s.createdAt), labels, address: '', version: 0 }
    },
    Platform: (req, ctx) => {
      records.get(namespaceOf(ctx), target(req))
      return { platform: { os: 'linux', architecture: 'amd64', variant: '', os_version: '', os_features: [] } }
    },
    Stop: async (req, ctx) => {
      await records.stop(namespaceOf(ctx), target(req))
      return {}
    },
    Wait: async (req, ctx) => {
      const namespace = namespaceOf(ctx)
      const s = await records.wait(namespace, target(req), ctx.signal)
      node.emit(namespace, '/sandboxes/exit', 'containerd.events.SandboxExit', { sandbox_id: req.sandbox_id, ...exited(s) })
      return exited(s)
    },
    Status: (req, ctx) => {
      const s = records.status(namespaceOf(ctx), target(req))
      return {
        sandbox_id: s.id,
        pid: s.pid,
        state: s.ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
        info: {},
        created_at: timestamp(s.createdAt),
        exited_at: timestamp(s.exitedAt),
        extra: null,
        address: '',
        version: 0,
      }
    },
    Shutdown: async (req, ctx) => {
      await records.shutdown(namespaceOf(ctx), target(req))
      return {}
    },
    Metrics: (req, ctx) => {
      const s = records.status(namespaceOf(ctx), target(req))
      return { metrics: s.record?.task && s.record.task.status !== 'stopped' ? taskMetric(node, s.record) : null }
    },
    Update: (req, ctx) => {
      records.checkSandboxer(req.sandboxer)
      records.update(namespaceOf(ctx), info(req.sandbox), req.fields)
      return {}
    },
  }
}

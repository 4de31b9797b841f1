// Namespaces service: Get/List/Create/Update/Delete with labels.
import type { NamespacesHandlers } from '../generated/containerd/services/namespaces/v1/Namespaces.js'
import { invalidArgument } from '../model/errors.js'
import type { Node } from '../model/node.js'
import type { Implementation } from '../rpc/adapter.js'

export function namespacesService(node: Node): Implementation<NamespacesHandlers> {
  const view = (name: string) => ({ name, labels: node.namespaces.labels(name) })
  return {
    Get: (req) => ({ namespace: view(req.name) }),
    List: () => ({ namespaces: node.namespaces.list().map(view) }),
    Create: (req) => {
      const ns = req.namespace
      if (!ns) throw invalidArgument('namespace is required: invalid argument')
      node.namespaces.create(ns.name, ns.labels)
      return { namespace: view(ns.name) }
    },
    Update: (req) => {
      const ns = req.namespace
      if (!ns) throw invalidArgument('namespace is required: invalid argument')
      const paths = req.update_mask?.paths ?? []
      const current = node.namespaces.labels(ns.name)
      if (paths.length === 0) {
        // No mask: the labels are replaced as a whole.
        const cleared = Object.fromEntries(Object.keys(current).map((k) => [k, '']))
        node.namespaces.setLabels(ns.name, { ...cleared, ...ns.labels })
      } else {
        const changes: Record<string, string> = {}
        for (const path of paths) {
          // containerd takes only labels.<key> paths (not "labels" as a whole).
          if (!path.startsWith('labels.')) throw invalidArgument(`cannot update ${JSON.stringify(path)} field`)
          const key = path.slice('labels.'.length)
          changes[key] = ns.labels[key] ?? ''
        }
        node.namespaces.setLabels(ns.name, changes)
      }
      return { namespace: view(ns.name) }
    },
    Delete: (req) => {
      node.namespaces.delete(req.name)
      return {}
    },
  }
}

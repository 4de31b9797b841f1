// Which network namespace a container's processes are in, and what the socket stack
// (sim/net-namespaces.ts) asks of the node's pods: their addresses and the pod CIDR. The stack
// knows namespaces by key only; turning records into keys is the model's knowledge of CRI pods
// and runc's namespace entries, so it lives here.
import { isIpv4 } from '../../sim/net.js'
import { HOST_NET, podNet, type PodDirectory } from '../../sim/net-namespaces.js'
import type { ContainerRecord } from '../../store/schema.js'
import type { Cidr } from '../cri/ipam.js'
import type { SandboxLookup } from '../cri/records.js'

/** The network namespace a container's processes are in ("host", "pod:<sandbox id>", "path:<netns>", "own:<id>"). */
export function networkNamespace(sandboxes: Pick<SandboxLookup, 'find' | 'withNetns'>, record: ContainerRecord): string {
  const podOf = (id: string): string => {
    const sandbox = sandboxes.find(id)
    return sandbox?.cri.config.linux?.security_context?.namespace_options?.network === 'NODE' ? HOST_NET : podNet(id)
  }
  if (record.cri?.kind === 'sandbox') return podOf(record.id)
  if (record.cri?.kind === 'container') return podOf(record.cri.sandboxId)
  // A container made through containerd's API: as runc, no network namespace entry means the
  // host's; one with a path joins it (a pod's, when it is a sandbox's netns); one without, its own.
  const namespaces = ((record.spec.linux as { namespaces?: { type: string; path?: string }[] } | undefined)?.namespaces ?? []) as {
    type: string
    path?: string
  }[]
  const entry = namespaces.find((n) => n.type === 'network')
  if (!entry) return HOST_NET
  if (!entry.path) return `own:${record.id}`
  const sandbox = sandboxes.withNetns(entry.path)
  return sandbox ? podOf(sandbox.id) : `path:${entry.path}`
}

/** The pods as the socket stack sees them, read live from the sandbox records and the node's CIDR. */
export function podDirectory(sandboxes: SandboxLookup, cidr: () => Cidr): PodDirectory {
  return {
    get cidr() {
      return cidr()
    },
    addressesOf: (podId) => {
      const sandbox = sandboxes.find(podId)
      return sandbox ? [sandbox.cri.ip, ...sandbox.cri.additionalIps].filter(isIpv4) : []
    },
    podAt: (address) => sandboxes.at(address).find((s) => s.cri.ready)?.id,
  }
}

// The files a pod's containers share: /etc/hostname, /etc/hosts, /etc/resolv.conf and /dev/shm.
// containerd writes the first three into the sandbox's directory and bind-mounts them into every
// container of the pod (read-only when the container's root filesystem is); /dev/shm is the
// sandbox's tmpfs. Here they are one Tmpfs per pod: pass the same one to each container's
// filesystem and a write to /etc/hosts or /dev/shm in one is seen in the others.
import { Tmpfs, dirNode, fileNode } from './mem.js'

/** CRI's DNSConfig. */
export interface DnsInput {
  servers?: readonly string[]
  searches?: readonly string[]
  options?: readonly string[]
}

/**
 * What containerd writes from a DNS config (search, nameserver and options lines); with no config,
 * containerd copies the host's resolv.conf. The simulator does not read the host's: it uses this.
 */
export const DEFAULT_RESOLV_CONF = 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n'

export function resolvConf(dns: DnsInput | null | undefined): string {
  let text = ''
  const searches = dns?.searches ?? []
  const servers = dns?.servers ?? []
  const options = dns?.options ?? []
  if (searches.length > 0) text += `search ${searches.join(' ')}\n`
  if (servers.length > 0) text += `nameserver ${servers.join('\nnameserver ')}\n`
  if (options.length > 0) text += `options ${options.join(' ')}\n`
  return text === '' ? DEFAULT_RESOLV_CONF : text
}

/** The localhost lines and the pod's own address (as the kubelet-managed hosts file has them). */
export function etcHosts(hostname: string, podIps: readonly string[]): string {
  let text =
    '# Kubernetes-managed hosts file.\n' +
    '127.0.0.1\tlocalhost\n' +
    '::1\tlocalhost ip6-localhost ip6-loopback\n' +
    'fe00::0\tip6-localnet\n' +
    'fe00::0\tip6-mcastprefix\n' +
    'fe00::1\tip6-allnodes\n' +
    'fe00::2\tip6-allrouters\n'
  for (const ip of podIps) if (ip !== '' && hostname !== '') text += `${ip}\t${hostname}\n`
  return text
}

export interface SandboxFilesInput {
  hostname: string
  /** The pod's IP ("" on the host network). */
  podIp?: string
  additionalIps?: readonly string[]
  dns?: DnsInput | null
  now?: () => number
}

/** A pod's shared files: /hostname, /hosts, /resolv.conf and the /shm directory (1777). */
export function sandboxFiles(input: SandboxFilesInput): Tmpfs {
  const now = input.now ?? Date.now
  const t = now()
  const files = new Tmpfs(dirNode(0o755, t), now)
  files.layer.set('/hostname', fileNode(`${input.hostname}\n`, 0o644, t))
  files.layer.set('/hosts', fileNode(etcHosts(input.hostname, [input.podIp ?? '', ...(input.additionalIps ?? [])]), 0o644, t))
  files.layer.set('/resolv.conf', fileNode(resolvConf(input.dns), 0o644, t))
  files.layer.set('/shm', dirNode(0o1777, t))
  return files
}

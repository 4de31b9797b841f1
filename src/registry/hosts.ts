// Where a registry host's requests go, as containerd's ConfigureHosts decides it
// (remotes/docker/config/hosts.go, 1.6.20): a hosts directory in containerd's hosts.toml format
// (mirrors first, in file order, then `server`), else the default host: docker.io is
// registry-1.docker.io over HTTPS, a localhost or loopback registry is plain HTTP, any other HTTPS.
import { existsSync, readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { parseToml, type TomlTable } from './toml.js'

export type Capability = 'pull' | 'resolve' | 'push'

export interface RegistryHost {
  scheme: 'http' | 'https'
  /** host[:port] */
  host: string
  /** The API root, "/v2" unless override_path says otherwise. */
  path: string
  capabilities: Capability[]
  /** TLS verification is skipped (no effect here: only loopback HTTP is ever dialled in tests). */
  skipVerify: boolean
  /** Extra headers hosts.toml gives for this host. */
  header: Record<string, string>
}

const ALL: Capability[] = ['pull', 'resolve', 'push']

/** docker.IsLocalhost: "localhost", a loopback IP (with or without a port), or ::1. */
export function isLocalhost(host: string): boolean {
  if (host === '::1' || host === '[::1]') return true
  let name = host
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(host)
  if (bracket) name = bracket[1] as string
  else if (/:\d+$/.test(host) && host.split(':').length === 2) name = host.slice(0, host.lastIndexOf(':'))
  if (name === 'localhost') return true
  if (isIP(name) === 4) return name.startsWith('127.')
  return name === '::1'
}

/** hostDirectory: "host:port" is looked up as "host_port_" first, then as itself, then "_default". */
function hostDirs(root: string, host: string): string[] {
  const colon = host.lastIndexOf(':')
  const dirs: string[] = []
  if (colon > 0) dirs.push(join(root, `${host.slice(0, colon)}_${host.slice(colon + 1)}_`))
  dirs.push(join(root, host), join(root, '_default'))
  return dirs
}

function parseServer(server: string, overridePath: boolean): Pick<RegistryHost, 'scheme' | 'host' | 'path'> {
  const withScheme = server.startsWith('http') ? server : `https://${server}`
  let u: URL
  try {
    u = new URL(withScheme)
  } catch {
    throw new Error(`unable to parse server ${server}`)
  }
  const scheme = u.protocol === 'http:' ? 'http' : 'https'
  let path = u.pathname.replace(/\/+$/, '')
  if (path === '') path = overridePath ? '' : '/v2'
  else if (!path.endsWith('/v2') && !overridePath) path = `${path}/v2`
  return { scheme, host: u.host, path }
}

function hostEntry(server: string, table: TomlTable, where: string): RegistryHost {
  const caps = table.capabilities
  let capabilities = ALL
  if (caps !== undefined) {
    if (!Array.isArray(caps)) throw new Error(`${where}: capabilities must be an array of strings`)
    capabilities = caps.map((c) => {
      if (typeof c !== 'string') throw new Error(`${where}: capabilities must be an array of strings`)
      const lower = c.toLowerCase()
      if (lower !== 'pull' && lower !== 'resolve' && lower !== 'push') throw new Error(`${where}: unknown capability ${c}`)
      return lower
    })
  }
  const header: Record<string, string> = {}
  const h = table.header
  if (h !== undefined && typeof h === 'object' && !Array.isArray(h)) {
    for (const [k, v] of Object.entries(h)) header[k] = Array.isArray(v) ? v.join(', ') : String(v)
  }
  return {
    ...parseServer(server, table.override_path === true),
    capabilities,
    skipVerify: table.skip_verify === true,
    header,
  }
}

/** Reads a hosts.toml: its [host."…"] entries in order, then its `server` (without one, the default host). */
export function readHostsFile(path: string): { hosts: RegistryHost[]; server: RegistryHost | undefined } {
  let parsed: TomlTable
  try {
    parsed = parseToml(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`failed to decode hosts.toml ${path}: ${(err as Error).message}`)
  }
  const hosts: RegistryHost[] = []
  const table = parsed.host
  if (table !== undefined && typeof table === 'object' && !Array.isArray(table)) {
    for (const [server, entry] of Object.entries(table)) {
      if (typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${path}: host ${server} must be a table`)
      hosts.push(hostEntry(server, entry, `${path}: host ${server}`))
    }
  }
  const server = typeof parsed.server === 'string' && parsed.server !== '' ? hostEntry(parsed.server, parsed, path) : undefined
  return { hosts, server }
}

/** The default host for a registry name, as ConfigureHosts gives it when no hosts.toml names a server. */
export function defaultHost(host: string): RegistryHost {
  if (host === 'docker.io')
    return { scheme: 'https', host: 'registry-1.docker.io', path: '/v2', capabilities: ALL, skipVerify: false, header: {} }
  if (isLocalhost(host)) return { scheme: 'http', host, path: '/v2', capabilities: ALL, skipVerify: true, header: {} }
  return { scheme: 'https', host, path: '/v2', capabilities: ALL, skipVerify: false, header: {} }
}

/** The hosts to try for a registry, in order; `configDir` is --registry-config-path (containerd's config_path). */
export function registryHosts(host: string, configDir?: string): RegistryHost[] {
  if (configDir) {
    for (const dir of hostDirs(configDir, host)) {
      if (!existsSync(dir)) continue
      const file = join(dir, 'hosts.toml')
      if (!existsSync(file)) break
      const { hosts, server } = readHostsFile(file)
      return [...hosts, server ?? defaultHost(host)]
    }
  }
  return [defaultHost(host)]
}

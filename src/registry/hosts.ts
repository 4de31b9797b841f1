// Where a registry host's requests go, as containerd's ConfigureHosts decides it
// (remotes/docker/config/hosts.go, 1.6.20): a hosts directory in containerd's hosts.toml format
// (mirrors first, in file order, then `server`), else the default host: docker.io is
// registry-1.docker.io over HTTPS, a localhost or loopback registry is plain HTTP, any other HTTPS.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, isAbsolute, join } from 'node:path'
import { parseToml, type TomlTable, type TomlValue } from './toml.js'
import { loadTls, type HostTls } from './tls.js'

export type Capability = 'pull' | 'resolve' | 'push'

export interface RegistryHost {
  scheme: 'http' | 'https'
  /** host[:port] */
  host: string
  /** The API root, "/v2" unless override_path says otherwise. */
  path: string
  capabilities: Capability[]
  /** TLS verification is skipped. */
  skipVerify: boolean
  /** Extra headers hosts.toml gives for this host. */
  header: Record<string, string>
  /**
   * The host's own TLS settings (hosts.toml `ca`, `client`, `skip_verify`, or a Docker-style certs
   * directory), read when the hosts are configured; absent when none was given (the system's roots).
   */
  tls?: HostTls
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

/** makeAbsPath: a relative path in hosts.toml is relative to the host's directory. */
const absolute = (p: string, base: string): string => (isAbsolute(p) ? p : join(base, p))

/** `ca`: a file or a list of files (parseHostConfig's accepted types, and its words for others). */
function caFiles(ca: TomlValue | undefined, base: string): string[] | undefined {
  if (ca === undefined) return undefined
  if (typeof ca === 'string') return [absolute(ca, base)]
  if (!Array.isArray(ca)) throw new Error(`invalid type ${JSON.stringify(ca)} for "ca"`)
  return ca.map((f) => {
    if (typeof f !== 'string') throw new Error(`unable to cast ${JSON.stringify(f)} to string`)
    return absolute(f, base)
  })
}

/** `client`: a file with both cert and key, a list of such files, or a list of [cert, key] pairs. */
function clientPairs(client: TomlValue | undefined, base: string): [string, string][] | undefined {
  if (client === undefined) return undefined
  if (typeof client === 'string') return [[absolute(client, base), '']]
  if (!Array.isArray(client)) throw new Error(`invalid type ${JSON.stringify(client)} for "client"`)
  return client.map((p): [string, string] => {
    if (typeof p === 'string') return [absolute(p, base), '']
    if (!Array.isArray(p)) throw new Error(`invalid type ${typeof p === 'boolean' ? 'bool' : 'map[string]interface {}'} for "client"`)
    const bad = p.find((f) => typeof f !== 'string')
    if (bad !== undefined) throw new Error(`unable to cast ${JSON.stringify(bad)} to string`)
    // Go's %v of the list: its items between brackets, separated by spaces.
    if (p.length !== 2) throw new Error(`invalid pair [${p.join(' ')}] for "client"`)
    return [absolute(p[0] as string, base), absolute(p[1] as string, base)]
  })
}

function hostEntry(server: string, table: TomlTable, where: string, base: string): RegistryHost {
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
  const tls = hostTls(table, base)
  return {
    ...parseServer(server, table.override_path === true),
    capabilities,
    skipVerify: tls?.skipVerify === true,
    header,
    ...(tls ? { tls } : {}),
  }
}

/** A table's own TLS settings, read from their files; undefined when it gives none. */
function hostTls(table: TomlTable, base: string): HostTls | undefined {
  const skipVerify = typeof table.skip_verify === 'boolean' ? table.skip_verify : undefined
  const ca = caFiles(table.ca, base)
  const client = clientPairs(table.client, base)
  if (!ca && !client && skipVerify === undefined) return undefined
  return loadTls({ ...(ca ? { ca } : {}), ...(client ? { client } : {}), ...(skipVerify !== undefined ? { skipVerify } : {}) })
}

/** Reads a hosts.toml: its [host."…"] entries in order, then its `server` (without one, the default host). */
export function readHostsFile(path: string): {
  hosts: RegistryHost[]
  server: RegistryHost | undefined
  /** The top level's TLS settings, for the default host when there is no `server`. */
  rootTls: HostTls | undefined
} {
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
      hosts.push(hostEntry(server, entry, `${path}: host ${server}`, dirname(path)))
    }
  }
  // The file's top level is the last host: its `server`, or else the default host with the file's TLS settings.
  const server =
    typeof parsed.server === 'string' && parsed.server !== '' ? hostEntry(parsed.server, parsed, path, dirname(path)) : undefined
  return { hosts, server, rootTls: server ? server.tls : hostTls(parsed, dirname(path)) }
}

/**
 * loadCertFiles: a host directory without hosts.toml, in Docker's certs.d layout: *.crt files are
 * CAs, each *.cert a client certificate with the *.key of the same name (or its key inside it).
 */
function certsDirTls(dir: string): HostTls | undefined {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => f.name)
    .sort()
  const ca = files.filter((f) => f.endsWith('.crt')).map((f) => join(dir, f))
  const client = files
    .filter((f) => f.endsWith('.cert'))
    .map((f): [string, string] => {
      const key = `${f.slice(0, -'.cert'.length)}.key`
      return [join(dir, f), files.includes(key) ? join(dir, key) : '']
    })
  if (ca.length === 0 && client.length === 0) return undefined
  return loadTls({ ...(ca.length ? { ca } : {}), ...(client.length ? { client } : {}) })
}

/** The default host for a registry name, as ConfigureHosts gives it when no hosts.toml names a server. */
export function defaultHost(host: string): RegistryHost {
  if (host === 'docker.io')
    return { scheme: 'https', host: 'registry-1.docker.io', path: '/v2', capabilities: ALL, skipVerify: false, header: {} }
  if (isLocalhost(host)) return { scheme: 'http', host, path: '/v2', capabilities: ALL, skipVerify: true, header: {} }
  return { scheme: 'https', host, path: '/v2', capabilities: ALL, skipVerify: false, header: {} }
}

/** The default host with the directory's TLS settings; a loopback registry's are never verified (ConfigureHosts). */
function withTls(host: RegistryHost, tls: HostTls | undefined): RegistryHost {
  if (!tls) return host
  return {
    ...host,
    tls: isLocalhost(host.host) ? { ...tls, skipVerify: true } : tls,
    skipVerify: host.skipVerify || tls.skipVerify === true,
  }
}

/**
 * The directory containerd reads for a registry (HostDirFromRoot: "host_port_", the host, then
 * "_default"), when one exists: the registry is configured there.
 */
export function hostDirectory(host: string, configDir: string | undefined): string | undefined {
  return configDir ? hostDirs(configDir, host).find((dir) => existsSync(dir)) : undefined
}

/** The hosts to try for a registry, in order; `configDir` is --registry-config-path (containerd's config_path). */
export function registryHosts(host: string, configDir?: string): RegistryHost[] {
  const dir = hostDirectory(host, configDir)
  if (dir === undefined) return [defaultHost(host)]
  const file = join(dir, 'hosts.toml')
  // An empty or missing hosts.toml: Docker's certs.d files in the directory, if any.
  if (!existsSync(file) || statSync(file).size === 0) return [withTls(defaultHost(host), certsDirTls(dir))]
  const { hosts, server, rootTls } = readHostsFile(file)
  return [...hosts, server ?? withTls(defaultHost(host), rootTls)]
}

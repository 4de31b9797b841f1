// Where a registry host's requests go, as containerd's ConfigureHosts decides it
// (remotes/docker/config/hosts.go, 1.6.20): a hosts directory in containerd's hosts.toml format
// (mirrors first, in file order, then `server`), else the default host: docker.io is
// registry-1.docker.io over HTTPS, a localhost or loopback registry is plain HTTP, any other HTTPS.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, isAbsolute, join } from 'node:path'
import { parseToml, type TomlTable, type TomlValue } from './toml.js'
import { loadTls, type HostTls } from './tls.js'
import { FileReadError, readRegularFile } from './read-file.js'

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

/** A host as hosts.toml (or a certs.d directory) gives it, before its TLS files are read (parseHostConfig). */
interface HostSpec {
  /** The entry's server; none for the file's top level without `server`: the default host. */
  server?: Pick<RegistryHost, 'scheme' | 'host' | 'path'>
  capabilities: Capability[]
  header: Record<string, string>
  files: TlsFiles
}

type TlsFiles = { ca?: string[]; client?: [string, string][]; skipVerify?: boolean }

function hostSpec(server: string, table: TomlTable, where: string, base: string): HostSpec {
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
  const skipVerify = typeof table.skip_verify === 'boolean' ? table.skip_verify : undefined
  const ca = caFiles(table.ca, base)
  const client = clientPairs(table.client, base)
  return {
    ...(server !== '' ? { server: parseServer(server, table.override_path === true) } : {}),
    capabilities,
    header,
    files: { ...(ca ? { ca } : {}), ...(client ? { client } : {}), ...(skipVerify !== undefined ? { skipVerify } : {}) },
  }
}

/** parseHostsFile: the [host."…"] entries in file order, then the top level (its `server`, or the default host). */
function parseHostsFile(path: string, text: string): HostSpec[] {
  let parsed: TomlTable
  try {
    parsed = parseToml(text)
  } catch (err) {
    throw new Error(`failed to decode hosts.toml ${path}: ${(err as Error).message}`)
  }
  const specs: HostSpec[] = []
  const table = parsed.host
  if (table !== undefined && typeof table === 'object' && !Array.isArray(table)) {
    for (const [server, entry] of Object.entries(table)) {
      if (typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`${path}: host ${server} must be a table`)
      specs.push(hostSpec(server, entry, `${path}: host ${server}`, dirname(path)))
    }
  }
  const server = typeof parsed.server === 'string' ? parsed.server : ''
  if (parsed.server !== undefined && typeof parsed.server !== 'string') throw new Error(`${path}: server must be a string`)
  specs.push(hostSpec(server, parsed, path, dirname(path)))
  return specs
}

/** Whether a path names something other than a directory, following symbolic links (os.Stat). */
function notDirectory(path: string): boolean {
  try {
    return !statSync(path).isDirectory()
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false
    throw err
  }
}

/**
 * loadCertFiles: a host directory without hosts.toml, in Docker's certs.d layout: *.crt files are
 * CAs, each *.cert a client certificate with the *.key of the same name (or its key inside it).
 * Names are followed through symbolic links, as Kubernetes mounts a ConfigMap's or Secret's files.
 */
function certsDirSpec(dir: string): HostSpec {
  const names = readdirSync(dir).sort()
  const files = names.filter((f) => (f.endsWith('.crt') || f.endsWith('.cert')) && notDirectory(join(dir, f)))
  const ca = files.filter((f) => f.endsWith('.crt')).map((f) => join(dir, f))
  const client = files
    .filter((f) => f.endsWith('.cert'))
    .map((f): [string, string] => {
      const key = join(dir, `${f.slice(0, -'.cert'.length)}.key`)
      return [join(dir, f), notDirectory(key) ? key : '']
    })
  return { capabilities: ALL, header: {}, files: { ...(ca.length ? { ca } : {}), ...(client.length ? { client } : {}) } }
}

/**
 * loadHostDir: the directory's hosts.toml; when it is missing or empty, or does not decode (a
 * wrongly shaped setting too), the directory's certificate files, as containerd falls back to them
 * after logging the error.
 */
function loadHostDir(dir: string, log: (msg: string) => void): HostSpec[] {
  const file = join(dir, 'hosts.toml')
  let text = ''
  try {
    text = readRegularFile(file)
  } catch (err) {
    if (!(err instanceof FileReadError && err.missing)) throw new Error(`unable to read ${JSON.stringify(file)}: ${(err as Error).message}`)
  }
  if (text === '') return [certsDirSpec(dir)]
  try {
    return parseHostsFile(file, text)
  } catch (err) {
    log(`failed to decode hosts.toml: ${(err as Error).message}; using the certificate files in ${dir} instead`)
    return [certsDirSpec(dir)]
  }
}

/** The default host for a registry name, as ConfigureHosts gives it when no hosts.toml names a server. */
export function defaultHost(host: string, defaultScheme?: 'http' | 'https'): RegistryHost {
  const base = { path: '/v2', capabilities: ALL, skipVerify: false, header: {} }
  // docker.io is always HTTPS, whatever the default scheme.
  if (host === 'docker.io') return { ...base, scheme: 'https', host: 'registry-1.docker.io' }
  // A loopback registry is plain HTTP, never verified, unless the default scheme is https.
  if (isLocalhost(host) && defaultScheme !== 'https') return { ...base, scheme: 'http', host, skipVerify: true }
  return { ...base, scheme: defaultScheme ?? 'https', host }
}

/** A host with its TLS files read; `forceSkip` for a loopback default host (ConfigureHosts). */
function configured(spec: HostSpec, at: Pick<RegistryHost, 'scheme' | 'host' | 'path'>, forceSkip: boolean): RegistryHost {
  const { ca, client, skipVerify } = spec.files
  const given = ca !== undefined || client !== undefined || skipVerify !== undefined
  const tls = given ? loadTls(spec.files) : undefined
  if (tls && forceSkip) tls.skipVerify = true
  return {
    ...at,
    capabilities: spec.capabilities,
    skipVerify: forceSkip || tls?.skipVerify === true,
    header: spec.header,
    ...(tls ? { tls } : {}),
  }
}

/**
 * The directory containerd reads for a registry (HostDirFromRoot: "host_port_", the host, then
 * "_default"), when one exists: the registry is configured there.
 */
export function hostDirectory(host: string, configDir: string | undefined): string | undefined {
  return configDir ? hostDirs(configDir, host).find((dir) => existsSync(dir)) : undefined
}

export interface HostsOptions {
  /** RegistryResolver.default_scheme (ctr --plain-http): the default host's scheme, never docker.io's. */
  defaultScheme?: 'http' | 'https'
  /** Where a hosts.toml that does not decode is reported (containerd logs it). */
  log?: (msg: string) => void
}

/**
 * The hosts to try for a registry, in order; `configDir` is --registry-config-path (containerd's
 * config_path). A TLS file that cannot be read fails (ConfigureHosts); a hosts.toml that does not
 * decode is logged and passed over.
 */
export function registryHosts(host: string, configDir?: string, options: HostsOptions = {}): RegistryHost[] {
  const dir = hostDirectory(host, configDir)
  if (dir === undefined) return [defaultHost(host, options.defaultScheme)]
  const specs = loadHostDir(dir, options.log ?? ((msg) => process.stderr.write(`${msg}\n`)))
  return specs.map((spec) => {
    if (spec.server) return configured(spec, spec.server, false)
    // The top level without `server`: the default host, with the file's TLS settings and headers, every capability.
    const d = defaultHost(host, options.defaultScheme)
    return configured({ ...spec, capabilities: ALL }, d, d.skipVerify)
  })
}

// containerd's registry host rules and hosts.toml, its WWW-Authenticate parsing and CRI's ParseAuth,
// checked on their own: what a pull will dial and with which credentials.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { http, HttpResponse } from 'msw'
import { setupServer } from 'msw/node'
import { describe, expect, test } from 'vitest'
import { parseChallenges } from '../../src/registry/auth.js'
import { Repository } from '../../src/registry/client.js'
import { parseAuth } from '../../src/registry/credentials.js'
import { defaultHost, isLocalhost, registryHosts } from '../../src/registry/hosts.js'
import { parseToml } from '../../src/registry/toml.js'
import { READ_CAP } from '../../src/registry/read-file.js'
import { checkServerIdentity, goTlsError } from '../../src/registry/tls.js'
import { makePki } from '../registry-pki.mjs'
import { resolverHosts } from '../../src/model/metadata/registry-pull.js'

describe('hosts.toml TLS settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fc-hosts-tls-'))
  const write = (sub: string, text: string, files: Record<string, string> = {}) => {
    mkdirSync(join(dir, sub), { recursive: true })
    if (text !== '') writeFileSync(join(dir, sub, 'hosts.toml'), text)
    for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, sub, f), t)
  }

  test("a hosts.toml with settings of the wrong shape is logged and passed over for the directory's certificate files, as containerd does", () => {
    const logged: string[] = []
    const log = (m: string) => logged.push(m)
    write('a.example.com', 'ca = true\nserver = "https://elsewhere.example.com"\n')
    expect(registryHosts('a.example.com', dir, { log })).toEqual([defaultHost('a.example.com')])
    write('b.example.com', 'ca = ["x.pem", false]\n', { 'b.crt': '' })
    // The fallback reads the certs.d files: an empty *.crt is still an error, as loadCertFiles then ConfigureHosts say.
    expect(() => registryHosts('b.example.com', dir, { log })).toThrow(`unable to load CA cert "${join(dir, 'b.example.com', 'b.crt')}"`)
    write('c.example.com', 'client = [["a.pem", "b.pem", "c.pem"]]\n')
    expect(registryHosts('c.example.com', dir, { log })).toEqual([defaultHost('c.example.com')])
    write('d.example.com', 'client = [true]\n')
    expect(registryHosts('d.example.com', dir, { log })).toEqual([defaultHost('d.example.com')])
    expect(logged).toEqual([
      expect.stringMatching(
        /^failed to decode hosts.toml: invalid type true for "ca"; using the certificate files in .*a.example.com instead$/,
      ),
      expect.stringContaining('unable to cast false to string'),
      expect.stringContaining('invalid pair [a.pem b.pem c.pem] for "client"'),
      expect.stringContaining('invalid type bool for "client"'),
    ])
  })

  test('a TLS file named by a well-formed hosts.toml that cannot be read still fails the hosts', () => {
    write('m.example.com', 'ca = "missing.pem"\n')
    expect(() => registryHosts('m.example.com', dir)).toThrow(
      `unable to read CA cert "${join(dir, 'm.example.com', 'missing.pem')}": open ${join(dir, 'm.example.com', 'missing.pem')}: no such file or directory`,
    )
  })

  test('a `ca`, `client` or hosts.toml that is a FIFO, a device or too large is refused at once, without blocking or reading it', () => {
    mkdirSync(join(dir, 'fifo.example.com'), { recursive: true })
    const fifo = join(dir, 'fifo.example.com', 'ca.pem')
    execFileSync('mkfifo', [fifo])
    write('fifo.example.com', 'ca = "ca.pem"\n')
    expect(() => registryHosts('fifo.example.com', dir)).toThrow(`unable to read CA cert "${fifo}": not a regular file`)
    write('zero.example.com', 'client = "/dev/zero"\n')
    expect(() => registryHosts('zero.example.com', dir)).toThrow('unable to read CERT file "/dev/zero": not a regular file')
    write('big.example.com', 'ca = "big.pem"\n', { 'big.pem': 'x'.repeat(READ_CAP + 1) })
    expect(() => registryHosts('big.example.com', dir)).toThrow(
      `unable to read CA cert "${join(dir, 'big.example.com', 'big.pem')}": the file is larger than 4194304 bytes (4 MiB), the most read from it`,
    )
    mkdirSync(join(dir, 'tomlfifo.example.com'), { recursive: true })
    execFileSync('mkfifo', [join(dir, 'tomlfifo.example.com', 'hosts.toml')])
    expect(() => registryHosts('tomlfifo.example.com', dir)).toThrow(
      `unable to read "${join(dir, 'tomlfifo.example.com', 'hosts.toml')}": not a regular file`,
    )
  })

  test('certs.d files that are symbolic links (a Kubernetes ConfigMap or Secret mount) are read through the links, the .key paired', () => {
    const real = mkdtempSync(join(tmpdir(), 'fc-hosts-real-'))
    const pki = makePki(real)
    const sub = join(dir, 'links.example.com')
    mkdirSync(sub, { recursive: true })
    symlinkSync(pki.ca, join(sub, 'ca.crt'))
    symlinkSync(pki.clientCert, join(sub, 'client.cert'))
    symlinkSync(pki.clientKey, join(sub, 'client.key'))
    const [host] = registryHosts('links.example.com', dir)
    expect(host?.tls?.ca).toEqual([readFileSync(pki.ca, 'utf8').trim()])
    expect(host?.tls?.certs).toEqual([
      { cert: readFileSync(pki.clientCert, 'utf8').trim(), key: readFileSync(pki.clientKey, 'utf8').trim() },
    ])
  })

  test('skip_verify = false is kept as given; without TLS settings a host has none', () => {
    write('e.example.com', 'server = "https://e.example.com"\nskip_verify = false\n')
    expect(registryHosts('e.example.com', dir)).toEqual([
      {
        scheme: 'https',
        host: 'e.example.com',
        path: '/v2',
        capabilities: ['pull', 'resolve', 'push'],
        skipVerify: false,
        header: {},
        tls: { skipVerify: false },
      },
    ])
    write('f.example.com', 'server = "https://f.example.com"\n')
    expect(registryHosts('f.example.com', dir)[0]?.tls).toBeUndefined()
  })

  test("a directory without hosts.toml (or with an empty one) is read in Docker's certs.d layout", () => {
    write('g.example.com', '', { 'empty.crt': '' })
    expect(() => registryHosts('g.example.com', dir)).toThrow(`unable to load CA cert "${join(dir, 'g.example.com', 'empty.crt')}"`)
    write('h.example.com', '', { 'client.cert': 'no pem here' })
    writeFileSync(join(dir, 'h.example.com', 'hosts.toml'), '')
    expect(() => registryHosts('h.example.com', dir)).toThrow(
      'failed to load X509 key pair: tls: failed to find any PEM data in certificate input',
    )
    write('i.example.com', '', { README: 'nothing to trust' })
    expect(registryHosts('i.example.com', dir)).toEqual([defaultHost('i.example.com')])
  })
})

describe('default hosts', () => {
  test('docker.io is registry-1.docker.io over HTTPS; loopback registries are plain HTTP; others HTTPS', () => {
    expect(defaultHost('docker.io')).toMatchObject({ scheme: 'https', host: 'registry-1.docker.io', path: '/v2' })
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', '::1']) {
      expect(isLocalhost(h)).toBe(true)
      expect(defaultHost(h).scheme).toBe('http')
    }
    for (const h of ['quay.io', '10.0.0.1:5000', 'localhost.example.com']) {
      expect(isLocalhost(h)).toBe(false)
      expect(defaultHost(h).scheme).toBe('https')
    }
  })
})

describe("the resolver's default scheme (ctr --plain-http)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'fc-hosts-scheme-'))
  const write = (sub: string, text: string) => {
    mkdirSync(join(dir, sub), { recursive: true })
    writeFileSync(join(dir, sub, 'hosts.toml'), text)
  }
  const plain = { configPath: dir, defaultScheme: 'http' as const }

  test('applies only to the default host built without a server: never docker.io, never an explicit https server', () => {
    expect(resolverHosts('docker.io', plain)).toMatchObject([{ scheme: 'https', host: 'registry-1.docker.io' }])
    expect(resolverHosts('quay.io', plain)).toMatchObject([{ scheme: 'http', host: 'quay.io' }])
    write('explicit.example.com', 'server = "https://explicit.example.com"\n')
    expect(resolverHosts('explicit.example.com', plain)).toMatchObject([{ scheme: 'https', host: 'explicit.example.com' }])
    // A default host with TLS settings of its own still takes the default scheme.
    write('tls.example.com', 'skip_verify = true\n[header]\nx-a = "b"\n')
    expect(resolverHosts('tls.example.com', plain)).toMatchObject([
      { scheme: 'http', host: 'tls.example.com', skipVerify: true, header: { 'x-a': 'b' } },
    ])
    // https on a loopback registry: HTTPS, verified.
    expect(resolverHosts('127.0.0.1:5000', { defaultScheme: 'https' })).toMatchObject([{ scheme: 'https', skipVerify: false }])
  })
})

describe('hosts.toml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fc-hosts-unit-'))
  const write = (sub: string, text: string) => {
    mkdirSync(join(dir, sub), { recursive: true })
    writeFileSync(join(dir, sub, 'hosts.toml'), text)
  }

  test('mirrors in file order, then the server; capabilities, skip_verify, override_path and headers', () => {
    write(
      'registry.example.com',
      [
        'server = "https://registry.example.com"  # the upstream',
        '',
        '[host."http://127.0.0.1:6000"]',
        '  capabilities = ["pull", "resolve"]',
        '  skip_verify = true',
        '[host."http://127.0.0.1:6000".header]',
        '  x-team = "a"',
        "[host.'https://mirror.example.com/custom']",
        '  capabilities = ["pull"]',
        '  override_path = true',
      ].join('\n'),
    )
    expect(registryHosts('registry.example.com', dir)).toEqual([
      {
        scheme: 'http',
        host: '127.0.0.1:6000',
        path: '/v2',
        capabilities: ['pull', 'resolve'],
        skipVerify: true,
        header: { 'x-team': 'a' },
        tls: { skipVerify: true },
      },
      { scheme: 'https', host: 'mirror.example.com', path: '/custom', capabilities: ['pull'], skipVerify: false, header: {} },
      {
        scheme: 'https',
        host: 'registry.example.com',
        path: '/v2',
        capabilities: ['pull', 'resolve', 'push'],
        skipVerify: false,
        header: {},
      },
    ])
  })

  test('host:port is found as host_port_ first; _default covers the rest; no file means the default host', () => {
    write('127.0.0.1_7000_', 'server = "http://127.0.0.1:7001"\n')
    expect(registryHosts('127.0.0.1:7000', dir)[0]).toMatchObject({ host: '127.0.0.1:7001', scheme: 'http' })
    expect(registryHosts('quay.io', dir)).toEqual([defaultHost('quay.io')])
    write('_default', '[host."http://127.0.0.1:8000"]\n')
    expect(registryHosts('quay.io', dir).map((h) => h.host)).toEqual(['127.0.0.1:8000', 'quay.io'])
    expect(registryHosts('quay.io')).toEqual([defaultHost('quay.io')])
  })

  test('a file that does not parse, or an unknown capability, is logged naming the file and the default host used', () => {
    const logged: string[] = []
    write('bad.example.com', 'server = "a" "b"\n')
    expect(registryHosts('bad.example.com', dir, { log: (m) => logged.push(m) })).toEqual([defaultHost('bad.example.com')])
    write('caps.example.com', '[host."https://m.example.com"]\ncapabilities = ["fly"]\n')
    expect(registryHosts('caps.example.com', dir, { log: (m) => logged.push(m) })).toEqual([defaultHost('caps.example.com')])
    expect(logged).toEqual([
      expect.stringMatching(/^failed to decode hosts.toml: failed to decode hosts.toml .*bad.example.com.*line 1/),
      expect.stringMatching(/unknown capability fly/),
    ])
  })
})

describe("Go's host name check", () => {
  test('a certificate without SANs is valid for no name: the legacy Common Name text only when the CN matches', () => {
    const cert = { subject: { CN: 'registry.example.com' }, subjectaltname: undefined } as never
    const said = (host: string) => goTlsError(checkServerIdentity(host, cert))
    expect(said('registry.example.com')).toBe(
      'tls: failed to verify certificate: x509: certificate relies on legacy Common Name field, use SANs instead',
    )
    expect(said('other.example.com')).toBe(
      'tls: failed to verify certificate: x509: certificate is not valid for any names, but wanted to match other.example.com',
    )
    const withSans = { subject: { CN: 'x' }, subjectaltname: 'DNS:registry.example.com' } as never
    expect(checkServerIdentity('registry.example.com', withSans)).toBeUndefined()
  })
})

describe('the TOML reader', () => {
  test('a key named __proto__ is only a key: nothing else in the process changes', () => {
    const parsed = parseToml('[__proto__]\npolluted = "yes"\n[host."h".constructor]\nx = "y"')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(parsed.__proto__).toEqual({ polluted: 'yes' })
  })

  test("arrays: a comma inside a string is the string's, nested arrays as containerd's client = [[cert, key]]", () => {
    expect(parseToml('a = ["x,y", \'z\' , ]\nclient = [["/c.pem", "/k.pem"]]')).toEqual({ a: ['x,y', 'z'], client: [['/c.pem', '/k.pem']] })
    expect(() => parseToml('a = ["x" "y"]')).toThrow('line 1: expected , or ] in the array')
    expect(() => parseToml('a = "x" y')).toThrow('line 1: unexpected "y" after the value')
  })
})

describe('auth', () => {
  test('WWW-Authenticate challenges: scheme and quoted parameters', () => {
    expect(
      parseChallenges(['Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"']),
    ).toEqual([
      {
        scheme: 'bearer',
        parameters: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull' },
      },
    ])
    expect(parseChallenges(['Basic realm="Registry Realm"'])).toEqual([{ scheme: 'basic', parameters: { realm: 'Registry Realm' } }])
  })

  test("CRI ParseAuth: username first, then identity token, then auth; another server_address's host gets nothing", () => {
    expect(parseAuth({ username: 'u', password: 'p', identityToken: 't' }, 'h:1')).toEqual({ username: 'u', secret: 'p' })
    expect(parseAuth({ identityToken: 't' }, 'h:1')).toEqual({ username: '', secret: 't' })
    expect(parseAuth({ auth: Buffer.from('u:p:q\0').toString('base64') }, 'h:1')).toEqual({ username: 'u', secret: 'p:q' })
    expect(parseAuth({ username: 'u', password: 'p', serverAddress: 'https://h:1' }, 'h:1')).toEqual({ username: 'u', secret: 'p' })
    expect(parseAuth({ username: 'u', password: 'p', serverAddress: 'https://other:1' }, 'h:1')).toBeUndefined()
    expect(parseAuth({ registryToken: 'r' }, 'h:1')).toBeUndefined()
    expect(() => parseAuth({ auth: Buffer.from('nocolon').toString('base64') }, 'h:1')).toThrow(
      'invalid decoded auth: 7 characters with no ":" between user name and password (the value is not shown)',
    )
  })
})

describe('the ns query (addNamespace)', () => {
  test('docker.io on registry-1.docker.io is no mirror: no ?ns=; a mirror of docker.io is told', async () => {
    const digest = `sha256:${'a'.repeat(64)}`
    const seen: string[] = []
    const msw = setupServer(
      http.head('https://*/v2/library/busybox/manifests/latest', ({ request }) => {
        seen.push(request.url)
        return new HttpResponse(null, {
          headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json', 'Content-Length': '100', 'Docker-Content-Digest': digest },
        })
      }),
    )
    msw.listen({ onUnhandledRequest: 'error' })
    try {
      const ref = { tag: 'latest', normalized: 'docker.io/library/busybox:latest' }
      const official = new Repository('docker.io', 'docker.io/library/busybox', {
        hosts: registryHosts('docker.io'),
        userAgent: 'containerd/test',
      })
      expect(await official.resolve(ref)).toMatchObject({ digest, size: 100 })
      const mirror = { ...defaultHost('mirror.example.com'), capabilities: ['pull', 'resolve'] as ('pull' | 'resolve' | 'push')[] }
      const mirrored = new Repository('docker.io', 'docker.io/library/busybox', { hosts: [mirror], userAgent: 'containerd/test' })
      await mirrored.resolve(ref)
      expect(seen).toEqual([
        'https://registry-1.docker.io/v2/library/busybox/manifests/latest',
        'https://mirror.example.com/v2/library/busybox/manifests/latest?ns=docker.io',
      ])
    } finally {
      msw.close()
    }
  })
})

// containerd's registry host rules and hosts.toml, its WWW-Authenticate parsing and CRI's ParseAuth,
// checked on their own: what a pull will dial and with which credentials.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
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

describe('hosts.toml TLS settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fc-hosts-tls-'))
  const write = (sub: string, text: string, files: Record<string, string> = {}) => {
    mkdirSync(join(dir, sub), { recursive: true })
    if (text !== '') writeFileSync(join(dir, sub, 'hosts.toml'), text)
    for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, sub, f), t)
  }

  test("ca and client of the wrong shape are refused in containerd's words", () => {
    write('a.example.com', 'ca = true\n')
    expect(() => registryHosts('a.example.com', dir)).toThrow('invalid type true for "ca"')
    write('b.example.com', 'ca = ["x.pem", false]\n')
    expect(() => registryHosts('b.example.com', dir)).toThrow('unable to cast false to string')
    write('c.example.com', 'client = [["a.pem", "b.pem", "c.pem"]]\n')
    expect(() => registryHosts('c.example.com', dir)).toThrow('invalid pair [a.pem b.pem c.pem] for "client"')
    write('d.example.com', 'client = [true]\n')
    expect(() => registryHosts('d.example.com', dir)).toThrow('invalid type bool for "client"')
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

  test('a file it cannot read, or an unknown capability, is an error naming the file', () => {
    write('bad.example.com', 'server = [1, 2]\n')
    expect(() => registryHosts('bad.example.com', dir)).toThrow(/failed to decode hosts.toml .*bad.example.com.*line 1/)
    write('caps.example.com', '[host."https://m.example.com"]\ncapabilities = ["fly"]\n')
    expect(() => registryHosts('caps.example.com', dir)).toThrow(/unknown capability fly/)
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

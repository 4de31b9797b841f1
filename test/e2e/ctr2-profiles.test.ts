// --containerd-version profiles, seen with the real ctr of 1.6 and of 2.1: the version Version
// reports, the plugins Introspection lists, and which services answer. A 1.6 profile answers a 2.x
// client's Streaming, Transfer and Sandbox calls as containerd 1.6.20 does (Unimplemented, "unknown
// service …", checked against Debian's containerd 1.6.20), while ctr 1.6 keeps working; 1.7 serves them.
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { containerdClients } from '../../src/client.js'
import { parseFlags } from '../../src/flags.js'
import type { FakeContainerdOptions } from '../../src/options.js'
import { decodeMessage, encodeMessage } from '../../src/proto/load.js'
import { tarball } from '../containerd.js'
import { ctrCli } from '../ctr-cli.js'
import { grpcError, harness, type Harness } from '../helpers.js'
import { ociLayout } from '../oci-layout.mjs'

const CTR2 = [process.env.CTR2, '.ci/tools/containerd-2/usr/bin/ctr'].find((p): p is string => !!p && existsSync(p))
const CTR16 = process.env.CTR ?? (existsSync('/usr/bin/ctr') ? '/usr/bin/ctr' : undefined)

/** An archive of one small image named `name`. */
const archive = (name: string): Buffer => tarball(ociLayout(name, tarball([{ name: 'hi', data: 'hi\n' }]), { Cmd: ['sleep', '1'] }))

test('--containerd-version takes 1.6, 1.7 or 2.1 (2.1 by default) and refuses anything else in words', () => {
  const version = (args: string[], env: Record<string, string> = {}): unknown =>
    (parseFlags(args, env) as FakeContainerdOptions).containerdVersion
  expect(version([])).toBe('2.1')
  expect(version(['--containerd-version', '1.6'])).toBe('1.6')
  expect(version([], { FAKE_CONTAINERD_CONTAINERD_VERSION: '1.7' })).toBe('1.7')
  expect(() => parseFlags(['--containerd-version', '2.0'], {})).toThrow('--containerd-version must be one of 1.6, 1.7, 2.1; got "2.0"')
})

describe('the containerd 1.6 profile', () => {
  let h: Harness
  beforeAll(async () => {
    h = await harness({ containerdVersion: '1.6' })
  })
  afterAll(() => h?.close())

  test('Version, the plugin list, PluginInfo and health are 1.6.20 its; the 2.x services answer Unimplemented', async () => {
    const c = containerdClients(h.fake.address, 'default')
    try {
      expect((await c.version.Version({})).version).toMatch(/^v1\.6\.20-fake-containerd-/)
      const plugins = (await c.introspection.Plugins({ filters: [] })).plugins.map((p) => `${p.type}.${p.id}`)
      expect(plugins).toContain('io.containerd.runtime.v1.linux')
      expect(plugins.filter((p) => /transfer|streaming|sandbox|warning/.test(p))).toEqual([])
      const info = await grpcError(c.introspection.PluginInfo({ type: 'io.containerd.runtime.v2', id: 'task' }))
      // grpc-go's answer for a method the service lacks.
      expect([info.code, info.details]).toEqual([
        12,
        'unknown method PluginInfo for service containerd.services.introspection.v1.Introspection',
      ])
      const transfer = await grpcError(
        c.transfer.Transfer({
          source: {
            type_url: 'containerd.types.transfer.ImageStore',
            value: encodeMessage('containerd.types.transfer.ImageStore', { name: 'a' }),
          },
          destination: {
            type_url: 'containerd.types.transfer.ImageStore',
            value: encodeMessage('containerd.types.transfer.ImageStore', { name: 'b' }),
          },
        }),
      )
      expect([transfer.code, transfer.details]).toEqual([12, 'unknown service containerd.services.transfer.v1.Transfer'])
      const sandboxes = await grpcError(c.sandboxStore.List({ filters: [] }))
      expect([sandboxes.code, sandboxes.details]).toEqual([12, 'unknown service containerd.services.sandbox.v1.Store'])
      const health = await grpcError(c.health.Check({ service: 'containerd.services.streaming.v1.Streaming' }))
      expect(health.code).toBe(5)
      expect((await c.health.Check({ service: 'containerd.services.tasks.v1.Tasks' })).status).toBe('SERVING')
    } finally {
      c.close()
    }
  })

  test.skipIf(!CTR16)('ctr 1.6: version and plugins ls as 1.6.20; images import works', async () => {
    const { ctr } = ctrCli(CTR16!, () => h.fake.socketPath)
    expect(await ctr('version')).toMatch(/Server:\s+Version:\s+v1\.6\.20-fake-containerd-/)
    expect(await ctr('plugins', 'ls')).toMatch(/^io\.containerd\.runtime\.v1\s+linux\s+linux\/amd64\s+ok\s*$/m)
    const file = join(h.logDir, 'one.tar')
    writeFileSync(file, archive('docker.io/library/profile-one:1'))
    await ctr('images', 'import', file)
    expect(await ctr('images', 'ls', '-q')).toContain('docker.io/library/profile-one:1')
  })

  test.skipIf(!CTR2)('ctr 2.1 against it: images pull and sandboxes ls fail as against containerd 1.6.20', async () => {
    const { ctrFails } = ctrCli(CTR2!, () => h.fake.socketPath)
    expect(await ctrFails('images', 'pull', '127.0.0.1:1/x:1')).toContain('ctr: unknown service containerd.services.streaming.v1.Streaming')
    expect(await ctrFails('sandboxes', 'ls')).toContain(
      'ctr: failed to list sandboxes: unknown service containerd.services.sandbox.v1.Store',
    )
    expect(await ctrFails('plugins', 'inspect-runtime')).toContain(
      'ctr: unknown method PluginInfo for service containerd.services.introspection.v1.Introspection',
    )
  })
})

describe('the containerd 1.7 profile', () => {
  let h: Harness
  beforeAll(async () => {
    h = await harness({ containerdVersion: '1.7' })
  })
  afterAll(() => h?.close())

  test('reports 1.7, lists the transfer, streaming and sandbox plugins, has no PluginInfo yet', async () => {
    const c = containerdClients(h.fake.address, 'default')
    try {
      expect((await c.version.Version({})).version).toMatch(/^v1\.7\.\d+-fake-containerd-/)
      const plugins = (await c.introspection.Plugins({ filters: [] })).plugins.map((p) => `${p.type}.${p.id}`)
      expect(plugins).toEqual(
        expect.arrayContaining([
          'io.containerd.transfer.v1.local',
          'io.containerd.grpc.v1.sandboxes',
          'io.containerd.warning.v1.deprecations',
        ]),
      )
      // The lease manager (grpc leases requires it, 1.6's leases-service is gone), runtime v2's shim, NRI, tracing.
      expect(plugins).toEqual(
        expect.arrayContaining(['io.containerd.lease.v1.manager', 'io.containerd.runtime.v2.shim', 'io.containerd.nri.v1.nri']),
      )
      expect(plugins).not.toContain('io.containerd.service.v1.leases-service')
      const all = (await c.introspection.Plugins({ filters: [] })).plugins
      expect(all.find((p) => p.type === 'io.containerd.grpc.v1' && p.id === 'leases')?.requires).toEqual(['io.containerd.lease.v1'])
      const tracing = all.find((p) => p.type === 'io.containerd.internal.v1' && p.id === 'tracing')
      expect([tracing?.init_err?.code, tracing?.init_err?.message]).toEqual([2, 'skip plugin: tracing endpoint not configured'])
      // 1.7's Introspection has the method and answers errdefs.ErrNotImplemented.
      const info = await grpcError(c.introspection.PluginInfo({ type: 'io.containerd.runtime.v2', id: 'task' }))
      expect([info.code, info.details]).toEqual([12, 'not implemented'])
    } finally {
      c.close()
    }
  })

  test.skipIf(!CTR2)('ctr 2.1 imports through Transfer and lists sandboxes; inspect-runtime is not implemented', async () => {
    const { ctr, ctrFails } = ctrCli(CTR2!, () => h.fake.socketPath)
    const file = join(h.logDir, 'seven.tar')
    writeFileSync(file, archive('docker.io/library/profile-seven:1'))
    expect(await ctr('images', 'import', file)).toMatch(/profile.seven:1\s+saved/)
    expect(await ctr('sandboxes', 'ls')).toMatch(/^ID\s+CREATED\s+RUNTIME/)
    expect(await ctrFails('plugins', 'inspect-runtime')).toBe('ctr: not implemented\n')
  })
})

test.skipIf(!CTR2)('the default profile is 2.1: ctr 2.1 version shows v2.1.0, PluginInfo answers', async () => {
  const h = await harness()
  const c = containerdClients(h.fake.address, 'default')
  try {
    const { ctr } = ctrCli(CTR2!, () => h.fake.socketPath)
    expect(await ctr('version')).toMatch(/Server:\s+Version:\s+v2\.1\.0-fake-containerd-/)
    expect((await c.introspection.PluginInfo({ type: 'io.containerd.runtime.v2', id: 'task' })).plugin?.id).toBe('task')
  } finally {
    c.close()
    await h.close()
  }
})

describe("the runtime shim's info (PluginInfo with a RuntimeRequest) under 2.1", () => {
  let h: Harness
  beforeAll(async () => {
    h = await harness()
  })
  afterAll(() => h?.close())

  test.skipIf(!CTR2)(
    "ctr 2.1 plugins inspect-runtime: the runc shim, its version, the options sent, the simulation's features",
    async () => {
      const { ctr, ctrFails } = ctrCli(CTR2!, () => h.fake.socketPath)
      const info = JSON.parse(await ctr('plugins', 'inspect-runtime')) as Record<string, any>
      const server = /Server:\s+Version:\s+(\S+)\s+Revision:\s+(\S+)/.exec(await ctr('version'))
      expect(info.Name).toBe('io.containerd.runc.v2')
      expect(info.Version).toEqual({ Version: server?.[1], Revision: server?.[2] })
      // ctr sends runc's (empty) Options; the shim hands them back.
      expect(info.Options).toEqual({})
      expect(info.Annotations).toBeNull()
      const f = info.Features
      expect([f.ociVersionMin, f.ociVersionMax]).toEqual(['1.0.0', '1.2.1'])
      expect(f.mountOptions).toEqual(expect.arrayContaining(['rbind', 'ro', 'rro']))
      expect(f.linux.capabilities).toEqual(expect.arrayContaining(['CAP_SYS_ADMIN', 'CAP_CHECKPOINT_RESTORE']))
      expect(f.linux.cgroup).toEqual({ v1: false, v2: true, systemd: false, systemdUser: false })
      expect(f.linux.seccomp).toMatchObject({ enabled: true, archs: ['SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64'] })
      expect([f.linux.apparmor, f.linux.selinux, f.linux.mountExtensions]).toEqual([
        { enabled: false },
        { enabled: false },
        { idmap: { enabled: false } },
      ])
      // The runtime name resolved as containerd resolves it (checked against containerd 2.1).
      expect(await ctrFails('plugins', 'inspect-runtime', '--runtime', 'io.containerd.foo.v1')).toBe(
        'ctr: failed to resolve runtime path: runtime "io.containerd.foo.v1" binary not installed "containerd-shim-foo-v1": file does not exist\n',
      )
      expect(await ctrFails('plugins', 'inspect-runtime', '--runtime', '/no/such/shim')).toBe(
        'ctr: failed to resolve runtime path: invalid custom binary path: stat /no/such/shim: no such file or directory\n',
      )
      expect(await ctrFails('plugins', 'inspect-runtime', '--runtime', 'a/b')).toContain(
        'ctr: failed to resolve runtime path: invalid runtime name a/b, correct runtime name should be either format like',
      )
    },
  )

  test('the answers of the API: codes and words as containerd 2.1 gives them', async () => {
    const c = containerdClients(h.fake.address, 'default')
    const request = (runtime_path: string, options?: { type_url: string; value: Buffer }) => ({
      type_url: 'containerd.types.RuntimeRequest',
      value: encodeMessage('containerd.types.RuntimeRequest', { runtime_path, ...(options ? { options } : {}) }),
    })
    const fails = async (req: Record<string, unknown>) => {
      const err = await grpcError(c.introspection.PluginInfo(req))
      return [err.code, err.details]
    }
    try {
      const task = { type: 'io.containerd.runtime.v2', id: 'task' }
      const answer = await c.introspection.PluginInfo({ ...task, options: request('io.containerd.runc.v2') })
      expect(answer.extra?.type_url).toBe('containerd.types.RuntimeInfo')
      // The URL Go's anypb.New (and Python's Any.Pack) writes names the same type, as typeurl finds it.
      const prefixed = { ...request('io.containerd.runc.v2'), type_url: 'type.googleapis.com/containerd.types.RuntimeRequest' }
      expect((await c.introspection.PluginInfo({ ...task, options: prefixed })).extra).toEqual(answer.extra)
      expect(await fails({ ...task, options: request('') })).toEqual([2, 'failed to resolve runtime path: no runtime name'])
      expect(await fails({ ...task, options: { type_url: 'foo.Bar', value: Buffer.alloc(0) } })).toEqual([
        2,
        'failed to unmarshal plugin info Options: type with url foo.Bar: not found',
      ])
      expect(await fails({ type: 'io.containerd.grpc.v1', id: 'version', options: request('x') })).toEqual([
        12,
        'plugin does not provided extra information: not implemented',
      ])
      expect(await fails({ type: 'io.containerd.runtime.v2', id: 'nope' })).toEqual([
        5,
        'plugin io.containerd.runtime.v2.nope not found: not found',
      ])
      const wrong = { type_url: 'containerd.types.transfer.ImageStore', value: Buffer.alloc(0) }
      expect(await fails({ ...task, options: request('io.containerd.runc.v2', wrong) })).toEqual([
        2,
        'failed to run [/usr/bin/containerd-shim-runc-v2 -info]: exit status 1 (stderr: "io.containerd.runc.v2: failed to read runtime options (*options.Options): type with url containerd.types.transfer.ImageStore: not found")',
      ])
    } finally {
      c.close()
    }
  })

  test("options that do not decode: Unknown with Go's words, before the plugin is looked up; the shim's own reading of runc options", async () => {
    const c = containerdClients(h.fake.address, 'default')
    const RR = 'containerd.types.RuntimeRequest'
    const fails = async (req: Record<string, unknown>) => {
      const err = await grpcError(c.introspection.PluginInfo(req))
      return [err.code, err.details]
    }
    const undecodable = [2, 'failed to unmarshal plugin info Options: proto: cannot parse invalid wire-format data']
    const task = { type: 'io.containerd.runtime.v2', id: 'task' }
    try {
      // A bad tag, and a string whose length runs past the end (protobufjs alone would cut it short).
      expect(await fails({ ...task, options: { type_url: RR, value: Buffer.from([0xff, 0xff, 0xff]) } })).toEqual(undecodable)
      expect(await fails({ ...task, options: { type_url: RR, value: Buffer.from([0x0a, 0x40, 0x41]) } })).toEqual(undecodable)
      // An unknown field (7) whose varint overflows 64 bits in its tenth byte; a field number past 2^29 - 1.
      const overflow = Buffer.from([0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
      expect(await fails({ ...task, options: { type_url: RR, value: overflow } })).toEqual(undecodable)
      expect(await fails({ ...task, options: { type_url: RR, value: Buffer.from([0x80, 0x80, 0x80, 0x80, 0x10, 0x00]) } })).toEqual(
        undecodable,
      )
      // The largest of each still decodes (an unknown field Go keeps): the request is read, and answered.
      const largest = Buffer.concat([
        encodeMessage(RR, { runtime_path: 'io.containerd.runc.v2' }),
        Buffer.from([0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01]),
      ])
      expect((await c.introspection.PluginInfo({ ...task, options: { type_url: RR, value: largest } })).extra?.type_url).toBe(
        'containerd.types.RuntimeInfo',
      )
      // A nested Any whose value claims more than its message holds.
      expect(await fails({ ...task, options: { type_url: RR, value: Buffer.from([0x12, 0x03, 0x12, 0x05, 0x41]) } })).toEqual(undecodable)
      expect(await fails({ ...task, options: { type_url: RR, value: Buffer.from([0x0a, 0x02, 0xff, 0xfe]) } })).toEqual([
        2,
        'failed to unmarshal plugin info Options: string field contains invalid UTF-8',
      ])
      // Decoded first: a missing plugin or one without extra information is not reached.
      expect(await fails({ type: 'io.containerd.runtime.v2', id: 'nope', options: { type_url: RR, value: Buffer.from([0xff]) } })).toEqual(
        undecodable,
      )
      expect(await fails({ type: 'io.containerd.grpc.v1', id: 'version', options: { type_url: RR, value: Buffer.from([0xff]) } })).toEqual(
        undecodable,
      )
      // A type typeurl knows but the task manager does not take, named as Go's %T names it.
      expect(await fails({ ...task, options: { type_url: 'containerd.types.RuntimeInfo', value: Buffer.alloc(0) } })).toEqual([
        12,
        'unknown request type *types.RuntimeInfo: not implemented',
      ])
      // The shim reads runc's Options itself: bytes that do not decode fail its -info.
      const request = (runtime_path: string, options?: { type_url: string; value: Buffer }) => ({
        type_url: RR,
        value: encodeMessage(RR, { runtime_path, ...(options ? { options } : {}) }),
      })
      const garbage = { type_url: 'containerd.runc.v1.Options', value: Buffer.from([0xff, 0xff]) }
      expect(await fails({ ...task, options: request('io.containerd.runc.v2', garbage) })).toEqual([
        2,
        'failed to run [/usr/bin/containerd-shim-runc-v2 -info]: exit status 1 (stderr: "io.containerd.runc.v2: failed to read runtime options (*options.Options): proto: cannot parse invalid wire-format data")',
      ])
      // A type the shim knows but is not runc's Options (the transfer types are not in its binary: above).
      const notRunc = { type_url: 'containerd.types.RuntimeInfo', value: Buffer.alloc(0) }
      expect(await fails({ ...task, options: request('io.containerd.runc.v2', notRunc) })).toEqual([
        2,
        'failed to run [/usr/bin/containerd-shim-runc-v2 -info]: exit status 1 (stderr: "io.containerd.runc.v2: failed to read runtime options (*options.Options): invalid type *types.RuntimeInfo: invalid argument")',
      ])
      const runc = { type_url: 'containerd.runc.v1.Options', value: encodeMessage('containerd.runc.v1.Options', { binary_name: 'crun' }) }
      const answer = await c.introspection.PluginInfo({ ...task, options: request('io.containerd.runc.v2', runc) })
      const info = decodeMessage('containerd.types.RuntimeInfo', answer.extra!.value) as { options: { type_url: string; value: Buffer } }
      expect(decodeMessage(info.options.type_url, info.options.value)).toMatchObject({ binary_name: 'crun' })
      // A custom shim path's stat failure in Go's words.
      expect(await fails({ ...task, options: request('/etc/passwd/x') })).toEqual([
        2,
        'failed to resolve runtime path: invalid custom binary path: stat /etc/passwd/x: not a directory',
      ])
    } finally {
      c.close()
    }
  })
})

import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { harness, runPod, podConfig, type Harness } from '../helpers.js'

let h: Harness
beforeEach(async () => {
  h = await harness()
})
afterEach(() => h.close())

describe('Version, Status, RuntimeConfig', () => {
  test('Version answers as containerd does, with a runtime_version that names the fake', async () => {
    const v = await h.runtime.Version({ version: '' })
    expect(v).toEqual({
      version: '0.1.0',
      runtime_name: 'containerd',
      runtime_version: expect.stringContaining('fake-containerd'),
      runtime_api_version: 'v1',
    })
  })

  test('Version reports a configured runtime name and version', async () => {
    const other = await harness({ runtimeName: 'my-runtime', runtimeVersion: '9.9.9' })
    try {
      const v = await other.runtime.Version({ version: '' })
      expect([v.runtime_name, v.runtime_version]).toEqual(['my-runtime', '9.9.9'])
    } finally {
      await other.close()
    }
  })

  test('Status has RuntimeReady and NetworkReady, runtime handlers, and verbose info as JSON', async () => {
    const s = await h.runtime.Status({ verbose: false })
    const conditions = Object.fromEntries(s.status!.conditions.map((c) => [c.type, c.status]))
    expect(conditions).toMatchObject({ RuntimeReady: true, NetworkReady: true })
    expect(s.runtime_handlers.map((r) => r.name)).toEqual(['', 'runc'])
    expect(s.info).toEqual({})
    const verbose = await h.runtime.Status({ verbose: true })
    expect(Object.keys(verbose.info)).toEqual(expect.arrayContaining(['config', 'golang', 'cniconfig', 'lastCNILoadStatus']))
    expect(JSON.parse(verbose.info.config!).sandboxImage).toBe('registry.k8s.io/pause:3.10')
  })

  test('RuntimeConfig reports the systemd cgroup driver', async () => {
    expect(await h.runtime.RuntimeConfig({})).toEqual({ linux: { cgroup_driver: 'SYSTEMD' } })
  })

  test('UpdateRuntimeConfig keeps the pod CIDR, reports it, and new pods get IPs from it', async () => {
    await h.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: '10.244.3.0/24' } } })
    const id = await runPod(h, podConfig())
    const { status } = await h.runtime.PodSandboxStatus({ pod_sandbox_id: id, verbose: false })
    expect(status!.network!.ip).toBe('10.244.3.2')
    const verbose = await h.runtime.Status({ verbose: true })
    expect(JSON.parse(verbose.info.config!).podCidr).toBe('10.244.3.0/24')
  })

  test('UpdateRuntimeConfig refuses a malformed CIDR with InvalidArgument', async () => {
    const err = await h.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: '10.0.0.0/99' } } }).catch((e) => e)
    expect(err.code).toBe(3)
    expect(err.details).toContain('invalid pod CIDR')
  })

  test("UpdateRuntimeConfig refuses a CIDR holding the host's localhost with InvalidArgument, and keeps the old one", async () => {
    const err = await h.runtime.UpdateRuntimeConfig({ runtime_config: { network_config: { pod_cidr: '127.0.0.0/16' } } }).catch((e) => e)
    expect(err.code).toBe(3)
    expect(err.details).toContain('overlaps 127.0.0.0/24')
    expect(err.details).toContain('127.77.0.0/16')
    const verbose = await h.runtime.Status({ verbose: true })
    expect(JSON.parse(verbose.info.config!).podCidr).not.toBe('127.0.0.0/16')
  })
})

// The Sandbox API's records (src/model/sandbox/records.ts) without a server: Wait's bookkeeping.
import { getEventListeners } from 'node:events'
import { describe, expect, test } from 'vitest'
import { SandboxRecords, type SandboxHost } from '../../src/model/sandbox/records.js'
import type { SandboxRecord } from '../../src/model/cri/records.js'

/** A host whose k8s.io namespace has one ready CRI pod, "pod". */
function host(): SandboxHost & { events: string[] } {
  const pod = { id: 'pod', createdAt: '1', updatedAt: '1', cri: { ready: true }, task: { pid: 7 } } as unknown as SandboxRecord
  const events: string[] = []
  const state = { sandboxes: {} } as unknown as SandboxHost['core']['state']
  return {
    events,
    core: { state, changed: () => undefined, ensureNamespace: () => undefined },
    sandboxes: { all: () => [pod], find: (id: string) => (id === 'pod' ? pod : undefined) } as unknown as SandboxHost['sandboxes'],
    allocatePid: () => 42,
    emit: (_ns, topic) => void events.push(topic),
  }
}

const info = (id: string) => ({
  id,
  runtime: { name: 'io.containerd.runc.v2' },
  labels: {},
  createdAt: '',
  updatedAt: '',
  extensions: {},
  sandboxer: 'shim',
})

describe('SandboxRecords.wait', () => {
  test('on a CRI pod holds one abort listener however long it waits, and none once cancelled', async () => {
    const records = new SandboxRecords(host())
    const ac = new AbortController()
    const waiting = records.wait('k8s.io', 'pod', ac.signal)
    await new Promise((r) => setTimeout(r, 400))
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1)
    ac.abort(new Error('cancelled'))
    await expect(waiting).rejects.toThrow('cancelled')
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0)
  })

  test('a cancelled Wait on a Store sandbox leaves no waiter; a stop still wakes the others', async () => {
    const records = new SandboxRecords(host())
    records.create('default', info('own'))
    records.start('default', 'own')
    for (let i = 0; i < 5; i++) {
      const ac = new AbortController()
      const waiting = records.wait('default', 'own', ac.signal)
      ac.abort(new Error('cancelled'))
      await expect(waiting).rejects.toThrow('cancelled')
      expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0)
    }
    expect(records.waiters('default', 'own')).toBe(0)
    const ac = new AbortController()
    const waiting = records.wait('default', 'own', ac.signal)
    expect(records.waiters('default', 'own')).toBe(1)
    await records.stop('default', 'own')
    expect((await waiting).ready).toBe(false)
    expect(records.waiters('default', 'own')).toBe(0)
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0)
  })
})

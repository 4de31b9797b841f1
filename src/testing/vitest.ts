// fake-containerd for vitest: `import { test } from 'fake-containerd/vitest'` gives every test its
// own runtime (own socket, own state) with typed clients, fault rules and the call journal.
//
//   test('retries a flaky runtime', async ({ containerd }) => {
//     containerd.faults.use({ method: 'RunPodSandbox', times: 2, error: 'UNAVAILABLE' })
//     await myAgent.createPod(containerd.address)
//     expect(containerd.calls('RunPodSandbox')).toHaveLength(3)
//   })
import { inject, test as base } from 'vitest'
import { containerdClients, controlClient, criClients, type ContainerdClients, type ControlClient, type CriClients } from '../client.js'
import type { FakeContainerdOptions } from '../config.js'
import { startFakeContainerd, type FakeContainerd } from '../server.js'
import { ADDRESS_KEY } from './vitest-global.js'

export interface ContainerdFixture extends FakeContainerd {
  /** Typed CRI clients (runtime, image) connected to this runtime. */
  cri: CriClients
  /** Typed containerd clients for namespace "default" (use ns() for another). */
  ctr: ContainerdClients
  /** containerd clients for another namespace, e.g. "k8s.io". */
  ns(namespace: string): ContainerdClients
}

/** Starts a runtime for one test, with clients, and closes it all when the test ends. */
export async function containerdFixture(options: FakeContainerdOptions = {}): Promise<ContainerdFixture> {
  const fake = await startFakeContainerd(options)
  const clients: { close(): void }[] = []
  const track = <C extends { close(): void }>(c: C): C => (clients.push(c), c)
  const cri = track(criClients(fake.address))
  const ctr = track(containerdClients(fake.address, 'default'))
  const close = async (): Promise<void> => {
    for (const c of clients) c.close()
    await fake.close()
  }
  // Inherit from the server object, so its getters (node after a restart) stay live.
  return Object.assign(Object.create(fake) as FakeContainerd, {
    cri,
    ctr,
    ns: (namespace: string) => track(containerdClients(fake.address, namespace)),
    close,
    [Symbol.asyncDispose]: close,
  }) as ContainerdFixture
}

/** vitest's `test` with a `containerd` fixture: a fresh runtime per test. */
export const test = base.extend<{ containerd: ContainerdFixture; containerdOptions: FakeContainerdOptions }>({
  // Override per file or describe with test.override({ containerdOptions: { … } }) (vitest 4.1+; test.scoped before) or test.extend.
  containerdOptions: [{}, { injected: false }],
  containerd: async ({ containerdOptions }, use) => {
    const fixture = await containerdFixture(containerdOptions)
    try {
      await use(fixture)
    } finally {
      await fixture.close()
    }
  },
})

export interface SharedContainerd {
  address: string
  cri: CriClients
  control: ControlClient
  ns(namespace: string): ContainerdClients
}

/**
 * For a run that shares one server (see fake-containerd/vitest/global-setup): a `containerd`
 * fixture connected to it, reset before each test through the control API.
 */
export const sharedTest = base.extend<{ containerd: SharedContainerd }>({
  containerd: async ({}, use) => {
    const address = inject(ADDRESS_KEY as never) as unknown as string | undefined
    if (!address)
      throw new Error('no shared fake-containerd: add "fake-containerd/vitest/global-setup" to globalSetup in your vitest config')
    const clients: { close(): void }[] = []
    const track = <C extends { close(): void }>(c: C): C => (clients.push(c), c)
    const control = track(controlClient(address))
    await control.ResetState({})
    try {
      await use({ address, cri: track(criClients(address)), control, ns: (n) => track(containerdClients(address, n)) })
    } finally {
      for (const c of clients) c.close()
    }
  },
})

export { describe, expect } from 'vitest'

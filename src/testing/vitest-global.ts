// vitest globalSetup that starts one fake-containerd for the whole run and hands its address to
// the tests (see sharedTest in fake-containerd/vitest). Tests share it, so run them one file at a
// time (fileParallelism: false); each test starts from a reset node.
//
//   // vitest.config.ts
//   export default defineConfig({ test: { globalSetup: ['fake-containerd/vitest/global-setup'], fileParallelism: false } })

export const ADDRESS_KEY = 'fakeContainerdAddress'

interface GlobalSetupContext {
  provide(key: string, value: unknown): void
}

export default async function setup({ provide }: GlobalSetupContext): Promise<() => Promise<void>> {
  const { startFakeContainerd } = await import('../server.js')
  const fake = await startFakeContainerd()
  provide(ADDRESS_KEY, fake.address)
  process.env.FAKE_CONTAINERD_ADDRESS = fake.address
  return () => fake.close()
}

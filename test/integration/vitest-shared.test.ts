// The shared-server variant: a nested vitest run with fake-containerd/vitest/global-setup and
// sharedTest, as a user would configure it.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'

const root = join(import.meta.dirname, '../..')
const run = promisify(execFile)

describe('fake-containerd/vitest/global-setup with sharedTest', () => {
  test('one server for the run, reset before each test', async () => {
    const dir = mkdtempSync(join(root, 'test/.tmp-shared-'))
    // From the sources, not dist/, so vite also compiles the CommonJS TypeScript (.cts) they import,
    // as this repo's own vitest.config.ts has it do; an installed package needs none of that.
    writeFileSync(
      join(dir, 'vitest.config.mjs'),
      `export default { oxc: { include: /\\.(m?ts|cts)$/ }, test: { include: ['${dir}/*.test.ts'], globalSetup: ['${root}/src/testing/vitest-global.ts'], fileParallelism: false } }\n`,
    )
    const body = (name: string) => `
import { sharedTest as test, expect } from '${root}/src/testing/vitest.ts'
test('${name}: starts empty, then runs a pod', async ({ containerd }) => {
  expect((await containerd.cri.runtime.ListPodSandbox({ filter: null })).items).toEqual([])
  await containerd.cri.runtime.RunPodSandbox({ config: { metadata: { name: 'shared', namespace: 'default', uid: 'u' } } })
  expect((await containerd.cri.runtime.ListPodSandbox({ filter: null })).items).toHaveLength(1)
})
`
    writeFileSync(join(dir, 'a.test.ts'), body('a'))
    writeFileSync(join(dir, 'b.test.ts'), body('b'))
    try {
      const { stdout } = await run(
        process.execPath,
        [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(dir, 'vitest.config.mjs'), '--root', dir],
        {
          cwd: dir,
          timeout: 60_000,
        },
      )
      expect(stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+2 passed/)
    } finally {
      const { rmSync } = await import('node:fs')
      rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)
})

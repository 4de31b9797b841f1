// The packed package as a user's project gets it: npm pack, install the tarball and jest from the
// npm registry into a fresh project that is not ESM ("type" unset), then run real jest there
// (globalSetup/globalTeardown from fake-containerd/jest, CommonJS test files that require() the
// client), a vitest test file on the fake-containerd/vitest fixture, the CLI through npx, and a
// type check of the CommonJS declarations. Skipped, saying why, only when the registry cannot be
// reached.
import { execFile, type ExecFileException } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string }
// engines: ^18.14.0 || ^20.0.0 || ^22.0.0 || >=24.0.0 (npm view jest@30.5.2 engines).
const JEST = 'jest@30.5.2'
const INSTALL_MS = 170_000

interface Ran {
  code: number
  stdout: string
  stderr: string
}

// The child processes get this environment: not this vitest run's own variables (VITEST_*), nor
// what `npm test` says about this repo (npm_package_*, npm_lifecycle_*, its local prefix), nor a
// FAKE_CONTAINERD_ADDRESS from outside; npm's own settings (npm_config_*: cache, registry) stay.
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(VITEST|FAKE_CONTAINERD_|npm_package_|npm_lifecycle_)/.test(k) &&
        !['npm_command', 'npm_config_local_prefix', 'NODE_OPTIONS'].includes(k),
    ),
  ),
  NO_COLOR: '1',
  FORCE_COLOR: '0',
}

/** Runs a command to its end; never rejects, so a failure can be reported with its output. */
function run(cmd: string, args: string[], cwd: string, timeout = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: ENV, timeout, maxBuffer: 64 * 1024 * 1024 }, (err: ExecFileException | null, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}\n${err.message}` : stderr })
    })
  })
}

const show = (r: Ran): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`

/** Whether the npm registry answers; the reason when it does not. */
async function registry(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const r = await run('npm', ['view', JEST, 'version', '--fetch-retries=0', '--fetch-timeout=20000'], tmpdir(), 30_000)
  if (r.code === 0 && r.stdout.trim() !== '') return { ok: true }
  const why = r.stderr.split('\n').find((l) => /ERR|error|timed out/i.test(l)) ?? `exit ${r.code}`
  return { ok: false, reason: `the npm registry cannot be reached (npm view ${JEST} version: ${why.trim()})` }
}

const REGISTRY = await registry()
if (!REGISTRY.ok) console.warn(`SKIPPED the packed jest/vitest project tests: ${REGISTRY.reason}`)
const SUITE = REGISTRY.ok ? 'a jest project and a vitest project using the packed package' : `SKIPPED: ${REGISTRY.reason}`

let tmp: string
let project: string

const files: Record<string, string> = {
  // No "type": the project is CommonJS, as most jest projects are.
  'package.json': JSON.stringify({ name: 'fc-jest-project', version: '0.0.0', private: true }, null, 2),
  // jest loads its config in its own process (workers get the config, not this file): remember
  // that process, to tell that test files ran in other processes and still found the server.
  'jest.config.js': `process.env.FC_JEST_MAIN_PID ??= String(process.pid)
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/jest-tests'],
  cacheDirectory: '<rootDir>/.jest-cache',
  globalSetup: 'fake-containerd/jest/global-setup',
  globalTeardown: 'fake-containerd/jest/global-teardown',
}
`,
  // The same, with no transform at all (the default one is babel-jest).
  'jest.no-transform.config.js': `module.exports = { ...require('./jest.config.js'), transform: {} }
`,
  'jest-tests/runtime.test.js': `const { connect } = require('fake-containerd/jest')

const c = connect()
beforeEach(() => c.reset())
afterAll(() => c.close())

test('is a CommonJS test file', () => {
  expect(typeof module.exports).toBe('object')
  expect(require.resolve('fake-containerd/jest')).toMatch(/dist[\\\\/]testing[\\\\/]jest\\.cjs$/)
})

test('Version', async () => {
  const v = await c.runtime.Version({ version: '' })
  expect(v.runtime_name).toBe('containerd')
  expect(v.runtime_api_version).toBe('v1')
})

test('a pod through CRI, a fault that fires, and the journal', async () => {
  const config = { metadata: { name: 'jest-pod', namespace: 'default', uid: 'jest-uid' } }
  const { pod_sandbox_id } = await c.runtime.RunPodSandbox({ config })
  expect(pod_sandbox_id).toMatch(/^[0-9a-f]{64}$/)
  await c.image.PullImage({ image: { image: 'busybox' } })
  const { container_id } = await c.runtime.CreateContainer({
    pod_sandbox_id,
    config: { metadata: { name: 'c' }, image: { image: 'busybox' }, command: ['sleep', '60'] },
    sandbox_config: config,
  })
  await c.runtime.StartContainer({ container_id })
  expect((await c.runtime.ContainerStatus({ container_id })).status.state).toBe('CONTAINER_RUNNING')

  const rules = await c.faults.use({ method: 'StopContainer', times: 1, error: 'UNAVAILABLE', message: 'injected' })
  expect(rules).toHaveLength(1)
  await expect(c.runtime.StopContainer({ container_id, timeout: 0 })).rejects.toMatchObject({ code: 14, details: 'injected' })
  await c.runtime.StopContainer({ container_id, timeout: 0 })

  const stops = await c.calls('StopContainer')
  expect(stops.map((e) => e.status.code)).toEqual([14, 0])
  expect(stops[0].fault).toMatchObject({ method: 'StopContainer' })
  expect((await c.calls()).map((e) => e.method)).toEqual(expect.arrayContaining(['RunPodSandbox', 'PullImage', 'CreateContainer']))

  const k8s = c.containerd('k8s.io')
  const { containers } = await k8s.containers.List({ filters: [] })
  expect(containers.map((x) => x.id).sort()).toEqual([pod_sandbox_id, container_id].sort())
})

test('reset() between tests left nothing behind', async () => {
  expect((await c.runtime.ListPodSandbox({ filter: null })).items).toEqual([])
  expect(await c.faults.list()).toEqual([])
})
`,
  'jest-tests/worker.test.js': `const { connect, ADDRESS_ENV } = require('fake-containerd/jest')

const c = connect()
afterAll(() => c.close())

test('a worker process gets the address through the environment', async () => {
  expect(process.env[ADDRESS_ENV]).toMatch(/^unix:\\/\\/\\//)
  console.log('worker pid ' + process.pid + ', jest pid ' + process.env.FC_JEST_MAIN_PID)
  expect((await c.runtime.Version({ version: '' })).runtime_api_version).toBe('v1')
})
`,
  // vitest runs ESM test files; this one uses the per-test fixture.
  'vitest-tests/fixture.test.mjs': `import { test, expect } from 'fake-containerd/vitest'

test('a runtime of its own, with faults and the call journal', async ({ containerd }) => {
  containerd.faults.use({ method: 'RunPodSandbox', times: 2, error: 'UNAVAILABLE' })
  const config = { metadata: { name: 'vitest-pod', namespace: 'default', uid: 'vitest-uid' } }
  let id = ''
  for (let attempt = 0; attempt < 5 && !id; attempt++) {
    id = await containerd.cri.runtime.RunPodSandbox({ config }).then((r) => r.pod_sandbox_id, () => '')
  }
  expect(id).toMatch(/^[0-9a-f]{64}$/)
  expect(containerd.calls('RunPodSandbox').map((c) => c.status.code)).toEqual([14, 14, 0])
  expect((await containerd.ns('k8s.io').containers.List({ filters: [] })).containers.map((c) => c.id)).toEqual([id])
})
`,
  // A CommonJS TypeScript file that uses the .d.cts declarations.
  'types-check.ts': `import { connect, createGlobalSetup, type Connection } from 'fake-containerd/jest'
import setup = require('fake-containerd/jest/global-setup')
import teardown = require('fake-containerd/jest/global-teardown')

const c: Connection = connect('unix:///nowhere.sock')
export async function check(): Promise<string> {
  const hooks: Array<() => Promise<void>> = [setup, teardown, createGlobalSetup({ runtimeName: 'typed' })]
  const v = await c.runtime.Version({ version: '' })
  const calls = await c.calls('Version', { code: 0 })
  const rules = await c.faults.use({ method: 'Version', error: 'UNAVAILABLE' })
  const { containers } = await c.containerd('k8s.io').containers.List({ filters: [] })
  // @ts-expect-error: the clients are typed, so an unknown method is an error
  c.runtime.NoSuchMethod({})
  return v.runtime_name.toUpperCase() + calls[0]?.method + rules.length + containers.length + hooks.length
}
`,
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      strict: true,
      module: 'node16',
      moduleResolution: 'node16',
      target: 'es2022',
      skipLibCheck: true,
      noEmit: true,
      types: [],
    },
    files: ['types-check.ts'],
  }),
}

describe.skipIf(!REGISTRY.ok)(SUITE, () => {
  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'testing', 'jest.cjs')))
      throw new Error(`${join(ROOT, 'dist', 'testing', 'jest.cjs')} is missing: run "npm run build" before these tests`)
    tmp = realpathSync(mkdtempSync(join(tmpdir(), 'fc-jest-project-')))
    // dist/ is already built by the test command, so skip the prepack build.
    const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], ROOT)
    expect(pack.code, show(pack)).toBe(0)
    const packed = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as { filename: string }[]
    expect(packed).toHaveLength(1)
    const { filename } = packed[0]!
    project = join(tmp, 'project')
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(project, name, '..'), { recursive: true })
      writeFileSync(join(project, name), text)
    }
    // The tarball's dependencies and jest come from the registry; no install scripts are needed.
    const install = await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', join(tmp, filename), JEST],
      project,
      INSTALL_MS,
    )
    expect(install.code, show(install)).toBe(0)
    // vitest is an optional peer dependency: take this repo's, which is what the fixture is tested with.
    symlinkSync(join(ROOT, 'node_modules', 'vitest'), join(project, 'node_modules', 'vitest'), 'dir')
  }, INSTALL_MS + 10_000)

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  test('the installed package resolves fake-containerd/jest as CommonJS for require and import', { timeout: 30_000 }, async () => {
    const r = await run(
      process.execPath,
      [
        '-e',
        // The names Node itself gives a CommonJS module's namespace (Node 23 and later add "module.exports").
        `const NODE_NAMES = ['default', '__esModule', 'module.exports']
const jest = require('fake-containerd/jest')
const path = require.resolve('fake-containerd/jest')
if (!path.endsWith('jest.cjs')) throw new Error(path)
if (require('fake-containerd/jest/global-setup') !== jest.globalSetup) throw new Error('global-setup')
if (require('fake-containerd/jest/global-teardown') !== jest.globalTeardown) throw new Error('global-teardown')
import('fake-containerd/jest').then((m) => console.log(Object.keys(m).filter((k) => !NODE_NAMES.includes(k)).sort().join(' ')))`,
      ],
      project,
    )
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toBe('ADDRESS_ENV connect createGlobalSetup globalSetup globalTeardown\n')
  })

  test(
    'jest (babel-jest, two workers) runs CommonJS test files against the server its globalSetup started',
    { timeout: 60_000 },
    async () => {
      const r = await run(process.execPath, [join(project, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--maxWorkers=2'], project)
      expect(r.code, show(r)).toBe(0)
      // jest prints its summary on stderr.
      expect(r.stderr, show(r)).toMatch(/^Test Suites: 2 passed, 2 total$/m)
      expect(r.stderr, show(r)).toMatch(/^Tests: +5 passed, 5 total$/m)
      // With no timings cached yet and two workers, the files ran outside jest's own process.
      const [, worker, main] = /worker pid (\d+), jest pid (\d+)/.exec(r.stderr) ?? []
      expect(worker, show(r)).toBeDefined()
      expect(worker).not.toBe(main)
    },
  )

  test('npx jest, in band and with no transform, also passes', { timeout: 60_000 }, async () => {
    const r = await run('npx', ['--no-install', 'jest', '--ci', '--runInBand', '-c', 'jest.no-transform.config.js', 'runtime'], project)
    expect(r.code, show(r)).toBe(0)
    expect(r.stderr, show(r)).toMatch(/^Tests: +4 passed, 4 total$/m)
  })

  test('vitest runs a test file on the fake-containerd/vitest fixture', { timeout: 60_000 }, async () => {
    const r = await run(process.execPath, [join(project, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'vitest-tests'], project)
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout, show(r)).toMatch(/Tests +1 passed \(1\)/)
  })

  test('npx fake-containerd --version', { timeout: 30_000 }, async () => {
    const r = await run('npx', ['--no-install', 'fake-containerd', '--version'], project)
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toBe(`fake-containerd ${PKG.version}\n`)
  })

  test('the CommonJS declarations type-check in a CommonJS TypeScript project', { timeout: 60_000 }, async () => {
    const r = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project)
    expect(r.code, show(r)).toBe(0)
  })
})

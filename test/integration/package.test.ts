// The package as npm ships it: packs the repo, unpacks the tarball outside the repo, and checks
// that the CLI and the library find their protos and image fixtures there.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { criClients, type CriClients } from '../../src/client.js'
import { podConfig } from '../helpers.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..', '..')
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string }
const WAIT_MS = 10_000
const RPC = { deadline: 5_000 }

interface PackResult {
  filename: string
  files: { path: string }[]
}

let tmp: string
let pkgDir: string
let packedFiles: string[]
const children = new Set<ChildProcess>()
const clients = new Set<CriClients>()

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'cli.js')))
    throw new Error(`${join(ROOT, 'dist', 'cli.js')} is missing: run "npm run build" before these tests`)
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'fc-pack-')))
  // dist/ is already built by the test command, so skip the prepack build.
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], {
    cwd: ROOT,
    timeout: 50_000,
    maxBuffer: 64 * 1024 * 1024,
  })
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackResult[]
  expect(packed).toHaveLength(1)
  const result = packed[0]!
  packedFiles = result.files.map((f) => f.path)
  await run('tar', ['-xzf', join(tmp, result.filename), '-C', tmp], { timeout: 20_000 })
  pkgDir = join(tmp, 'package')
  // Dependencies come from the repo's node_modules, so nothing is fetched from a registry.
  symlinkSync(join(ROOT, 'node_modules'), join(pkgDir, 'node_modules'), 'dir')
}, 60_000)

afterAll(async () => {
  for (const c of clients) c.close()
  await Promise.all(
    [...children]
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise<void>((resolve) => (c.once('close', () => resolve()), c.kill('SIGKILL')))),
  )
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

function withTimeout<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** The catalog entry the packed fixtures hold for repository:tag. */
function packedCatalogEntry(file: string, repository: string, tag: string): { configDigest: string } {
  const { images } = JSON.parse(readFileSync(join(pkgDir, 'fixtures', 'images', file), 'utf8')) as {
    images: { repository: string; tag: string | null; configDigest: string }[]
  }
  const entry = images.find((i) => i.repository === repository && i.tag === tag)
  if (!entry) throw new Error(`${file} in the package has no ${repository}:${tag}`)
  return entry
}

describe('the packed package', () => {
  test('ships dist/, proto/ and fixtures/, and not src/ or test/', { timeout: 60_000 }, () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/cli.js',
        'dist/index.js',
        'dist/index.d.ts',
        'proto/cri/runtime/v1/api.proto',
        'docker/ps',
        'dist/docker/ps.js',
      ]),
    )
    expect(packedFiles.filter((f) => /^fixtures\/images\/[^/]+\.json$/.test(f)).length).toBeGreaterThan(0)
    expect(packedFiles).toContain('fixtures/images/registry.k8s.io_pause.json')
    expect(packedFiles.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([])
    // What was unpacked matches what npm reported.
    for (const f of [
      'dist/cli.js',
      'dist/index.js',
      'dist/index.d.ts',
      'proto/cri/runtime/v1/api.proto',
      'fixtures/images/registry.k8s.io_pause.json',
    ]) {
      expect(existsSync(join(pkgDir, f)), `${f} in the unpacked package`).toBe(true)
    }
    expect(existsSync(join(pkgDir, 'src'))).toBe(false)
    expect(existsSync(join(pkgDir, 'test'))).toBe(false)
  })

  test('the installed CLI prints its version', { timeout: 60_000 }, async () => {
    const { stdout } = await run(process.execPath, [join(pkgDir, 'dist', 'cli.js'), '--version'], { cwd: tmp, timeout: WAIT_MS })
    expect(stdout).toBe(`fake-containerd ${PKG.version}\n`)
  })

  test('the installed CLI serves CRI from the packed protos and pulls from the packed image catalog', { timeout: 60_000 }, async () => {
    const socket = join(tmp, 's.sock')
    // catalog: only images in fixtures/images can be pulled, so success proves the fixtures were found.
    const child = spawn(process.execPath, [join(pkgDir, 'dist', 'cli.js'), '--socket', socket, '--pull-policy', 'catalog'], {
      cwd: tmp,
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FAKE_CONTAINERD_'))),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    )
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', () => stdout.includes('listening on') && resolve())
        void exited.then((e) => reject(new Error(`the packed CLI exited (${JSON.stringify(e)}) before listening; stderr: ${stderr}`)))
      }),
      `the packed CLI to listen (stderr: ${stderr})`,
    )
    expect(stdout).toBe(`listening on unix://${socket}\n`)

    const cri = criClients(`unix://${socket}`)
    clients.add(cri)
    const { pod_sandbox_id } = await cri.runtime.RunPodSandbox({ config: podConfig('packed-pod') }, RPC)
    expect(pod_sandbox_id).toMatch(/^[0-9a-f]{64}$/)
    const pause = await cri.image.ImageStatus({ image: { image: 'registry.k8s.io/pause:3.10' }, verbose: false }, RPC)
    expect(pause.image?.id).toBe(packedCatalogEntry('registry.k8s.io_pause.json', 'registry.k8s.io/pause', '3.10').configDigest)
    expect(pause.image?.pinned).toBe(true)

    const { image_ref } = await cri.image.PullImage({ image: { image: 'busybox' } }, RPC)
    expect(image_ref).toBe(packedCatalogEntry('docker.io_library_busybox.json', 'docker.io/library/busybox', 'latest').configDigest)

    cri.close()
    child.kill('SIGTERM')
    expect(await withTimeout(exited, `the packed CLI to exit (stderr: ${stderr})`)).toEqual({ code: 0, signal: null })
    expect(existsSync(socket)).toBe(false)
  })

  test('the installed library can be imported by path and by package name, and serves Version', async () => {
    // Let `import 'fake-containerd'` resolve to the unpacked package through its exports map.
    mkdirSync(join(tmp, 'node_modules'), { recursive: true })
    symlinkSync(pkgDir, join(tmp, 'node_modules', PKG.name), 'dir')
    const script = join(tmp, 'use-library.mjs')
    writeFileSync(
      script,
      `import { startFakeContainerd, criClients } from ${JSON.stringify(pathToFileURL(join(pkgDir, 'dist', 'index.js')).href)}
import * as byName from ${JSON.stringify(PKG.name)}
if (byName.startFakeContainerd !== startFakeContainerd) throw new Error('import by name gave a different module')
const fake = await startFakeContainerd({ runtimeName: 'packed' })
const cri = criClients(fake.address)
try {
  const v = await cri.runtime.Version({ version: '' }, { deadline: 5000 })
  if (v.runtime_name !== 'packed' || v.runtime_api_version !== 'v1') throw new Error('unexpected Version: ' + JSON.stringify(v))
} finally {
  cri.close()
  await fake.close()
}
console.log('OK')
`,
    )
    const { stdout } = await run(process.execPath, [script], { cwd: tmp, timeout: 20_000 })
    expect(stdout).toBe('OK\n')
  }, 60_000)
})

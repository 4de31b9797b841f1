// The README's crictl commands, as written, with the sample files in fixtures/ (pod.json,
// container.json): each `crictl …` line of the "Run it" block runs in sh from the package's
// directory, with CONTAINER_RUNTIME_ENDPOINT naming a fresh server, for each crictl binary CRICTL
// names (comma-separated; test/e2e/crictl.test.ts fails in CI when it names none).
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { harness, type Harness } from '../helpers.js'

const ROOT = join(import.meta.dirname, '..', '..')
const CRICTLS = (process.env.CRICTL ?? '').split(',').filter(Boolean)
const run = promisify(execFile)

/** The README's "Run it" block after the server start (and the wait for its socket), the variable and the cd, as a script. */
function readmeScript(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Run it\n'))
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!
  return block
    .split('\n')
    .filter((l) => !/^(npx fake-containerd|until \[ -S|export CONTAINER_RUNTIME_ENDPOINT=|cd node_modules\/fake-containerd)\b/.test(l))
    .join('\n')
}

describe.each(CRICTLS)('the README crictl commands with fixtures/ (%s)', (CRICTL) => {
  let h: Harness
  let bin: string
  beforeEach(async () => {
    h = await harness()
    // `crictl` on the PATH, as the README calls it.
    bin = mkdtempSync(join(tmpdir(), 'fc-crictl-'))
    symlinkSync(CRICTL, join(bin, 'crictl'))
  })
  afterEach(async () => {
    await h?.close()
    rmSync(bin, { recursive: true, force: true })
  })

  test('runp fixtures/pod.json, create and start fixtures/container.json, ps -a, logs', { timeout: 60_000 }, async () => {
    const script = readmeScript()
    expect(script).toContain('crictl runp fixtures/pod.json')
    // The log file the fixtures name, gone first, so that what logs shows is this run's.
    const pod = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'pod.json'), 'utf8')) as { log_directory: string }
    const container = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'container.json'), 'utf8')) as { log_path: string }
    rmSync(join(pod.log_directory, container.log_path), { force: true })
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, CONTAINER_RUNTIME_ENDPOINT: h.fake.address }
    const { stdout } = await run('sh', ['-ec', script], { cwd: ROOT, env, timeout: 30_000 })
    // pull prints the image, start the container's id, ps -a the table, logs what it wrote.
    const [pulled, started, header, row, ...logs] = stdout.split('\n')
    expect(pulled).toMatch(/^Image is up to date for sha256:[0-9a-f]{64}$/)
    expect(started).toMatch(/^[0-9a-f]{64}$/)
    expect(header).toMatch(/^CONTAINER\s+IMAGE\s+CREATED\s+STATE\s+NAME\s+ATTEMPT\s+POD ID/)
    expect(row).toMatch(new RegExp(`^${started!.slice(0, 13)}\\s+busybox\\s.*Running\\s+hello\\s+0\\s+[0-9a-f]{13}\\s`))
    expect(logs.join('\n')).toBe('hello from fake-containerd\n')

    // The pod is the one pod.json describes.
    const { items } = await h.runtime.ListPodSandbox({ filter: null })
    expect(items.map((p) => [p.metadata?.name, p.metadata?.namespace, p.labels])).toEqual([['demo', 'default', { app: 'demo' }]])
  })
})

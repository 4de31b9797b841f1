// The Go test programs under test/go/: found, built once per test run, run against a fake's socket.
// They need `go` and containerd 1.6's Go client in a GOPATH (Debian: golang-go and
// golang-github-containerd-containerd-dev, which install it under /usr/share/gocode).
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** What the Go programs need, or why they cannot be built here. */
export interface GoToolchain {
  go?: string
  gopath?: string
  missing?: string
}

export function goToolchain(): GoToolchain {
  const go = process.env.GO ?? which('go')
  const gopath = [process.env.GOPATH, '/usr/share/gocode'].find(
    (p): p is string => !!p && existsSync(join(p, 'src/github.com/containerd/containerd/client.go')),
  )
  const missing = [
    go ? undefined : '`go` (Debian: golang-go)',
    gopath ? undefined : "containerd's Go client in a GOPATH (Debian: golang-github-containerd-containerd-dev)",
  ].filter(Boolean)
  return { go, gopath, missing: missing.length ? `missing ${missing.join(' and ')}` : undefined }
}

function which(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * Builds the named programs (directories of test/go/) in GOPATH mode into a fresh temp directory and
 * returns it. Go's build cache makes a second build quick. One package at a time (-p 1), so that a
 * cold build leaves the other test files a core on a small CI runner.
 */
export async function buildGoPrograms(toolchain: GoToolchain, names: string[]): Promise<string> {
  if (!toolchain.go || !toolchain.gopath) throw new Error(`cannot build the Go programs: ${toolchain.missing}`)
  const out = mkdtempSync(join(tmpdir(), 'fc-go-'))
  const env: NodeJS.ProcessEnv = { ...process.env, GO111MODULE: 'off', GOPATH: toolchain.gopath, GOFLAGS: '' }
  if (!env.GOCACHE && !env.HOME && !env.XDG_CACHE_HOME) env.GOCACHE = join(tmpdir(), 'fake-containerd-go-cache')
  try {
    await run(toolchain.go, ['build', '-p', '1', '-o', `${out}/`, ...names.map((n) => `./test/go/${n}`)], {
      cwd: root,
      env,
      timeout: 600_000,
    })
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new Error(`go build failed: ${e.stderr || e.message}`)
  }
  return out
}

/** What a program printed (its JSON report) and how it ended. */
export interface GoRun {
  report: Record<string, any>
  code: number
  stderr: string
}

/** Runs a built program with flags and parses the JSON report it prints on stdout. */
export async function runGoProgram(bin: string, args: string[], timeoutMs = 60_000): Promise<GoRun> {
  let stdout: string
  let stderr: string
  let code = 0
  try {
    ;({ stdout, stderr } = await run(bin, args, { timeout: timeoutMs }))
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number }
    ;({ stdout, stderr } = e)
    code = typeof e.code === 'number' ? e.code : 1
  }
  let report: Record<string, any>
  try {
    report = JSON.parse(stdout) as Record<string, any>
  } catch {
    throw new Error(`${bin} printed no JSON report (exit ${code}):\n${stdout}\n${stderr}`)
  }
  return { report, code, stderr }
}

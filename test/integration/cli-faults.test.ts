// Fault rules, seeds and seed states given on the command line, and the fault syntax.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { criClients } from '../../src/client.js'
import { parseFaultSpec } from '../../src/faults/spec.js'
import { grpcError } from '../helpers.js'

const CLI = join(import.meta.dirname, '../../dist/cli.js')
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
})

/** Starts the CLI and resolves with its address once it is ready, or rejects with its stderr. */
function serve(args: string[], env: Record<string, string> = {}): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`)
  const dir = mkdtempSync(join(tmpdir(), 'fc-cli-faults-'))
  const child = spawn(process.execPath, [CLI, '--socket', join(dir, 'c.sock'), ...args], { env: { ...process.env, ...env } })
  children.push(child)
  return new Promise((resolve, reject) => {
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.stdout.on('data', (d) => {
      const m = /listening on (\S+)/.exec(String(d))
      if (m) resolve(m[1] as string)
    })
    child.once('exit', (code) => reject(Object.assign(new Error(err), { code })))
    setTimeout(() => reject(new Error(`no ready line within 10 s: ${err}`)), 10_000).unref()
  })
}

describe('fault syntax', () => {
  test.each([
    ['RunPodSandbox:error=UNAVAILABLE,times=2', { method: 'RunPodSandbox', error: 'UNAVAILABLE', times: 2 }],
    ['method=List*,delay=200ms', { method: 'List*', delay: 200 }],
    ['Version:delay=10ms-1s', { method: 'Version', delay: { min: 10, max: 1000 } }],
    [
      'service=Images,namespace=k8s.io,error=7,after=3,probability=0.5',
      { service: 'Images', namespace: 'k8s.io', error: 7, after: 3, probability: 0.5 },
    ],
    ['GetContainerEvents:truncate-after=2,stream-delay=5', { method: 'GetContainerEvents', truncateAfter: 2, streamDelay: 5 }],
    ['Status:hang', { method: 'Status', hang: true }],
    [
      'kind=crash,name=web,label.tier=front,exit-code=3,after=1s',
      { kind: 'crash', exitCode: 3, afterMs: 1000, match: { name: 'web', labels: { tier: 'front' } } },
    ],
    [
      'kind=pullFailure,image=docker.io/*,pull=slow,duration=2s',
      { kind: 'pullFailure', pull: 'slow', durationMs: 2000, match: { image: 'docker.io/*' } },
    ],
  ])('%s', (spec, rule) => {
    expect(parseFaultSpec(spec)).toEqual(rule)
  })

  test.each([
    ['Version', /needs an effect/],
    ['Version:error=NOPE', /unknown gRPC status "NOPE"/],
    ['Version:colour=red', /fault option "colour" is not known/],
    ['Version:delay=soon', /not a duration/],
    ['PulImage:error=UNAVAILABLE', /method: no RPC is named "PulImage"; did you mean PullImage\?/],
    ['Version:error=UNAVAILABLE,after=1s', /after=1s is a time, which only crash and oom faults take/],
    ['kind=oom,pull=slow', /pull is for pullFailure faults; an oom fault has no pull/],
  ])('%s is refused', (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(message)
  })
})

describe('CLI', () => {
  test('--fault rules are in force from the start', async () => {
    const address = await serve(['--fault', 'Version:error=UNAVAILABLE,times=1', '--fault', 'Status:error=INTERNAL'])
    const cri = criClients(address)
    try {
      expect((await grpcError(cri.runtime.Version({ version: '' }))).code).toBe(14)
      await cri.runtime.Version({ version: '' })
      expect((await grpcError(cri.runtime.Status({ verbose: false }))).code).toBe(13)
    } finally {
      cri.close()
    }
  })

  test('--faults reads a YAML file; FAKE_CONTAINERD_FAULT and --seed-state work from the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fc-cli-faults-'))
    const file = join(dir, 'faults.yaml')
    writeFileSync(file, 'faults:\n  - method: ListImages\n    error: NOT_FOUND\n    message: from yaml\n')
    const address = await serve(['--faults', file], {
      FAKE_CONTAINERD_FAULT: 'ImageFsInfo:error=ABORTED',
      FAKE_CONTAINERD_SEED_STATE: 'three-running-pods',
    })
    const cri = criClients(address)
    try {
      expect((await grpcError(cri.image.ListImages({ filter: null }))).details).toBe('from yaml')
      expect((await grpcError(cri.image.ImageFsInfo({}))).code).toBe(10)
      expect((await cri.runtime.ListPodSandbox({ filter: null })).items).toHaveLength(3)
    } finally {
      cri.close()
    }
  })

  test('a bad rule, seed or file stops the CLI with a message and exit code 2', async () => {
    /** The CLI exits 2 with the message on stderr. */
    const refused = (args: string[], message: string, env: Record<string, string> = {}) =>
      expect(serve(args, env)).rejects.toMatchObject({ code: 2, message: expect.stringContaining(message) })
    await refused(['--fault', 'Version:colour=red'], 'fault option "colour" is not known')
    await refused(['--seed', 'abc'], '--seed must be a whole number')
    await refused(
      ['--fault', 'PulImage:error=UNAVAILABLE'],
      'fault "PulImage:error=UNAVAILABLE": method: no RPC is named "PulImage"; did you mean PullImage?',
    )
    await refused(['--fault', 'Version:error=UNAVAILABLE,exit-code=3'], 'exitCode is for crash faults; a call fault has no exitCode')
    await refused([], 'hang is for call faults; a crash fault has no hang', { FAKE_CONTAINERD_FAULT: 'kind=crash,hang' })
    const file = join(mkdtempSync(join(tmpdir(), 'fc-cli-faults-')), 'faults.yaml')
    writeFileSync(file, 'faults:\n  - method: Version\n    error: UNAVAILABLE\n  - method: Status\n    eror: UNAVAILABLE\n')
    await refused(['--faults', file], `fault file ${file}: faults[1].eror is not a field of a call fault; did you mean error?`)
    writeFileSync(file, '[{ method: Version, error: UNAVAILABLE, times: "2" }]')
    await refused(['--faults', file], `fault file ${file}: faults[0].times must be a whole number of at least 1, not "2"`)
    await refused(['--faults', '/nonexistent/faults.yaml'], 'cannot read fault file')
  })
})

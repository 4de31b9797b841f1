// The one table of CLI flags (src/flags.ts): the parser, --help and the README made from it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { DEFAULTS, ENV, FLAGS, flagsMarkdown, helpText, parseFlags, UsageError, withFlagsTable } from '../../src/flags.js'

const README = join(import.meta.dirname, '..', '..', 'README.md')

describe('the flag table', () => {
  test("the README's flag table is the one made from the table (run `npm run docs` to remake it)", () => {
    const readme = readFileSync(README, 'utf8')
    const start = readme.indexOf('\n|', readme.indexOf('<!-- flags:')) + 1
    const table = readme.slice(start, readme.indexOf('\n<!-- /flags -->', start))
    expect(table, "README.md's flag table differs from src/flags.ts: run `npm run docs`").toBe(flagsMarkdown())
    expect(withFlagsTable(readme), 'run `npm run docs`').toBe(readme)
  })

  test('--help names every flag, its environment variable and its default', () => {
    const help = helpText()
    for (const f of FLAGS) {
      expect(help).toMatch(new RegExp(`^  (-\\w, )?--${f.name}\\b`, 'm'))
      if ('env' in f) expect(help).toContain(`[${f.env}`)
    }
    expect(help).toContain('(default /tmp/fake-containerd/containerd.sock)')
  })

  test('flag names and environment variables are unique', () => {
    const names = FLAGS.map((f) => f.name)
    expect(new Set(names).size).toBe(names.length)
    const envs = Object.values(ENV)
    expect(new Set(envs).size).toBe(envs.length)
  })
})

describe('parseFlags', () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseFlags(argv, env)
  const refused = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
    try {
      parse(argv, env)
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError)
      return (err as Error).message
    }
    throw new Error(`${argv.join(' ')} was accepted`)
  }

  test('no flags: the defaults', () => {
    expect(parse([])).toEqual(DEFAULTS)
    expect(DEFAULTS).toMatchObject({ socket: '/tmp/fake-containerd/containerd.sock', logLevel: 'info', runtimeHandlers: ['runc'] })
  })

  test('a flag wins over its variable; an empty variable is unset', () => {
    expect(parse(['--pod-cidr', '10.1.0.0/16'], { FAKE_CONTAINERD_POD_CIDR: '10.2.0.0/16' })).toMatchObject({ podCidr: '10.1.0.0/16' })
    expect(parse([], { FAKE_CONTAINERD_POD_CIDR: '10.2.0.0/16' })).toMatchObject({ podCidr: '10.2.0.0/16' })
    expect(parse([], { FAKE_CONTAINERD_POD_CIDR: '' })).toMatchObject({ podCidr: DEFAULTS.podCidr })
    expect(parse([], { FAKE_CONTAINERD_STATE: 's.json' })).toMatchObject({ state: 's.json' })
  })

  test('a switch: --state-sync on, --no-state-sync off (the default), the last one wins; its variable is 1 or 0', () => {
    expect(DEFAULTS.stateSync).toBe(false)
    expect(parse(['--no-state-sync'])).toMatchObject({ stateSync: false })
    expect(parse(['--no-state-sync', '--state-sync'])).toMatchObject({ stateSync: true })
    expect(parse([], { FAKE_CONTAINERD_STATE_SYNC: '0' })).toMatchObject({ stateSync: false })
    expect(parse(['--state-sync'], { FAKE_CONTAINERD_STATE_SYNC: 'false' })).toMatchObject({ stateSync: true })
    expect(refused([], { FAKE_CONTAINERD_STATE_SYNC: 'maybe' })).toBe(
      'FAKE_CONTAINERD_STATE_SYNC must be 1, true, yes, on or 0, false, no, off; got "maybe"',
    )
    expect(refused(['--state-sync=no'])).toMatch(/state-sync/)
  })

  test('a repeatable flag collects its values; its variable is a list', () => {
    expect(parse(['--runtime-handler', 'kata', '--runtime-handler', 'runc'])).toMatchObject({ runtimeHandlers: ['kata', 'runc'] })
    expect(parse([], { FAKE_CONTAINERD_RUNTIME_HANDLERS: ' runc, kata,' })).toMatchObject({ runtimeHandlers: ['runc', 'kata'] })
    expect(parse([], { FAKE_CONTAINERD_RUNTIME_HANDLERS: ',' })).toMatchObject({ runtimeHandlers: ['runc'] })
  })

  test("--faults' file rules come before --fault's", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fc-flags-')), 'faults.yaml')
    writeFileSync(file, 'faults:\n  - method: Status\n    error: INTERNAL\n')
    const options = parse(['--fault', 'Version:error=UNAVAILABLE', '--faults', file], { FAKE_CONTAINERD_FAULT: 'ignored:error=ABORTED' })
    expect(options).toMatchObject({ faults: [{ method: 'Status' }, { method: 'Version' }] })
    // Methods rules name must be served ones (faults/validate.ts), so the list uses real ones.
    expect(parse([], { FAKE_CONTAINERD_FAULT: 'Version:error=ABORTED; ;Status:error=ABORTED' })).toMatchObject({
      faults: [{ method: 'Version' }, { method: 'Status' }],
    })
    expect(parse([])).not.toHaveProperty('faults')
  })

  test('whole numbers', () => {
    expect(parse(['--seed', '7', '--journal-size', '50'])).toMatchObject({ seed: 7, journalSize: 50 })
    expect(refused(['--journal-size', '1e3'])).toBe('--journal-size must be a whole number, got "1e3"')
  })

  test('durations as containerd writes image_pull_progress_timeout', () => {
    expect(parse(['--image-pull-progress-timeout', '1m30s'])).toMatchObject({ imagePullProgressTimeoutMs: 90_000 })
    expect(parse(['--image-pull-progress-timeout', '0'])).toMatchObject({ imagePullProgressTimeoutMs: 0 })
    expect(refused(['--image-pull-progress-timeout', '5 minutes'])).toBe(
      '--image-pull-progress-timeout must be a duration such as 30s, 5m or 1m30s (0: never), got "5 minutes"',
    )
    // Longer than a timer holds: Node would fire it after 1 ms, cutting off every pull.
    expect(parse(['--image-pull-progress-timeout', '596h'])).toMatchObject({ imagePullProgressTimeoutMs: 596 * 3_600_000 })
    expect(refused(['--image-pull-progress-timeout', '720h'])).toBe(
      '--image-pull-progress-timeout must be at most 596h (a timer\'s limit), or 0 for never; got "720h"',
    )
  })

  test('bad values are refused with the messages users know', () => {
    expect(refused(['--pull-policy', 'maybe'])).toBe('--pull-policy must be one of any, catalog, registry; got "maybe"')
    expect(refused([], { FAKE_CONTAINERD_LOG_LEVEL: 'loud' })).toBe('--log-level must be one of error, warn, info, debug; got "loud"')
    expect(refused(['--runtime-handler', 'a b'])).toBe('--runtime-handler names may hold only letters, digits, ".", "_" and "-"')
    expect(refused(['--seed', 'x', '--log-level', 'loud'])).toMatch(/^--log-level/)
    expect(refused(['--nope'])).toMatch(/--nope/)
    expect(refused(['stray'])).toMatch(/stray/)
  })

  test('--help and --version act before any value is checked', () => {
    expect(parse(['--version', '--pull-policy', 'maybe'])).toBe('version')
    expect(parse(['-h', '--version'])).toBe('help')
  })
})

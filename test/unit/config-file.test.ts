// The config file (src/config-file.ts): every option by its name, read as its flag's value is, and
// --print-config's YAML read back to the same options.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { emptyState } from '../../src/store/schema.js'
import { configYaml, readConfigFile } from '../../src/config-file.js'
import { DEFAULTS, FLAGS, parseFlags, UsageError } from '../../src/flags.js'
import { seedOf } from '../../src/seed-state.js'

const dir = mkdtempSync(join(tmpdir(), 'fc-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = (text: string): string => {
  const path = join(dir, `c${++n}.yaml`)
  writeFileSync(path, text)
  return path
}

/** A value other than the default for every option (the first test checks that none is missing). */
const EVERY_OPTION = `
socket: /tmp/x/c.sock
nodes: 3
socketDir: /tmp/x/nodes
state: /tmp/x/state.json
stateSync: true
seedState: empty-node
sandboxImage: registry.k8s.io/pause:3.9
streamAddress: 127.0.0.1:10010
web: 127.0.0.1:8080
registryConfigPath: /etc/containerd/certs.d
imagePullProgressTimeoutMs: 1m30s
podCidr: 10.7.0.0/16
pullPolicy: catalog
logLevel: debug
logFormat: json
runtimeHandlers: [kata, runc]
runtimeName: other
runtimeVersion: "1.0"
containerdVersion: "1.6"
seed: 42
journalSize: 5
journalBytes: 1000
faults:
  - method: Version
    error: 14
  - 'RunPodSandbox:delay=10ms-20ms'
`

describe('the config file', () => {
  test('every option of the flag table can be set by its name, and --print-config reads back to the same options', () => {
    const options = readConfigFile(file(EVERY_OPTION))
    const keys = [...new Set(FLAGS.flatMap((f) => ('key' in f ? [f.key] : [])))]
    expect(Object.keys(options).sort()).toEqual(keys.sort())
    for (const [key, value] of Object.entries(options))
      if (key !== 'seedState') expect(value).not.toEqual(DEFAULTS[key as keyof typeof DEFAULTS])
    expect(options.faults).toEqual([
      { method: 'Version', error: 14 },
      { method: 'RunPodSandbox', delay: { min: 10, max: 20 } },
    ])
    const printed = configYaml(options)
    expect(printed).toMatch(/^seedState: empty-node$/m)
    const again = readConfigFile(file(printed))
    expect(again).toEqual(options)
    expect(configYaml(again)).toBe(printed)
  })

  test('an empty file gives no options; an empty value leaves its option unset', () => {
    expect(readConfigFile(file(''))).toEqual({})
    expect(readConfigFile(file('state:\nseed: 3\n'))).toEqual({ seed: 3 })
  })

  test('an option comes from its flag, else its variable, else the file, else its default', () => {
    const config = file('runtimeName: file\nruntimeVersion: file\npodCidr: 10.3.0.0/16\nruntimeHandlers: [kata]\n')
    const env = { FAKE_CONTAINERD_RUNTIME_NAME: 'env', FAKE_CONTAINERD_RUNTIME_VERSION: 'env' }
    expect(parseFlags(['--config', config, '--runtime-version', 'flag'], env, readConfigFile)).toMatchObject({
      runtimeName: 'env',
      runtimeVersion: 'flag',
      podCidr: '10.3.0.0/16',
      runtimeHandlers: ['kata'],
      logLevel: DEFAULTS.logLevel,
    })
    expect(parseFlags(['--runtime-handler', 'runc'], { FAKE_CONTAINERD_CONFIG: config }, readConfigFile)).toMatchObject({
      runtimeName: 'file',
      runtimeHandlers: ['runc'],
    })
    expect(parseFlags(['--config', config, '--print-config'], {}, readConfigFile)).toEqual({
      print: expect.objectContaining({ runtimeName: 'file' }),
    })
  })

  test('a key that is not an option, or a value its flag would refuse, is a UsageError naming the file and key', () => {
    const bad = file('journalSise: 5\n')
    expect(() => readConfigFile(bad)).toThrow(UsageError)
    expect(() => readConfigFile(bad)).toThrow(`config file ${bad}: "journalSise" is not an option; did you mean journalSize?`)
    const value = file('journalSize: -5\n')
    expect(() => readConfigFile(value)).toThrow(`config file ${value}: journalSize must be a whole number, got "-5"`)
    const rule = file('faults: {method: Version}\n')
    expect(() => readConfigFile(rule)).toThrow(
      `config file ${rule}: faults[0]: a call fault needs an effect: error, delay, hang, drop, streamDelay or truncateAfter`,
    )
  })

  test('a number its flag reads as text is read as it was written, not as YAML makes it a number', () => {
    const numbers = file('runtimeVersion: 1.10\nsandboxImage: 010\nruntimeName: 1e3\nruntimeHandlers: [1.10, 7]\nseed: 007\n')
    expect(readConfigFile(numbers)).toEqual({
      runtimeVersion: '1.10',
      sandboxImage: '010',
      runtimeName: '1e3',
      runtimeHandlers: ['1.10', '7'],
      seed: 7,
    })
    // A seed too large to keep exactly is refused, not rounded (as on the command line).
    const big = file('seed: 12345678901234567891\n')
    expect(() => readConfigFile(big)).toThrow(
      `config file ${big}: seed must be a whole number of at most 9007199254740991 (a larger one cannot be kept exactly), got "12345678901234567891"`,
    )
    expect(() => parseFlags(['--seed', '12345678901234567891'], {})).toThrow('--seed must be a whole number of at most')
  })

  test("an empty list from a flag or its variable wins over the file's list", () => {
    const empty = file('faults: []\n')
    const config = file('faults:\n  - {method: Version, error: 14}\n')
    expect(parseFlags(['--config', config], {}, readConfigFile)).toMatchObject({ faults: [{ method: 'Version' }] })
    expect(parseFlags(['--config', config, '--faults', empty], {}, readConfigFile)).toMatchObject({ faults: [] })
    expect(parseFlags(['--config', config], { FAKE_CONTAINERD_FAULTS: empty }, readConfigFile)).toMatchObject({ faults: [] })
    // A variable that holds nothing is not set: the file's list stays.
    expect(parseFlags(['--config', config], { FAKE_CONTAINERD_FAULT: ' ; ' }, readConfigFile)).toMatchObject({
      faults: [{ method: 'Version' }],
    })
  })

  test('an inline seedState is checked once: the server takes the seed the file gave as it is', () => {
    const config = file('seedState:\n  state: ' + JSON.stringify(emptyState('u-1', '10.88.0.0/16')) + '\n')
    const seed = readConfigFile(config).seedState!
    expect(seedOf(seed)).toBe(seed)
  })
})

// The shape check of fault rules (src/faults/validate.ts): each kind of mistake is refused with a
// sentence naming the field, and the rules the README, the presets and the scenarios give pass.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { presets } from '../../src/faults/presets.js'
import { validateRule, validateRules } from '../../src/faults/validate.js'
import { closest, didYouMean } from '../../src/validate/shape.js'

const refusal = (rule: unknown): string => {
  try {
    validateRules([rule])
  } catch (err) {
    return (err as Error).message
  }
  throw new Error(`${JSON.stringify(rule)} was accepted`)
}

describe('fault rules that are refused', () => {
  test.each([
    // The RPC a call fault names must be served, alone and together.
    [{ method: 'PulImage', error: 'UNAVAILABLE' }, 'faults[0].method: no RPC is named "PulImage"; did you mean PullImage?'],
    [{ method: 'Lsit*', error: 14 }, 'faults[0].method: no RPC is named "Lsit*"'],
    [{ service: 'ImageServ', method: 'PullImage', error: 14 }, 'faults[0].service: no service is named "ImageServ"; did you mean'],
    [
      { service: 'ImageService', method: 'RunPodSandbox', error: 14 },
      'faults[0].method: ImageService has no RPC named "RunPodSandbox"; it is an RPC of runtime.v1.RuntimeService',
    ],
    [
      { service: 'RuntimeService', method: 'RunPodSandbx', error: 14 },
      'faults[0].method: no RPC of RuntimeService is named "RunPodSandbx"; did you mean RunPodSandbox?',
    ],
    // The harness's own service is never open to faults.
    [{ service: 'Control', method: 'AddFaults', error: 14 }, 'faults[0].service: no service is named "Control"'],
    // Unknown fields, with the near one.
    [{ method: 'Version', eror: 'UNAVAILABLE' }, 'faults[0].eror is not a field of a call fault; did you mean error?'],
    [{ method: 'Version', error: 14, match: { lables: {} } }, 'faults[0].match.lables is not a field of a match'],
    [{ method: 'Version', delay: { min: 1, mx: 2 } }, 'faults[0].delay.mx is not part of a delay'],
    [{ kind: 'crash', exitcode: 3 }, 'faults[0].exitcode is not a field of a crash fault; did you mean exitCode?'],
    // Fields of the other kind (or another node kind).
    [{ method: 'Version', error: 14, exitCode: 3 }, 'faults[0].exitCode is for crash faults; a call fault has no exitCode'],
    [{ kind: 'crash', hang: true }, 'faults[0].hang is for call faults; a crash fault has no hang'],
    [{ kind: 'oom', pull: 'slow' }, 'faults[0].pull is for pullFailure faults; an oom fault has no pull'],
    // Types and ranges.
    [{ method: 'Version', error: 14, times: '2' }, 'faults[0].times must be a whole number of at least 1, not "2"'],
    [{ method: 'Version', error: 14, times: 0 }, 'faults[0].times must be a whole number of at least 1, not 0'],
    [{ method: 'Version', error: 14, after: -1 }, 'faults[0].after must be a whole number of at least 0, not -1'],
    [{ method: 'Version', error: 14, probability: 2 }, 'faults[0].probability must be a number from 0 to 1, not 2'],
    [{ method: 'Version', error: 14, match: 'x' }, 'faults[0].match must be an object, not "x"'],
    [{ method: 'Version', error: 14, match: { labels: { app: 3 } } }, 'faults[0].match.labels.app must be a string, not 3'],
    [
      { method: 'Version', error: 14, match: { labels: { 'app.kubernetes.io/name': true } } },
      'faults[0].match.labels["app.kubernetes.io/name"] must be a string, not true',
    ],
    [{ method: 'Version', delay: 'fast' }, 'faults[0].delay must be a number of milliseconds or { min, max }, not "fast"'],
    [{ method: 'Version', delay: { min: 5, max: 1 } }, 'faults[0].delay.max must be at least min (5), not 1'],
    [{ method: 'Version', hang: 'yes' }, 'faults[0].hang must be true or false, not "yes"'],
    [{ method: 'Version', error: 14, from: 'yesterday' }, 'faults[0].from must be a number of milliseconds, a Date or a date'],
    [{ method: 'Version', error: 'UNAVALABLE' }, 'faults[0].error: unknown gRPC status "UNAVALABLE"; did you mean UNAVAILABLE?'],
    [{ method: 'Version', error: 17 }, 'faults[0].error must be a whole number from 1 to 16, not 17'],
    [{ method: 'Version', error: 'OK' }, 'faults[0].error must be a failure: OK is not one'],
    [{ method: 'Version', error: 14, trailers: { 'retry-after': 3 } }, 'faults[0].trailers["retry-after"] must be a string, not 3'],
    [{ kind: 'crash', exitCode: 300 }, 'faults[0].exitCode must be a whole number from 0 to 255, not 300'],
    [{ kind: 'pullFailure', pull: 'gone' }, 'faults[0].pull must be one of "notFound", "unauthorized", "unavailable", "slow", not "gone"'],
    // Kinds and effects, as before.
    [{ kind: 'crsh' }, 'faults[0].kind: no fault kind is named "crsh"; did you mean crash?'],
    [{ kind: 'meltdown' }, 'faults[0].kind must be one of "call", "crash"'],
    [{ method: 'Version' }, 'faults[0]: a call fault needs an effect'],
    ['Version', 'faults[0] must be an object, not "Version"'],
  ])('%j', (rule, message) => {
    expect(refusal(rule)).toContain(`invalid fault rule: ${message}`)
  })

  test('a list names the rule that is wrong by its index', () => {
    expect(() =>
      validateRules([
        { method: 'Version', error: 14 },
        { method: 'Status', error: 14 },
        { method: 'Stats', error: 14 },
      ]),
    ).toThrow(/^invalid fault rule: faults\[2\]\.method: no RPC is named "Stats"; did you mean/)
  })

  test('one rule alone is named by its fields, with where it came from', () => {
    expect(() => validateRule({ method: 'Version', times: 'x', error: 14 }, 'fault "Version:…"')).toThrow(
      'fault "Version:…": times must be a whole number of at least 1, not "x"',
    )
  })
})

describe('fault rules that pass', () => {
  const README = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')

  test.each([
    { method: 'RunPodSandbox', times: 2, error: 'UNAVAILABLE' },
    { method: 'List*', delay: { min: 50, max: 500 } },
    { method: 'PullImage', match: { image: '*nginx*' }, hang: true },
    { service: 'Content', method: 'Read', drop: true, once: true },
    { method: 'GetContainerEvents', truncateAfter: 3 },
    { method: 'Version', probability: 0.1, error: 'INTERNAL' },
    { service: 'runtime.v1.*', method: '*', namespace: 'k8s.io', error: 'unavailable', from: 0, until: new Date() },
    { service: 'Images', method: 'List', error: 5, match: { request: { 'filters.0': 'name==*', n: 1, all: true } } },
    { method: 'Version', error: 8, message: 'slow down', trailers: { 'retry-after': '3' } },
    { kind: 'call', method: 'Status', streamDelay: 5, delay: 0 },
    { kind: 'crash', match: { name: 'web', labels: { tier: 'front' } }, exitCode: 3, afterMs: 1000, times: 2 },
    { kind: 'pullFailure', pull: 'slow', durationMs: 2000, match: { image: 'docker.io/*' } },
    { kind: 'sandboxNetwork', message: 'no IPs left' },
    { kind: 'imageFsFull', once: true },
  ])('%j', (rule) => {
    expect(() => validateRules([rule])).not.toThrow()
  })

  test("the README's own fault examples are among them", () => {
    // The use({...}) lines of the fault section, so that the README never shows a rule that is refused.
    const section = README.slice(README.indexOf('## Make it misbehave'), README.indexOf('From the command line'))
    const rules = [...section.matchAll(/faults\.use\((\{.*\})\)/g)].map((m) => Function(`return (${m[1]})`)() as unknown)
    expect(rules.length).toBeGreaterThan(4)
    expect(() => validateRules(rules)).not.toThrow()
  })

  test('every preset, and the faults of every shipped scenario', () => {
    const made = [
      presets.registryUnavailable(),
      presets.imageNotFound('x'),
      presets.pullUnauthorized(),
      presets.slowPull(100),
      presets.crashLoop({ name: 'web' }, 3, 10),
      presets.oomKill(),
      presets.cniFailure('down'),
      presets.networkNotReady('no cni'),
      presets.runtimeNotReady(),
      presets.imageFsFull(),
      presets.flaky('RunPodSandbox'),
      presets.hang('Status'),
      presets.slow('Version', 10),
      presets.dropConnection('Version'),
      ...presets.truncatedEvents(2),
    ]
    expect(() => validateRules(made)).not.toThrow()
    for (const name of ['crash-looping-pod', 'network-not-ready']) {
      const scenario = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'scenarios', `${name}.json`), 'utf8'))
      expect(() => validateRules(scenario.faults)).not.toThrow()
    }
  })
})

describe('nearest names', () => {
  test('a slip of a letter or two, case aside; nothing when nothing is close', () => {
    expect(closest('PulImage', ['PullImage', 'ListImages', 'Version'])).toEqual(['PullImage'])
    expect(closest('pullimage', ['PullImage'])).toEqual(['PullImage'])
    expect(closest('Frobnicate', ['PullImage', 'Version'])).toEqual([])
    expect(didYouMean('Stats', ['Status', 'Stat', 'Version'])).toBe('; did you mean Stat or Status?')
  })
})

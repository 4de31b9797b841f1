// The web view's preset form (src/web/presets.ts) is held to the presets (src/faults/presets.ts):
// by the compiler (a row's length, order, kinds and required marks; the @ts-expect-error lines below
// are checked by `tsc`) and by these tests (the defaults shown are the presets' own).
import { describe, expect, test } from 'vitest'
import { PRESET_DEFAULTS, presets } from '../../src/faults/presets.js'
import { PRESET_PARAMS, presetRules, type PresetRow } from '../../src/web/presets.js'

describe("the web view's preset form", () => {
  test('a row that drifts from its preset does not compile', () => {
    const match = { name: 'match', kind: 'match' } as const
    const image = { name: 'image', kind: 'text' } as const
    const method = { name: 'method', kind: 'method', required: true } as const
    const number = { name: 'n', kind: 'number' } as const
    const needed = { name: 'n', kind: 'number', required: true } as const
    // @ts-expect-error: an argument missing (crashLoop takes match, exitCode, afterMs)
    const missing: PresetRow<'crashLoop'> = [match, number]
    // @ts-expect-error: one argument too many
    const extra: PresetRow<'imageNotFound'> = [image, image]
    // @ts-expect-error: the arguments swapped (slowPull takes durationMs, then image)
    const swapped: PresetRow<'slowPull'> = [image, needed]
    // @ts-expect-error: a required argument not marked required
    const unmarked: PresetRow<'slow'> = [method, number]
    // @ts-expect-error: an optional argument marked required
    const marked: PresetRow<'flaky'> = [method, needed]
    const right: PresetRow<'slow'> = [method, needed]
    expect([missing, extra, swapped, unmarked, marked, right]).toHaveLength(6)
  })

  test("the defaults it shows are the presets' own, and an empty field gives the preset's default", () => {
    const placeholder = (preset: keyof typeof PRESET_PARAMS, name: string) =>
      (PRESET_PARAMS[preset] as readonly { name: string; placeholder?: string }[]).find((p) => p.name === name)?.placeholder
    expect(placeholder('crashLoop', 'exitCode')).toBe(String(PRESET_DEFAULTS.exitCode))
    expect(placeholder('crashLoop', 'afterMs')).toBe(String(PRESET_DEFAULTS.crashAfterMs))
    expect(placeholder('oomKill', 'afterMs')).toBe(String(PRESET_DEFAULTS.oomAfterMs))
    expect(placeholder('flaky', 'times')).toBe(String(PRESET_DEFAULTS.times))
    expect(placeholder('imageNotFound', 'image')).toBe(PRESET_DEFAULTS.image)
    expect(presetRules('crashLoop', {})).toEqual([presets.crashLoop()])
    expect(presetRules('oomKill', { afterMs: '' })).toEqual([presets.oomKill()])
    expect(presetRules('flaky', { method: 'Status' })).toEqual([presets.flaky('Status')])
    expect(presetRules('slowPull', { durationMs: '5', image: 'busybox' })).toEqual([presets.slowPull(5, 'busybox')])
  })
})

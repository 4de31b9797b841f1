// The web view's form for each fault preset (faults/presets.ts): what each argument is called and
// how its text becomes a value. The compiler holds this table to the presets: each row has one entry
// per argument of its preset, in order, of the kind its type is (a number, a string, a match), marked
// required exactly when the argument is; a preset added there without a row here does not compile.
// The defaults shown are the presets' own (PRESET_DEFAULTS). The rules themselves come from the
// presets, never from here.
import type { FaultRule } from '../faults/rule.js'
import { PRESET_DEFAULTS, presets } from '../faults/presets.js'

type PresetName = keyof typeof presets

/** One argument of a preset, in the order the preset function takes them. */
export interface PresetParam {
  readonly name: string
  /** method: an RPC name; text and number: as typed; match: a JSON object (faults/rule.ts Match). */
  readonly kind: 'method' | 'text' | 'number' | 'match'
  /** A preset that cannot do without it (the others fall back to the preset's default). */
  readonly required?: boolean
  /** The preset's default, or an example, shown as the field's placeholder. */
  readonly placeholder?: string
}

/** The kinds an argument of type T may be read as. */
type KindOf<T> = [T] extends [number | undefined] ? 'number' : [T] extends [string | undefined] ? 'text' | 'method' : 'match'

/** The form's entry for argument I of a preset taking P: its kind from its type, required when it is. */
type ParamFor<P extends readonly unknown[], I extends keyof P> = PresetParam & { readonly kind: KindOf<P[I]> } & (object extends Pick<P, I>
    ? { readonly required?: false }
    : { readonly required: true })

/** A preset's row: one entry per argument, in order. */
type RowFor<P extends readonly unknown[]> = { readonly [I in keyof P]-?: ParamFor<P, I> }

/** The form's row for a preset, as the compiler holds it to the preset's arguments. */
export type PresetRow<K extends PresetName> = RowFor<Parameters<(typeof presets)[K]>>

const shown = (value: string | number): string => String(value)
const image = { name: 'image', kind: 'text', placeholder: PRESET_DEFAULTS.image } as const
const match = { name: 'match', kind: 'match', placeholder: '{"name":"web-*"}' } as const
const method = { name: 'method', kind: 'method', required: true, placeholder: 'ListPodSandbox' } as const
const message = { name: 'message', kind: 'text' } as const
const times = { name: 'times', kind: 'number', placeholder: shown(PRESET_DEFAULTS.times) } as const

export const PRESET_PARAMS = {
  registryUnavailable: [image],
  imageNotFound: [image],
  pullUnauthorized: [image],
  slowPull: [{ name: 'durationMs', kind: 'number', required: true }, image],
  crashLoop: [
    match,
    { name: 'exitCode', kind: 'number', placeholder: shown(PRESET_DEFAULTS.exitCode) },
    { name: 'afterMs', kind: 'number', placeholder: shown(PRESET_DEFAULTS.crashAfterMs) },
  ],
  oomKill: [match, { name: 'afterMs', kind: 'number', placeholder: shown(PRESET_DEFAULTS.oomAfterMs) }],
  cniFailure: [message, match],
  networkNotReady: [message],
  runtimeNotReady: [message],
  imageFsFull: [],
  flaky: [method, times],
  hang: [method],
  slow: [method, { name: 'ms', kind: 'number', required: true }],
  dropConnection: [method, times],
  truncatedEvents: [{ name: 'messages', kind: 'number', required: true }],
} satisfies { [K in PresetName]: PresetRow<K> }

const isPreset = (name: string): name is PresetName => Object.hasOwn(PRESET_PARAMS, name)

/** One argument's text as the preset takes it; an empty text is left out (the preset's default). */
function argument(preset: string, param: PresetParam, text: string | undefined): unknown {
  const value = text?.trim() ?? ''
  if (value === '') {
    if (param.required) throw new Error(`the ${preset} preset needs a ${param.name}`)
    return undefined
  }
  if (param.kind === 'number') {
    if (!/^\d+$/.test(value)) throw new Error(`${preset}: ${param.name} must be a whole number, got "${value}"`)
    return Number(value)
  }
  if (param.kind === 'match') {
    let parsed: unknown
    try {
      parsed = JSON.parse(value)
    } catch (err) {
      throw new Error(`${preset}: ${param.name} is not valid JSON: ${(err as Error).message}`)
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error(`${preset}: ${param.name} must be a JSON object such as {"name":"web-*"}`)
    return parsed
  }
  return value
}

/**
 * The rules a preset makes from the form's texts (by argument name). An unknown preset or a bad
 * argument throws a message for the user; the rules are checked again where they are added.
 */
export function presetRules(name: string, args: Record<string, unknown>): FaultRule[] {
  if (!isPreset(name)) throw new Error(`there is no fault preset "${name}"; choose one of ${Object.keys(PRESET_PARAMS).join(', ')}`)
  const params: readonly PresetParam[] = PRESET_PARAMS[name]
  const values = params.map((p) => {
    const text = args[p.name]
    if (text !== undefined && typeof text !== 'string') throw new Error(`${name}: ${p.name} must be given as text`)
    return argument(name, p, text)
  })
  const made = (presets[name] as (...args: unknown[]) => FaultRule | FaultRule[])(...values)
  return Array.isArray(made) ? made : [made]
}

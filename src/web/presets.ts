// The web view's form for each fault preset (faults/presets.ts): what each argument is called and
// how its text becomes a value. The compiler holds this table to the presets: a preset added there
// without a row here does not compile. The rules themselves come from the presets, never from here.
import type { FaultRule } from '../faults/rule.js'
import { presets } from '../faults/presets.js'

type PresetName = keyof typeof presets

/** One argument of a preset, in the order the preset function takes them. */
export interface PresetParam {
  readonly name: string
  /** method: an RPC name; text and number: as typed; match: a JSON object (faults/rule.ts Match). */
  readonly kind: 'method' | 'text' | 'number' | 'match'
  /** A preset that cannot do without it (the others fall back to the preset's default). */
  readonly required?: boolean
  /** The preset's default, shown as the field's placeholder. */
  readonly placeholder?: string
}

const image: PresetParam = { name: 'image', kind: 'text', placeholder: '*' }
const match: PresetParam = { name: 'match', kind: 'match', placeholder: '{"name":"web-*"}' }
const method: PresetParam = { name: 'method', kind: 'method', required: true, placeholder: 'ListPodSandbox' }
const message: PresetParam = { name: 'message', kind: 'text' }

export const PRESET_PARAMS = {
  registryUnavailable: [image],
  imageNotFound: [image],
  pullUnauthorized: [image],
  slowPull: [{ name: 'durationMs', kind: 'number', required: true }, image],
  crashLoop: [match, { name: 'exitCode', kind: 'number', placeholder: '1' }, { name: 'afterMs', kind: 'number', placeholder: '0' }],
  oomKill: [match, { name: 'afterMs', kind: 'number', placeholder: '100' }],
  cniFailure: [message, match],
  networkNotReady: [message],
  runtimeNotReady: [message],
  imageFsFull: [],
  flaky: [method, { name: 'times', kind: 'number', placeholder: '1' }],
  hang: [method],
  slow: [method, { name: 'ms', kind: 'number', required: true }],
  dropConnection: [method, { name: 'times', kind: 'number', placeholder: '1' }],
  truncatedEvents: [{ name: 'messages', kind: 'number', required: true }],
} satisfies { [K in PresetName]: readonly PresetParam[] }

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

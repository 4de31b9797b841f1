// The config file (--config FILE, FAKE_CONTAINERD_CONFIG): every option in one YAML mapping, and
// --print-config, which writes the options in effect back as such a file.
//
// Its keys are the option names as the library takes them (podCidr, runtimeHandlers), the keys of
// the flag table's rows (flags.ts): there is no other list of them. A value is parsed and checked
// as its flag's text is (a number or a string; a list for an option whose flag repeats); beyond
// what a flag can say, faults may hold rules inline (as in a --faults file) and seedState a node
// state inline. A flag or its environment variable wins over the file (flags.ts parseFlags).
import { readFileSync } from 'node:fs'
import { Document, isScalar, isSeq, parseDocument } from 'yaml'
import { settleRules } from './faults/validate.js'
import { OPTION_FLAGS, UsageError, goDurationText } from './flags.js'
import type { CommandLineOptions } from './options.js'
import { inlineSeedState, seedSource } from './seed-state.js'
import { didYouMean, isObject, show } from './validate/shape.js'

type OptionKey = keyof CommandLineOptions
type Row = (typeof OPTION_FLAGS)[number]
type ValueRow = Extract<Row, { parse: unknown }>

/** The keys a config file may hold, in the flag table's order: each option once. */
const KEYS: readonly OptionKey[] = [...new Set(OPTION_FLAGS.map((f) => f.key))]

/** What a file can give an option beyond its flag's text: values written inline, and how --print-config writes them. */
interface Inline {
  /** The option from a list whose items may be objects (flag texts already parsed); `file` names the file. */
  list?: (items: unknown[], file: string) => unknown
  /** The option from an object. */
  object?: (value: Record<string, unknown>, where: string) => unknown
  /** The value --print-config writes for the option's value. */
  print?: (value: unknown) => unknown
}

const INLINE: Partial<Record<OptionKey, Inline>> = {
  // Rules as a --faults file holds them; items that are strings are --fault specs.
  faults: { list: (items, file) => settleRules(items, file) },
  // A node state or scenario inline; one read from a file or a shipped scenario prints as its name.
  seedState: { object: (value, where) => inlineSeedState(value, where), print: (value) => seedSource(value) ?? value },
  // Held in milliseconds, written as the Go duration its flag reads.
  imagePullProgressTimeoutMs: { print: (value) => goDurationText(value as number) },
}

/**
 * The text a number was written as in the file (`1.10`, `010`, `12345678901234567891`), undefined for
 * any other node: a value its flag reads from text is read from what was written, not from the
 * number YAML made of it (1.1, 10, a rounded one).
 */
function writtenAs(node: unknown, source: string): string | undefined {
  if (!isScalar(node) || (typeof node.value !== 'number' && typeof node.value !== 'bigint') || !node.range) return undefined
  return source.slice(node.range[0], node.range[1]).trim()
}

/**
 * One option's value from the file, parsed as its flag's text is; `file` names the file. `written`
 * is the text a number was written as: the value's (no index) or a list item's.
 */
function optionValue(key: OptionKey, value: unknown, file: string, written: (index?: number) => string | undefined): unknown {
  const where = `${file}: ${key}`
  const rows = OPTION_FLAGS.filter((f) => f.key === key)
  const inline = INLINE[key] ?? {}
  const valued = rows.filter((f): f is ValueRow => 'parse' in f)
  const one = valued.find((f) => !f.repeatable)
  const each = valued.find((f) => f.repeatable)
  const text = (v: unknown, at: string, index?: number): string => {
    if (typeof v === 'string') return v
    if (typeof v === 'number' && Number.isFinite(v)) return written(index) ?? String(v)
    throw new Error(`${at} must be ${each && !one ? 'a list of strings' : 'a string or a number'}, not ${show(v)}`)
  }
  if (rows.some((f) => 'switch' in f)) {
    if (typeof value !== 'boolean') throw new Error(`${where} must be true or false, not ${show(value)}`)
    return value
  }
  if (Array.isArray(value)) {
    if (!each) throw new Error(`${where} takes one value, not a list`)
    const items = value.map((item, i) =>
      inline.list && isObject(item) ? item : each.parse(text(item, `${where}[${i}]`, i), `${where}[${i}]`),
    )
    return inline.list ? inline.list(items, file) : items
  }
  if (isObject(value)) {
    if (inline.object) return inline.object(value, where)
    if (inline.list) return inline.list([value], file)
    throw new Error(`${where} must be ${each ? 'a list' : 'a string or a number'}, not an object`)
  }
  if (one) return one.parse(text(value, where), where)
  return [each!.parse(text(value, where), where)]
}

/** Why a key is not an option: the flag spelling it may be, or the closest option names. */
function unknownKey(key: string, where: string): string {
  const flag = OPTION_FLAGS.find((f) => f.name === key && f.name !== f.key)
  if (flag) return `${where}: "${key}" is the flag's spelling; a config file's keys are the option names: write ${flag.key}`
  return `${where}: "${key}" is not an option${didYouMean(key, KEYS) || `; the options are ${KEYS.join(', ')}`}`
}

/**
 * The options a config file gives. Throws a UsageError (the CLI exits 2) naming the file and the key
 * when the file cannot be read, a key is not an option, or a value is not one its flag would take.
 */
export function readConfigFile(file: string): CommandLineOptions {
  const where = `config file ${file}`
  let parsed: unknown
  let source: string
  let doc: Document.Parsed
  try {
    source = readFileSync(file, 'utf8')
    doc = parseDocument(source)
    if (doc.errors.length > 0) throw doc.errors[0]!
    parsed = doc.toJS()
  } catch (err) {
    throw new UsageError(`cannot read ${where}: ${(err as Error).message}`)
  }
  if (parsed === null || parsed === undefined) return {}
  if (!isObject(parsed)) throw new UsageError(`${where} must be a mapping of option names to values, not ${show(parsed)}`)
  const options: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(parsed)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new UsageError(unknownKey(key, where))
    // An empty value (`state:`) leaves the option as if the key were not there.
    if (value === null) continue
    try {
      const node = doc.get(key, true)
      const written = (index?: number): string | undefined =>
        writtenAs(index === undefined ? node : isSeq(node) ? node.items[index] : undefined, source)
      options[key] = optionValue(key as OptionKey, value, where, written)
    } catch (err) {
      throw new UsageError((err as Error).message)
    }
  }
  return options as CommandLineOptions
}

/** The options as a config file (YAML) that readConfigFile reads back to the same options. */
export function configYaml(options: CommandLineOptions): string {
  const out: Record<string, unknown> = {}
  for (const key of KEYS) {
    const value = options[key]
    if (value !== undefined) out[key] = INLINE[key]?.print?.(value) ?? value
  }
  const doc = new Document(out, { aliasDuplicateObjects: false })
  doc.commentBefore =
    ' fake-containerd options (fake-containerd --config FILE). Keys are the option names; a flag or its\n' +
    ' environment variable wins over this file, which wins over the defaults.'
  return doc.toString()
}

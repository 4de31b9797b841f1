// The node state a server starts from when there is no --state file yet (--seed-state, the
// seedState option, a config file's seedState): a saved snapshot or a scenario, named by a file or
// a shipped scenario, or given inline. Its own module so that the flag table (flags.ts) can read
// the flag's value with it, without importing the server.
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import type { FaultRule } from './faults/rule.js'
import { settleRules } from './faults/validate.js'
import { isObject } from './validate/shape.js'
import { packagePath } from './paths.js'
import type { NodeState } from './store/schema.js'
import { loadState } from './store/state-log.js'
import { checkState } from './store/store.js'

/** A scenario: a node state, with fault rules in force from the start and a line saying what it is. */
export interface Scenario {
  description?: string
  state: NodeState
  faults?: FaultRule[]
}

/** A seed state given inline: a saved snapshot (a NodeState) or a scenario. */
export type SeedState = NodeState | Scenario

/** A seed state as the server takes it: checked, its rules too. */
export interface Seed {
  state: NodeState
  faults: FaultRule[]
}

/** Seeds read from a file or a shipped scenario, with the name they were read from (for --print-config). */
const readFrom = new WeakMap<Seed, string>()
/** Every seed seedFrom made: checked already, so that seedOf takes it as it is. */
const checked = new WeakSet<Seed>()

/** A snapshot or a scenario, checked; `where` starts the message of a refusal. */
function seedFrom(parsed: unknown, where: string): Seed {
  const state = (isObject(parsed) && 'state' in parsed ? parsed.state : parsed) as NodeState
  checkState(state, where)
  const faults = (isObject(parsed) && 'state' in parsed ? parsed.faults : undefined) ?? []
  if (!Array.isArray(faults)) throw new Error(`${where}: faults must be a list of fault rules`)
  const seed: Seed = { state, faults: settleRules(faults, where) }
  checked.add(seed)
  return seed
}

/**
 * A node state to start from: a saved snapshot (a NodeState), or a scenario ({ description, state,
 * faults }) — a file, or the name of one shipped in fixtures/scenarios/ (e.g. "three-running-pods").
 */
export function readSeedState(nameOrFile: string): Seed {
  const shipped = packagePath('fixtures', 'scenarios', `${nameOrFile}.json`)
  const file = !existsSync(nameOrFile) && /^[\w-]+$/.test(nameOrFile) && existsSync(shipped) ? shipped : nameOrFile
  let parsed: unknown
  try {
    // A state file is read with its log (<file>.log, the changes since the snapshot), as a server
    // would start from it; its logSeq and logId say where the log goes on, not what the node holds.
    parsed = loadState(file)?.state ?? JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    const known = readdirSync(packagePath('fixtures', 'scenarios')).map((f) => f.replace(/\.json$/, ''))
    throw new Error(`cannot read seed state ${nameOrFile}: ${(err as Error).message} (shipped scenarios: ${known.join(', ')})`)
  }
  const seed = seedFrom(parsed, `seed state ${file}`)
  readFrom.set(seed, nameOrFile)
  return seed
}

/** An inline seed state (a snapshot or a scenario), checked; a copy, so the model never changes the caller's. */
export function inlineSeedState(value: unknown, where: string): Seed {
  if (!isObject(value)) throw new Error(`${where} must be a node state or a scenario ({ state, faults }), or a file naming one`)
  return seedFrom(structuredClone(value), where)
}

/**
 * The seed a seedState option gives: a file or scenario name read, an inline state checked; a seed
 * made here already (the command line read the flag's file, a config file's inline state was
 * checked) is taken as it is, not read or checked again.
 */
export function seedOf(option: string | SeedState): Seed {
  if (typeof option === 'string') return readSeedState(option)
  if (checked.has(option as Seed)) return option as Seed
  return inlineSeedState(option, 'options.seedState')
}

/** The file or scenario name a seed was read from; undefined for one given inline. */
export const seedSource = (seed: unknown): string | undefined => (isObject(seed) ? readFrom.get(seed as unknown as Seed) : undefined)

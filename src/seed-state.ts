// The node state a server starts from when there is no --state file yet (--seed-state, the
// seedState option): a saved snapshot or a scenario. Its own module so that the flag table
// (flags.ts) can check the flag's value with it, without importing the server.
import { readdirSync, readFileSync, existsSync } from 'node:fs'
import type { FaultRule } from './faults/rule.js'
import { validateRules } from './faults/validate.js'
import { packagePath } from './paths.js'
import type { NodeState } from './store/schema.js'
import { checkState } from './store/store.js'

/**
 * A node state to start from: a saved snapshot (a NodeState), or a scenario ({ description, state,
 * faults }) — a file, or the name of one shipped in fixtures/scenarios/ (e.g. "three-running-pods").
 */
export function readSeedState(nameOrFile: string): { state: NodeState; faults: FaultRule[] } {
  const shipped = packagePath('fixtures', 'scenarios', `${nameOrFile}.json`)
  const file = !existsSync(nameOrFile) && /^[\w-]+$/.test(nameOrFile) && existsSync(shipped) ? shipped : nameOrFile
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    const known = readdirSync(packagePath('fixtures', 'scenarios')).map((f) => f.replace(/\.json$/, ''))
    throw new Error(`cannot read seed state ${nameOrFile}: ${(err as Error).message} (shipped scenarios: ${known.join(', ')})`)
  }
  const scenario = parsed as { state?: unknown; faults?: unknown }
  const state = (scenario && typeof scenario === 'object' && 'state' in scenario ? scenario.state : parsed) as NodeState
  checkState(state, `seed state ${file}`)
  const faults = scenario.faults ?? []
  if (!Array.isArray(faults)) throw new Error(`seed state ${file}: faults must be a list of fault rules`)
  validateRules(faults, `seed state ${file}`)
  return { state, faults }
}

// The compound commands that branch and loop: if, while/until, for, case, with break and
// continue. Apart from the interpreter, which dispatches to them; what they need of the shell is
// ControlHost (running a list, a condition, expanding words).
import type { Command, List } from './ast.js'
import { LoopControl } from './errors.js'
import { expandPattern, expandString, expandWords, type ExpansionHost } from './expand.js'
import { nextTurn, type Io } from './io.js'
import { matchPattern } from './pattern.js'

/** What the compound commands need of the shell. */
export interface ControlHost extends ExpansionHost {
  /** $? */
  readonly status: number
  /** Loops the running code is inside (break and continue count them). */
  loopDepth: number
  /** Turns of loops so far: every 64th yields to the event loop. */
  spins: number
  runList(list: List, io: Io): Promise<number>
  /** A condition (if, while, until): set -e does not apply inside it. */
  condition(list: List, io: Io): Promise<number>
  /** Throws the process's end once it has ended. */
  checkAlive(): void
}

export async function runIf(sh: ControlHost, cmd: Extract<Command, { type: 'if' }>, io: Io): Promise<number> {
  for (const clause of cmd.clauses) {
    if ((await sh.condition(clause.cond, io)) === 0) return sh.runList(clause.body, io)
  }
  return cmd.else ? sh.runList(cmd.else, io) : 0
}

export async function runFor(sh: ControlHost, cmd: Extract<Command, { type: 'for' }>, io: Io): Promise<number> {
  const items = cmd.items ? await expandWords(sh, cmd.items, io) : [...sh.params]
  let next = 0
  return runLoop(sh, cmd.body, io, async () => {
    if (next >= items.length) return false
    sh.setVar(cmd.name, items[next++] as string)
    return true
  })
}

export async function runCase(sh: ControlHost, cmd: Extract<Command, { type: 'case' }>, io: Io): Promise<number> {
  const subject = await expandString(sh, cmd.word, io)
  for (const item of cmd.items) {
    for (const pattern of item.patterns) {
      if (matchPattern(await expandPattern(sh, pattern, io), subject)) return sh.runList(item.body, io)
    }
  }
  return 0
}

/** Runs a loop body while `more()` says so (while/until/for), honouring break and continue. */
export async function runLoop(sh: ControlHost, body: List, io: Io, more: () => Promise<boolean>): Promise<number> {
  let status = 0
  sh.loopDepth++
  try {
    while (await more()) {
      const r = await loopBody(sh, body, io)
      if (r === 'break') break
      status = sh.status
      if (++sh.spins % 64 === 0) await breathe(sh)
    }
  } finally {
    sh.loopDepth--
  }
  return status
}

async function loopBody(sh: ControlHost, body: List, io: Io): Promise<'break' | 'continue' | undefined> {
  try {
    await sh.runList(body, io)
    return undefined
  } catch (err) {
    if (!(err instanceof LoopControl)) throw err
    if (err.n > 1) {
      err.n--
      throw err
    }
    return err.kind
  }
}

/** An endless loop of builtins would never give the event loop a turn: every 64th turn of a loop yields. */
async function breathe(sh: ControlHost): Promise<void> {
  await nextTurn()
  sh.checkAlive()
}

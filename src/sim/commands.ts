// The commands a simulated process can run. This is the small set issue #2 needs (echo, true,
// false, sleep, exit, sh -c); the shell simulator of a later issue extends the same table.
import type { ProgramContext } from './process.js'
import { runScript } from './shell.js'

export type Command = (args: readonly string[], ctx: ProgramContext) => Promise<number>

/** Thrown by `exit` to end the shell that runs it. */
export class ShellExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`)
  }
}

const shell: Command = async (args, ctx) => {
  const c = args.indexOf('-c')
  if (c === -1) return 0 // a shell with no script and no terminal reads EOF and exits
  const script = args[c + 1]
  if (script === undefined) {
    ctx.write('stderr', `${args[0]}: -c: option requires an argument\n`)
    return 2
  }
  return runScript(script, ctx)
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  echo: async (args, ctx) => {
    let rest = args.slice(1)
    let newline = true
    while (rest[0] === '-n' || rest[0] === '-e' || rest[0] === '-E') {
      if (rest[0] === '-n') newline = false
      rest = rest.slice(1)
    }
    ctx.write('stdout', rest.join(' ') + (newline ? '\n' : ''))
    return 0
  },
  true: async () => 0,
  false: async () => 1,
  sleep: async (args, ctx) => {
    const seconds = Number(args[1])
    if (args[1] === undefined || !Number.isFinite(seconds) || seconds < 0) {
      ctx.write('stderr', `sleep: invalid number '${args[1] ?? ''}'\n`)
      return 1
    }
    await ctx.clock.sleep(seconds * 1000, ctx.signal)
    return 0
  },
  exit: async (args) => {
    throw new ShellExit(args[1] === undefined ? 0 : Number(args[1]) & 0xff)
  },
  sh: shell,
  ash: shell,
  bash: shell,
}

const BIN_DIRS = ['/bin/', '/usr/bin/', '/sbin/', '/usr/sbin/', '/usr/local/bin/', '/usr/local/sbin/']

/** Finds the command an argv[0] names: a bare name, or a path in one of the usual bin directories. */
export function lookupCommand(name: string): Command | undefined {
  if (Object.hasOwn(COMMANDS, name)) return COMMANDS[name]
  const dir = BIN_DIRS.find((d) => name.startsWith(d))
  if (dir === undefined) return undefined
  const base = name.slice(dir.length)
  return Object.hasOwn(COMMANDS, base) ? COMMANDS[base] : undefined
}

// Starting a shell in the process of a command context: the one place that puts the interpreter
// (src/sim/shell/interpreter.ts) and its builtins (src/sim/shell/builtins.ts) together, so neither
// of those has to import the other.
import type { CommandContext } from '../context.js'
import { REGULAR_BUILTINS, SPECIAL_BUILTINS } from './builtins.js'
import { READER } from './command-context.js'
import { Shell, type BuiltinTables } from './interpreter.js'
import { Io, Reader, nextTurn, type Sink } from './io.js'

const BUILTINS: BuiltinTables = { special: SPECIAL_BUILTINS, regular: REGULAR_BUILTINS }

/** A sink over a command context's output stream. */
export function contextSink(ctx: CommandContext, stream: 'stdout' | 'stderr'): Sink {
  return {
    write: (text) => {
      ctx.write(stream, text)
      return true
    },
    drain: () => (ctx.drain ? ctx.drain() : nextTurn()),
  }
}

/** A top-level shell running in the process (and with the descriptors) of a command context. */
export function shellFromContext(ctx: CommandContext, o: { name: string; script?: string; params?: string[] }): Shell {
  return new Shell({
    proc: { pid: ctx.pid ?? 1, isInit: ctx.isInit ?? false, signal: ctx.signal, trap: ctx.trap, terminate: ctx.terminate },
    builtins: BUILTINS,
    sys: {
      clock: ctx.clock,
      fs: ctx.fs,
      identity: ctx.identity,
      hostname: ctx.hostname,
      processes: ctx.processes,
      ...(ctx.net ? { net: ctx.net } : {}),
      kernel: ctx.kernel,
      ...(ctx.memory ? { memory: ctx.memory } : {}),
      ...(ctx.winsize ? { winsize: ctx.winsize } : {}),
      exec: ctx.exec,
    },
    // A shell started by another shell reads through the same buffer, so no input is lost between them.
    io: Io.of(
      (ctx.stdin as { [READER]?: Reader })[READER] ?? new Reader(ctx.stdin),
      contextSink(ctx, 'stdout'),
      contextSink(ctx, 'stderr'),
    ),
    env: ctx.env,
    cwd: ctx.cwd,
    name: o.name,
    ...(o.script !== undefined ? { script: o.script } : {}),
    ...(o.params ? { params: o.params } : {}),
  })
}

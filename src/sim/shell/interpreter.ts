// Runs a parsed script with busybox ash semantics. One Shell is one shell process (or an in-process
// subshell: `( … )`, `$( … )`); pipeline stages and background jobs are child SimProcesses running
// a forked Shell, so each can be signalled (SIGPIPE, kill $!) and exits on its own. This module
// holds the shell's state and the dispatch of lists, pipelines and commands; what has a seam of its
// own is beside it: expansion (expand.ts), redirections (redirect.ts), jobs (jobs.ts), traps
// (traps.ts), if/loops/case (control.ts), programs (external.ts), variables (vars.ts), reading
// from stdin (interactive.ts), command contexts (command-context.ts).
import type { CommandContext, Executable } from '../context.js'
import type { ExitInfo } from '../process.js'
import type { AndOr, Command, List, Pipeline, SimpleCommand, Word } from './ast.js'
import { CommandContexts, abortable } from './command-context.js'
import { BuiltinError, EpipeError, FunctionReturn, LoopControl, OutOfMemory, RedirError, ShellExit, ShellFatal } from './errors.js'
import { arith, expandString, expandWords, literalWords } from './expand.js'
import { CaptureSink, Io, Pipe, emptyReader } from './io.js'
import { JobControl, type Child } from './jobs.js'
import { runCase, runFor, runIf, runLoop } from './control.js'
import { resolveExternal, runExternal } from './external.js'
import { runInputCommands } from './interactive.js'
import { Variables, paramValue } from './vars.js'
import { ShellSyntaxError, parse, parseScript } from './parser.js'
import { redirect } from './redirect.js'
import { Traps } from './traps.js'
import {
  setOption,
  type BuiltinOf,
  type BuiltinTablesOf,
  type ShellOptions,
  type ShellOpts,
  type ShellProcess,
  type ShellSystem,
} from './types.js'

export type { ShellOpts, ShellProcess, ShellSystem } from './types.js'

const SIGPIPE = 13
const MAX_FUNCTION_DEPTH = 1000

/** A builtin gets its argv, its descriptors (after redirections) and the ones before them. */
export type Builtin = BuiltinOf<Shell>
export type BuiltinTables = BuiltinTablesOf<Shell>

/** The command ash would exec in place of the shell: the last of a script, alone in its pipeline, in the foreground. */
function tailCommand(list: List | undefined): Command | undefined {
  const item = list?.at(-1)
  if (!item || item.background || item.andOr.rest.length > 0) return undefined
  const p = item.andOr.first
  const cmd = p.commands[0]
  return !p.negate && p.commands.length === 1 && cmd?.type === 'simple' ? cmd : undefined
}

export class Shell {
  /** Its process; while an interactive shell runs a line, one whose signal ^C also aborts. */
  proc: ShellProcess
  readonly sys: ShellSystem
  readonly builtins: BuiltinTables
  io: Io
  name: string
  script: string | undefined
  /** Its variables (src/sim/shell/vars.ts). */
  vars: Variables = new Variables(this)
  params: string[]
  funcs = new Map<string, Command>()
  cwd: string
  opts: ShellOpts = { errexit: false, nounset: false, xtrace: false, noglob: false, noclobber: false, allexport: false, pipefail: false }
  /** Trap actions and the signals sent to the shell's process. */
  traps: Traps = new Traps(this)
  /** $? */
  status = 0
  /** Its child processes, background jobs among them. */
  jobs: JobControl
  loopDepth = 0
  funcDepth = 0
  /** The builtin running, for error messages. */
  builtinName: string | undefined
  line = 0
  /** $$: the PID of the top shell (subshells keep it). */
  rootPid: number
  /** Set by `exec CMD`: the shell's traps no longer apply. */
  execd = false
  #noErrexit = 0
  #cmdsubStatus: number | undefined
  /** Turns of loops so far (src/sim/shell/control.ts). */
  spins = 0
  /** Updates the ps line of the process this shell runs as (forked shells). */
  setProcessArgs: ((args: readonly string[]) => void) | undefined
  /** The script's last command when it is a plain simple command (ash execs it instead of forking). */
  #tail: Command | undefined
  /** Reading commands from a terminal (src/sim/shell/interactive.ts). */
  interactive = false
  /** ^C at an interactive shell: aborts the line it runs. */
  interrupt: (() => void) | undefined
  /** The contexts of the commands this shell runs. */
  #contexts = new CommandContexts(this)

  constructor(o: ShellOptions<Shell>) {
    this.proc = o.proc
    this.sys = o.sys
    this.builtins = o.builtins
    this.io = o.io
    this.name = o.name
    this.script = o.script
    this.params = o.params ?? []
    this.cwd = o.cwd
    this.rootPid = o.proc.pid
    this.jobs = new JobControl(this)
    this.vars.init(o.env, this.cwd)
  }

  // ---- entry points

  /** Runs a script to its end (or `exit`), then the EXIT trap; returns the exit status. */
  async main(text: string): Promise<number> {
    const script = parseScript(text)
    this.#tail = script.error ? undefined : tailCommand(script.lines.at(-1))
    return this.top(async () => {
      for (const line of script.lines) await this.runList(line, this.io)
      if (script.error) {
        this.syntaxError(script.error)
        throw new ShellExit(2)
      }
    })
  }

  /**
   * Runs commands as they arrive on stdin (`sh` without -c or a file), each once it is complete
   * (src/sim/shell/interactive.ts).
   */
  mainInput(interactive: boolean): Promise<number> {
    return runInputCommands(this, interactive)
  }

  /** Runs the body as the shell's whole run, then the EXIT trap; returns the exit status. */
  async top(body: () => Promise<void>): Promise<number> {
    let status: number
    try {
      await body()
      await this.traps.runPending()
      status = this.status
    } catch (err) {
      status = this.#exitStatus(err)
    }
    return this.traps.runExit(status, (err) => this.#exitStatus(err))
  }

  #exitStatus(err: unknown): number {
    if (err instanceof ShellExit) return err.code
    if (err instanceof ShellFatal) return err.status
    if (err instanceof FunctionReturn) return err.code
    if (err instanceof LoopControl) return this.status
    throw err
  }

  // ---- messages

  /**
   * Prints an error as ash does: "sh: [command: ][line N: ]message", where the command is the
   * builtin running (eval and . included, for what runs inside them) or the script file.
   */
  error(message: string, builtin?: string, io: Io = this.io): void {
    const command = builtin ?? this.builtinName ?? this.script
    let text = `${this.name}: `
    if (command !== undefined) {
      if (command !== this.name) text += `${command}: `
      // ash leaves out the line number when it reads commands from a terminal.
      if (!this.interactive) text += `line ${this.line}: `
    }
    this.write(io, 2, `${text}${message}\n`)
  }

  syntaxError(err: ShellSyntaxError): void {
    this.line = err.line
    this.error(`syntax error: ${err.message}`)
  }

  /** Reports an error and ends the shell (status 2). */
  fatal(message: string): never {
    this.error(message)
    throw new ShellFatal(2)
  }

  /** Writes to a descriptor; a broken pipe delivers SIGPIPE to this process. */
  write(io: Io, fd: number, text: string): void {
    if (this.proc.signal.aborted) throw this.proc.signal.reason
    const sink = io.out(fd)
    if (sink === undefined) return
    if (!sink.write(text)) {
      this.traps.deliver(SIGPIPE)
      throw new EpipeError()
    }
  }

  // ---- variables

  getVar(name: string): string | undefined {
    return this.vars.get(name)
  }

  setVar(name: string, value: string | undefined, flags: { export?: boolean; readonly?: boolean } = {}): void {
    this.vars.set(name, value, flags)
  }

  unsetVar(name: string): void {
    this.vars.unset(name)
  }

  /** Makes a variable local to the running function (its value is kept until assigned). */
  makeLocal(name: string): void {
    this.vars.makeLocal(name)
  }

  exportedEnv(extra?: ReadonlyArray<[string, string]>): Record<string, string> {
    return this.vars.exported(extra)
  }

  /** Sets the option of a letter (set -e, sh -x); false when there is none. */
  setOption(letter: string, on: boolean): boolean {
    return setOption(this.opts, letter, on)
  }

  /** A parameter's value: a variable, a positional or a special parameter (src/sim/shell/vars.ts). */
  paramValue(name: string): string | undefined {
    return paramValue(this, name)
  }

  // ---- processes

  /** Starts a child process running `body` in a forked shell. */
  spawn(io: Io, body: (sub: Shell) => Promise<number>): Child {
    return this.jobs.spawn(io, async (proc, setArgs) => {
      const sub = this.#fork(proc, io, setArgs)
      return sub.top(async () => {
        sub.status = await body(sub)
      })
    })
  }

  /** A copy of this shell for a child process. */
  #fork(proc: ShellProcess, io: Io, setArgs: (args: readonly string[]) => void): Shell {
    const sub = this.#copy(proc, io, true)
    sub.setProcessArgs = setArgs
    return sub
  }

  /** A subshell in this process: `( … )` and `$( … )`. */
  #subshell(io: Io): Shell {
    return this.#copy(this.proc, io, false)
  }

  #copy(proc: ShellProcess, io: Io, canTrap: boolean): Shell {
    const sub = new Shell({
      proc,
      sys: { ...this.sys, processes: this.jobs.table },
      builtins: this.builtins,
      io,
      env: {},
      cwd: this.cwd,
      name: this.name,
      ...(this.script !== undefined ? { script: this.script } : {}),
      params: [...this.params],
    })
    sub.vars = this.vars.copy(sub)
    sub.funcs = new Map(this.funcs)
    sub.opts = { ...this.opts }
    // A subshell keeps ignored signals ignored; other traps are reset.
    for (const [s, a] of this.traps.actions) if (a === '' && s !== 0) sub.traps.actions.set(s, '')
    sub.status = this.status
    sub.loopDepth = this.loopDepth
    sub.funcDepth = this.funcDepth
    sub.line = this.line
    sub.rootPid = this.rootPid
    sub.traps.canTrap = canTrap
    sub.jobs = this.jobs.copyFor(sub, !canTrap)
    sub.#noErrexit = this.#noErrexit
    return sub
  }

  async #inSubshell(sub: Shell, body: () => Promise<number>): Promise<number> {
    return sub.top(async () => {
      sub.status = await body()
    })
  }

  // ---- execution

  runList(list: List, io: Io): Promise<number> {
    // One command in the foreground (most lists): its status is the list's, without a frame here.
    // A looping shell keeps its chain of async frames alive while its command runs (a sleep's whole
    // second), at some 400 bytes a frame, so the common path has as few as it can.
    const only = list.length === 1 ? (list[0] as List[number]) : undefined
    if (only !== undefined && !only.background) return this.runAndOr(only.andOr, io)
    return this.#runItems(list, io)
  }

  async #runItems(list: List, io: Io): Promise<number> {
    for (const item of list) {
      if (item.background) this.#background(item.andOr, io)
      else await this.runAndOr(item.andOr, io)
    }
    return this.status
  }

  /** `cmd &`: a job with empty stdin. (Its own method: a closure in runList's loop would cost every turn a context.) */
  #background(ao: AndOr, io: Io): void {
    const bio = io.with(0, { kind: 'in', reader: emptyReader() })
    this.jobs.addJob(this.spawn(bio, (sub) => sub.runAndOr(ao, bio)))
    this.status = 0
  }

  runAndOr(ao: AndOr, io: Io): Promise<number> {
    // One pipeline (most): no frame of its own.
    if (ao.rest.length === 0) return this.#pipeline(ao.first, io, false)
    return this.#andOr(ao, io)
  }

  async #andOr(ao: AndOr, io: Io): Promise<number> {
    const n = ao.rest.length
    let status = await this.#pipeline(ao.first, io, n > 0)
    for (let i = 0; i < n; i++) {
      const { op, pipeline } = ao.rest[i] as AndOr['rest'][number]
      if ((op === '&&') !== (status === 0)) continue
      status = await this.#pipeline(pipeline, io, i < n - 1)
    }
    return status
  }

  #pipeline(p: Pipeline, io: Io, notLast: boolean): Promise<number> {
    // One command that nothing guards (most): the command's own frame does the pipeline's part.
    if (!notLast && !p.negate && p.commands.length === 1) return this.#command(p.commands[0] as Command, io, true)
    return this.#guardedPipeline(p, io, notLast)
  }

  async #guardedPipeline(p: Pipeline, io: Io, notLast: boolean): Promise<number> {
    const guarded = notLast || p.negate
    if (guarded) this.#noErrexit++
    let status: number
    try {
      status = p.commands.length === 1 ? await this.runCommand(p.commands[0] as Command, io) : await this.#pipe(p.commands, io)
    } finally {
      if (guarded) this.#noErrexit--
    }
    if (p.negate) status = status === 0 ? 1 : 0
    this.status = status
    if (!guarded) this.#errexit(status)
    return status
  }

  /** set -e: a command that fails where nothing guards it ends the shell. */
  #errexit(status: number): void {
    if (status !== 0 && this.opts.errexit && this.#noErrexit === 0) throw new ShellExit(status)
  }

  async #pipe(commands: Command[], io: Io): Promise<number> {
    const n = commands.length
    const pipes = Array.from({ length: n - 1 }, () => new Pipe())
    const children = commands.map((cmd, i) => {
      let sio = io
      if (i > 0) sio = sio.with(0, { kind: 'in', reader: (pipes[i - 1] as Pipe).reader })
      if (i < n - 1) sio = sio.with(1, { kind: 'out', sink: (pipes[i] as Pipe).sink })
      const child = this.spawn(sio, (sub) => sub.runCommand(cmd, sio))
      void child.proc.exited.then(() => {
        if (i < n - 1) (pipes[i] as Pipe).closeWrite()
        if (i > 0) (pipes[i - 1] as Pipe).closeRead()
      })
      return child
    })
    const exits = await Promise.all(children.map((c) => c.proc.exited))
    this.checkAlive()
    if (this.opts.pipefail) return [...exits].reverse().find((e) => e.code !== 0)?.code ?? 0
    return (exits[n - 1] as ExitInfo).code
  }

  /** Throws the process's end once it has ended. */
  checkAlive(): void {
    if (this.proc.signal.aborted) throw this.proc.signal.reason
  }

  runCommand(cmd: Command, io: Io): Promise<number> {
    return this.#command(cmd, io, false)
  }

  /** Runs one command; `lone`: it is a whole pipeline nothing guards, so set -e applies here (#pipeline). */
  async #command(cmd: Command, io: Io, lone: boolean): Promise<number> {
    this.checkAlive()
    let status: number
    if (cmd.type === 'simple') status = await this.#simple(cmd, io)
    else if (cmd.type === 'function') {
      this.funcs.set(cmd.name, cmd.body)
      status = 0
    } else {
      let rio: Io
      try {
        rio = await redirect(this, cmd.redirs, io)
      } catch (err) {
        if (!(err instanceof RedirError)) throw err
        this.line = cmd.line
        this.error(err.message, undefined, io)
        this.status = 1
        if (lone) this.#errexit(1)
        return 1
      }
      status = await this.#compound(cmd, rio)
    }
    this.status = status
    if (this.traps.pending !== undefined) await this.traps.runPending()
    if (lone) this.#errexit(status)
    return status
  }

  /** A compound command: the ones that await before their body runs have methods of their own. */
  #compound(cmd: Exclude<Command, SimpleCommand | { type: 'function' }>, io: Io): Promise<number> {
    switch (cmd.type) {
      case 'group':
        return this.runList(cmd.body, io)
      case 'subshell': {
        const sio = io.copy()
        const sub = this.#subshell(sio)
        return this.#inSubshell(sub, () => sub.runList(cmd.body, sio))
      }
      case 'if':
        return runIf(this, cmd, io)
      case 'loop':
        return runLoop(this, cmd.body, io, async () => ((await this.condition(cmd.cond, io)) === 0) !== cmd.until)
      case 'for':
        return runFor(this, cmd, io)
      case 'case':
        return runCase(this, cmd, io)
    }
  }

  /** A condition (if, while, until): set -e does not apply inside it. */
  async condition(list: List, io: Io): Promise<number> {
    this.#noErrexit++
    try {
      return await this.runList(list, io)
    } finally {
      this.#noErrexit--
    }
  }

  loopControl(kind: 'break' | 'continue', n: number): void {
    const levels = Math.min(n, this.loopDepth)
    if (levels > 0) throw new LoopControl(levels, kind)
  }

  functionReturn(code: number): never {
    throw new FunctionReturn(code)
  }

  // ---- simple commands

  /**
   * A simple command. One of plain words without assignments or redirections (most commands) has
   * nothing to await before it runs: it is dispatched at once, without an async frame of its own.
   */
  #simple(cmd: SimpleCommand, io: Io): Promise<number> {
    const argv = cmd.assigns.length === 0 && cmd.redirs.length === 0 ? literalWords(cmd.words) : undefined
    if (argv === undefined || argv.length === 0) return this.#expandThenDispatch(cmd, io)
    this.line = cmd.line
    this.#cmdsubStatus = undefined
    if (this.opts.xtrace) this.#trace([], argv, io)
    return this.#dispatch(cmd, argv, [], io, io)
  }

  async #expandThenDispatch(cmd: SimpleCommand, io: Io): Promise<number> {
    this.line = cmd.line
    this.#cmdsubStatus = undefined
    const argv = await expandWords(this, cmd.words, io)
    const assigns: [string, string][] = []
    for (const a of cmd.assigns) assigns.push([a.name, await expandString(this, a.value, io)])
    if (this.opts.xtrace) this.#trace(assigns, argv, io)
    if (argv.length === 0) {
      for (const [k, v] of assigns) {
        try {
          this.setVar(k, v)
        } catch (err) {
          if (err instanceof BuiltinError) this.fatal(err.message)
          throw err
        }
      }
      if (cmd.redirs.length > 0) {
        try {
          await redirect(this, cmd.redirs, io)
        } catch (err) {
          if (!(err instanceof RedirError)) throw err
          this.error(err.message, undefined, io)
          return 1
        }
      }
      return this.#cmdsubStatus ?? 0
    }
    const name = argv[0] as string
    const special = this.builtins.special[name]
    let rio: Io
    try {
      rio = await redirect(this, cmd.redirs, io)
    } catch (err) {
      if (!(err instanceof RedirError)) throw err
      this.error(err.message, undefined, io)
      if (special) throw new ShellFatal(1)
      return 1
    }
    return this.#dispatch(cmd, argv, assigns, rio, io)
  }

  /** Runs expanded words as a special builtin, a function, a regular builtin or a program, in that order. */
  #dispatch(cmd: SimpleCommand, argv: string[], assigns: [string, string][], rio: Io, io: Io): Promise<number> {
    const name = argv[0] as string
    const special = this.builtins.special[name]
    if (special) {
      for (const [k, v] of assigns) this.setVar(k, v)
      return this.#builtin(name, special, argv, rio, io, true)
    }
    const fn = this.funcs.get(name)
    if (fn) return this.vars.with(assigns, true, () => this.callFunction(fn, argv, rio))
    const regular = this.builtins.regular[name]
    if (regular) return this.vars.with(assigns, false, () => this.#builtin(name, regular, argv, rio, io, false))
    // ash's last command of `sh -c` (no traps set) replaces the shell: it gets the shell's signals.
    const tail = this.#tail === cmd && this.traps.actions.size === 0
    if (tail) this.execd = true
    return this.runExternal(argv, rio, assigns, false, tail)
  }

  #trace(assigns: [string, string][], argv: string[], io: Io): void {
    const q = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`)
    const words = [...assigns.map(([k, v]) => `${k}=${q(v)}`), ...argv.map(q)]
    this.write(io, 2, `+ ${words.join(' ')}\n`)
  }

  async #builtin(name: string, fn: Builtin, argv: string[], io: Io, outer: Io, special: boolean): Promise<number> {
    const prev = this.builtinName
    this.builtinName = name
    try {
      return await fn(this, argv, io, outer)
    } catch (err) {
      if (!(err instanceof BuiltinError)) throw err
      this.error(err.message, name, io)
      if (special) throw new ShellFatal(err.status)
      return err.status
    } finally {
      this.builtinName = prev
    }
  }

  async callFunction(body: Command, argv: string[], io: Io): Promise<number> {
    if (this.funcDepth >= MAX_FUNCTION_DEPTH) this.fatal(`${argv[0]}: function nesting too deep`)
    const savedParams = this.params
    this.params = argv.slice(1)
    this.funcDepth++
    const frame = this.vars.startFrame()
    const savedLoops = this.loopDepth
    this.loopDepth = 0
    try {
      return await this.runCommand(body, io)
    } catch (err) {
      if (err instanceof FunctionReturn) return err.code
      throw err
    } finally {
      this.loopDepth = savedLoops
      this.vars.endFrame(frame)
      this.funcDepth--
      this.params = savedParams
    }
  }

  /** Finds what a name runs outside the shell (src/sim/shell/external.ts). */
  resolve(name: string): Executable | undefined {
    return resolveExternal(this, name)
  }

  /** Runs a command that is not a builtin or function (src/sim/shell/external.ts). */
  runExternal(argv: string[], io: Io, assigns: [string, string][] = [], exec = false, replaces = exec): Promise<number> {
    return runExternal(this, argv, io, assigns, exec, replaces)
  }

  /** The context a command runs with: this shell's descriptors, variables and directory. */
  commandContext(argv: string[], io: Io, env: Record<string, string>, o: { exec?: boolean; applet?: string } = {}): CommandContext {
    return this.#contexts.make(argv, io, env, o)
  }

  /** The promise, or its rejection with the process's end when that comes first. */
  abortable<T>(p: Promise<T>): Promise<T> {
    return abortable(this.proc.signal, p)
  }

  /** Runs text as shell commands in this shell (eval, trap actions). */
  async evalString(text: string, io: Io): Promise<number> {
    let list: List
    try {
      list = parse(text)
    } catch (err) {
      if (!(err instanceof ShellSyntaxError)) throw err
      this.syntaxError(err)
      throw new ShellFatal(2)
    }
    const line = this.line
    try {
      this.status = 0
      return await this.runList(list, io)
    } finally {
      this.line = line
    }
  }

  // ---- expansion (src/sim/shell/expand.ts)

  get ifs(): string {
    return this.getVar('IFS') ?? ' \t\n'
  }

  expandWords(words: Word[], io: Io): Promise<string[]> {
    return expandWords(this, words, io)
  }

  expandString(w: Word, io: Io): Promise<string> {
    return expandString(this, w, io)
  }

  /** Evaluates an arithmetic expression; an error ends the shell (as in ash). */
  arith(text: string): bigint {
    return arith(this, text)
  }

  /** $(…): runs the commands in a subshell; their output without trailing newlines. */
  async commandSubstitution(body: List, io: Io): Promise<string> {
    const capture = new CaptureSink()
    const cio = io.with(1, { kind: 'out', sink: capture })
    const sub = this.#subshell(cio)
    let status: number
    try {
      status = await this.#inSubshell(sub, () => sub.runList(body, cio))
    } catch (err) {
      if (err instanceof OutOfMemory) this.fatal(err.message)
      throw err
    }
    this.checkAlive()
    this.#cmdsubStatus = status
    this.status = status
    return capture.text.replace(/\n+$/, '')
  }
}

export { BuiltinError, EpipeError, ShellExit, ShellFatal }

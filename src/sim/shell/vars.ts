// A shell's variables and parameters: values, export and readonly flags, `local` frames of the
// running functions, assignments that hold only for one command (`VAR=x cmd`), and the special
// parameters ($?, $$, $!, …). Apart from the interpreter; what
// it needs of the shell is VariablesHost.
import { BuiltinError } from './errors.js'
import { MAX_SHELL_STRING } from './io.js'
import { optionFlags, type ShellOpts, type ShellSystem, type Var } from './types.js'

/** What variables need of their shell: set -a, and ending it when a value outgrows its memory. */
export interface VariablesHost {
  readonly opts: Readonly<Pick<ShellOpts, 'allexport'>>
  fatal(message: string): never
}

export class Variables {
  /** By name. */
  map = new Map<string, Var>()
  /** The `local` frames of the functions running: each variable's value before it was made local. */
  locals: Map<string, Var | undefined>[] = []

  constructor(readonly host: VariablesHost) {}

  /** A shell's variables at its start: the environment exported, IFS, PATH, PWD and SHLVL. */
  init(env: Readonly<Record<string, string>>, cwd: string): void {
    const vars = this.map
    for (const [k, v] of Object.entries(env)) vars.set(k, { value: v, exported: true, readonly: false })
    if (!vars.has('IFS')) vars.set('IFS', { value: ' \t\n', exported: false, readonly: false })
    if (!vars.has('PATH'))
      vars.set('PATH', { value: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', exported: false, readonly: false })
    vars.set('PWD', { value: cwd, exported: true, readonly: false })
    vars.set('SHLVL', { value: String((Number(env.SHLVL) || 0) + 1), exported: true, readonly: false })
  }

  /** A subshell's copy (without the local frames). */
  copy(host: VariablesHost): Variables {
    const vars = new Variables(host)
    vars.map = new Map([...this.map].map(([k, v]) => [k, { ...v }]))
    return vars
  }

  get(name: string): string | undefined {
    return this.map.get(name)?.value
  }

  set(name: string, value: string | undefined, flags: { export?: boolean; readonly?: boolean } = {}): void {
    if (value !== undefined && value.length > MAX_SHELL_STRING) this.host.fatal('out of memory')
    const v = this.map.get(name)
    if (v?.readonly && value !== undefined) throw new BuiltinError(`${name}: is read only`)
    const allexport = this.host.opts.allexport
    if (v) {
      if (value !== undefined) v.value = value
      if (flags.export) v.exported = true
      if (flags.readonly) v.readonly = true
      if (allexport) v.exported = true
    } else {
      this.map.set(name, { value, exported: !!flags.export || allexport, readonly: !!flags.readonly })
    }
  }

  unset(name: string): void {
    const v = this.map.get(name)
    if (v?.readonly) throw new BuiltinError(`${name}: is read only`)
    this.map.delete(name)
  }

  /** Makes a variable local to the running function (its value is kept until assigned). */
  makeLocal(name: string): void {
    const frame = this.locals[this.locals.length - 1]
    if (frame === undefined) throw new BuiltinError('not in a function')
    if (frame.has(name)) return
    const v = this.map.get(name)
    frame.set(name, v && { ...v })
  }

  /** Starts a function's frame of locals; endFrame gives the variables back their values. */
  startFrame(): Map<string, Var | undefined> {
    const frame = new Map<string, Var | undefined>()
    this.locals.push(frame)
    return frame
  }

  endFrame(frame: Map<string, Var | undefined>): void {
    this.locals.pop()
    this.#restore(frame)
  }

  #restore(saved: Iterable<readonly [string, Var | undefined]>): void {
    for (const [k, old] of saved) {
      if (old === undefined) this.map.delete(k)
      else this.map.set(k, old)
    }
  }

  /** The exported variables, with `extra` over them: a command's environment. */
  exported(extra?: ReadonlyArray<[string, string]>): Record<string, string> {
    const env: Record<string, string> = {}
    this.map.forEach((v, k) => {
      if (v.exported && v.value !== undefined) env[k] = v.value
    })
    if (extra) for (const [k, v] of extra) env[k] = v
    return env
  }

  /** Runs body with the assignments of `VAR=x cmd` in place (exported for a function), then undoes them. */
  async with<T>(assigns: [string, string][], exported: boolean, body: () => Promise<T>): Promise<T> {
    if (assigns.length === 0) return body()
    const saved = assigns.map(([k]) => [k, this.map.get(k)] as const)
    for (const [k, v] of assigns) {
      const old = this.map.get(k)
      this.map.set(k, { value: v, exported: exported || !!old?.exported, readonly: false })
    }
    try {
      return await body()
    } finally {
      this.#restore(saved)
    }
  }
}

/** What the special parameters are read from. */
export interface ParamHost {
  readonly status: number
  /** $$ */
  readonly rootPid: number
  readonly jobs: { readonly lastBg: number | undefined }
  readonly params: readonly string[]
  readonly opts: ShellOpts
  /** $0 */
  readonly name: string
  readonly line: number
  readonly sys: Pick<ShellSystem, 'processes'>
  readonly vars: Variables
}

/** A parameter's value: a variable, a positional or a special parameter ($?, $$, $!, $#, $-, $@, $0, …). */
export function paramValue(sh: ParamHost, name: string): string | undefined {
  switch (name) {
    case '?':
      return String(sh.status)
    case '$':
      return String(sh.rootPid)
    case '!':
      return sh.jobs.lastBg === undefined ? undefined : String(sh.jobs.lastBg)
    case '#':
      return String(sh.params.length)
    case '-':
      return optionFlags(sh.opts)
    case '@':
    case '*':
      return sh.params.length === 0 ? undefined : sh.params.join(' ')
    case '0':
      return sh.name
    case 'RANDOM':
      return String(Math.floor(Math.random() * 32768))
    case 'LINENO':
      return String(sh.line)
    case 'PPID':
      if (!sh.vars.map.has('PPID')) return String(sh.sys.processes.list().find((p) => p.pid === sh.rootPid)?.ppid ?? 0)
  }
  if (/^\d+$/.test(name)) return sh.params[Number(name) - 1]
  return sh.vars.get(name)
}

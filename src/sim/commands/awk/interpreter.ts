// Runs a parsed awk program over records: variables and arrays, fields split lazily from $0 and
// joined again with OFS when one is assigned, the built-in functions, and output to stdout, files
// of the container (print > "f", >> "f") and commands (print | "cmd", run with `sh -c` when closed
// or at the end). Evaluation is async only because system() and pipes run simulated commands.
import type { CommandContext } from '../../context.js'
import { textInput } from '../../context.js'
import { runShell } from '../../shell/run.js'
import { abs, reason } from '../fs-common.js'
import { posixMatcher } from '../fs-regex.js'
import { slicer } from '../../shell/io.js'
import { PatternTooComplex, type Matcher } from '../../../patterns/regex.js'
import type { AwkProgram, Expr, Stmt } from './parser.js'
import { AwkFatal, AwkRuntimeError, compare, numToStr, sprintf, strnum, toNum, toStr, truthy, UNINIT, type V } from './values.js'

/** A variable: a scalar, an array, or neither yet; `link` is the caller's cell an untyped argument came from. */
interface Cell {
  v?: V
  a?: Map<string, V>
  link?: Cell
}

/** Loop passes between two yields to the event loop. */
const LOOP_SLICE = 4096
/** How deep user functions may call each other. */
const MAX_CALL_DEPTH = 10_000

export class AwkExit {
  constructor(readonly code: number | undefined) {}
}
class Next {}
class Break {}
class Continue {}
class Return {
  constructor(readonly v: V) {}
}
const NEXT = new Next()
const BREAK = new Break()
const CONTINUE = new Continue()

const MATH: Readonly<Record<string, (x: number) => number>> = {
  int: Math.trunc,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  sin: Math.sin,
  cos: Math.cos,
}

export class Interpreter {
  #globals = new Map<string, Cell>()
  #frame: Map<string, Cell> | undefined
  #record: V = UNINIT
  /** $1..$NF (index 0 unused) once $0 has been split. */
  #fields: V[] | undefined
  #regexes = new Map<string, Matcher>()
  /** Between the matches of a gsub: a turn of the event loop every few ms (shell/io.ts slicer). */
  readonly #turn: () => Promise<void> | undefined
  #out = ''
  #files = new Set<string>()
  #pipes = new Map<string, string>()
  #seed = 0
  #rand = 0
  #ranges: boolean[]
  exitCode = 0

  constructor(
    readonly prog: AwkProgram,
    readonly ctx: CommandContext,
  ) {
    this.#ranges = prog.rules.map(() => false)
    this.#turn = slicer(ctx)
    const defaults: Record<string, V> = { FS: ' ', OFS: ' ', ORS: '\n', RS: '\n', SUBSEP: '\x1c', CONVFMT: '%.6g', OFMT: '%.6g' }
    for (const [k, v] of Object.entries({ ...defaults, NR: 0, FNR: 0, RSTART: 0, RLENGTH: -1, FILENAME: '' })) this.#globals.set(k, { v })
    this.#globals.set('ENVIRON', { a: new Map(Object.entries(ctx.env).map(([k, v]) => [k, strnum(v)])) })
    this.srand(0)
  }

  // ---- variables ----

  #cell(name: string): Cell {
    const local = this.#frame?.get(name)
    if (local) return local
    let c = this.#globals.get(name)
    if (!c) this.#globals.set(name, (c = {}))
    return c
  }

  get(name: string): V {
    if (name === 'NF') return this.#splitFields().length - 1
    const c = this.#cell(name)
    if (c.a) throw new AwkRuntimeError(`Can't use array '${name}' as a scalar`)
    return c.v ?? UNINIT
  }

  set(name: string, v: V): void {
    if (name === 'NF') return this.#setNF(toNum(v))
    const c = this.#cell(name)
    if (c.a) throw new AwkRuntimeError(`Can't assign to array '${name}'`)
    c.v = v
  }

  str(name: string): string {
    return toStr(this.get(name), this.#convfmt())
  }
  #convfmt(): string {
    return toStr(this.#globals.get('CONVFMT')?.v ?? '%.6g')
  }

  array(name: string): Map<string, V> {
    const c = this.#cell(name)
    if (c.v !== undefined) throw new AwkRuntimeError('Not an array')
    if (!c.a) {
      c.a = new Map()
      if (c.link) c.link.a = c.a
    }
    return c.a
  }

  async #key(subs: Expr[]): Promise<string> {
    return (await this.#evalAll(subs)).map((v) => this.text(v)).join(this.str('SUBSEP'))
  }

  /** Values left to right, one finished before the next starts (match() sets RSTART for the next). */
  async #evalAll(list: Expr[]): Promise<V[]> {
    const out: V[] = []
    for (const e of list) out.push(await this.eval(e))
    return out
  }

  /** A value as a string (numbers through CONVFMT). */
  text(v: V): string {
    return toStr(v, this.#convfmt())
  }

  // ---- records and fields ----

  setRecord(v: V): void {
    this.#record = v
    this.#fields = undefined
  }

  #splitFields(): V[] {
    this.#fields ??= [UNINIT, ...this.split(this.text(this.#record), this.str('FS')).map(strnum)]
    return this.#fields
  }

  /** Splits $0 unless it is split already, yielding as it goes: expressions call it before they read fields or NF. */
  async #fieldsReady(): Promise<void> {
    if (this.#fields) return
    const parts = await this.splitYielding(this.text(this.#record), this.str('FS'))
    this.#fields ??= [UNINIT, ...parts.map(strnum)]
  }

  field(i: number): V {
    if (i < 0) throw new AwkRuntimeError('Access to negative field')
    if (i === 0) return this.#record
    return this.#splitFields()[i] ?? UNINIT
  }

  setField(i: number, v: V): void {
    if (i < 0) throw new AwkRuntimeError('Access to negative field')
    if (i === 0) return this.setRecord(v)
    const f = this.#splitFields()
    while (f.length <= i) f.push(UNINIT)
    f[i] = v
    this.#rebuild(f)
  }

  #setNF(n: number): void {
    if (n < 0) throw new AwkRuntimeError('NF set to negative value')
    const f = this.#splitFields()
    f.length = Math.min(f.length, Math.trunc(n) + 1)
    while (f.length <= n) f.push(UNINIT)
    this.#rebuild(f)
  }

  #rebuild(f: V[]): void {
    this.#record = f
      .slice(1)
      .map((v) => this.text(v))
      .join(this.str('OFS'))
  }

  /** Splits text as FS does (see #splitting); at once, for the few places that need fields synchronously. */
  split(text: string, sep: string | Matcher): string[] {
    const parts: string[] = []
    for (const _ of this.#splitting(text, sep, parts));
    return parts
  }

  /**
   * The same, yielding to the event loop every few ms between regex matches: finding each match
   * can rescan the rest of the line (FS="a.*z|a" on a long line of a's is quadratic, as gsub is).
   */
  async splitYielding(text: string, sep: string | Matcher): Promise<string[]> {
    const parts: string[] = []
    for (const _ of this.#splitting(text, sep, parts)) await this.#turn()
    return parts
  }

  /**
   * Splits text as FS does into `parts`: " " on runs of blanks (trimmed), one other character
   * literally, else a regex (src/patterns: bounded per match); it pauses after each match.
   */
  *#splitting(text: string, sep: string | Matcher, parts: string[]): Generator<void> {
    if (sep === ' ') {
      const t = text.replace(/^[ \t\n]+|[ \t\n]+$/g, '')
      if (t !== '') parts.push(...t.split(/[ \t\n]+/))
      return
    }
    if (text === '') return
    if (typeof sep === 'string' && sep.length === 1 && sep !== '\\') return void parts.push(...text.split(sep))
    const re = typeof sep === 'string' ? this.regex(sep) : sep
    let from = 0
    for (const m of re.matches(text)) {
      yield
      if (m[0] === '') continue
      parts.push(text.slice(from, m.index))
      from = m.index + m[0].length
    }
    parts.push(text.slice(from))
  }

  regex(src: string): Matcher {
    let re = this.#regexes.get(src)
    if (!re) {
      try {
        re = posixMatcher(src, { extended: true })
      } catch (e) {
        if (e instanceof PatternTooComplex) throw e
        throw new AwkRuntimeError(`bad regex '${src}'`)
      }
      this.#regexes.set(src, re)
    }
    return re
  }

  /** A regex operand: a /literal/ as it is, anything else as a dynamic regex from its string. */
  async #regexOf(e: Expr): Promise<Matcher> {
    return this.regex(e.k === 're' ? e.src : this.text(await this.eval(e)))
  }

  // ---- output ----

  write(text: string): void {
    this.#out += text
    if (this.#out.length > 65536) this.flush()
  }

  flush(): void {
    if (this.#out !== '') this.ctx.write('stdout', this.#out)
    this.#out = ''
  }

  async #output(text: string, redir: { op: string; e: Expr } | undefined): Promise<void> {
    if (!redir) return this.write(text)
    const target = this.text(await this.eval(redir.e))
    if (redir.op === '|') {
      this.#pipes.set(target, (this.#pipes.get(target) ?? '') + text)
      return
    }
    if (target === '/dev/stdout' || target === '-') return this.write(text)
    if (target === '/dev/stderr') return this.ctx.write('stderr', text)
    // "> file" truncates when the file is first opened, then appends, as the stream stays open.
    const append = redir.op === '>>' || this.#files.has(target)
    try {
      this.ctx.fs.writeFile(abs(this.ctx, target), text, { append })
    } catch (e) {
      throw new AwkFatal(`can't open '${target}': ${reason(e)}`)
    }
    this.#files.add(target)
  }

  /** Closes a file or runs a pipe's command on what was printed to it; its status. */
  async close(name: string): Promise<number> {
    const input = this.#pipes.get(name)
    if (input === undefined) return this.#files.delete(name) ? 0 : -1
    this.#pipes.delete(name)
    this.flush()
    return runShell(name, { ...this.ctx, stdin: textInput(input) })
  }

  async closeAll(): Promise<void> {
    this.flush()
    for (const name of [...this.#pipes.keys()]) await this.close(name)
  }

  // ---- rules ----

  async runBlock(body: Stmt[]): Promise<void> {
    for (const s of body) await this.exec(s)
  }

  /** Runs the main rules on the current record (`next` ends them). */
  async runRules(): Promise<void> {
    try {
      for (const [i, rule] of this.prog.rules.entries()) {
        if (!(await this.#selects(i))) continue
        if (rule.body) await this.runBlock(rule.body)
        else this.write(this.text(this.#record) + this.str('ORS'))
      }
    } catch (e) {
      if (e !== NEXT) throw e
    }
  }

  async #selects(i: number): Promise<boolean> {
    const rule = this.prog.rules[i] as (typeof this.prog.rules)[number]
    if (!rule.pattern) return true
    if (!rule.end) return truthy(await this.eval(rule.pattern))
    if (!this.#ranges[i]) {
      if (!truthy(await this.eval(rule.pattern))) return false
      this.#ranges[i] = true
    }
    if (truthy(await this.eval(rule.end))) this.#ranges[i] = false
    return true
  }

  // ---- statements ----

  async exec(s: Stmt): Promise<void> {
    switch (s.k) {
      case 'expr':
        await this.eval(s.e)
        return
      case 'print': {
        const vals = await this.#evalAll(s.args)
        let text: string
        if (s.printf) text = sprintf(this.text(vals[0] as V), vals.slice(1), this.#convfmt())
        else {
          const ofmt = this.str('OFMT')
          const parts = vals.length === 0 ? [this.#record] : vals
          text = parts.map((v) => (typeof v === 'number' ? numToStr(v, ofmt) : this.text(v))).join(this.str('OFS')) + this.str('ORS')
        }
        return this.#output(text, s.redir)
      }
      case 'if':
        if (truthy(await this.eval(s.c))) await this.exec(s.t)
        else if (s.f) await this.exec(s.f)
        return
      case 'while':
        while (truthy(await this.eval(s.c))) if (await this.#iteration(s.body)) break
        return
      case 'do':
        do if (await this.#iteration(s.body)) break
        while (truthy(await this.eval(s.c)))
        return
      case 'for':
        if (s.init) await this.eval(s.init)
        while (!s.c || truthy(await this.eval(s.c))) {
          if (await this.#iteration(s.body)) break
          if (s.step) await this.eval(s.step)
        }
        return
      case 'forin':
        // The keys as they are now: the body may add or delete elements.
        for (const k of [...this.array(s.arr).keys()]) {
          if (!this.array(s.arr).has(k)) continue
          this.set(s.v, strnum(k))
          if (await this.#iteration(s.body)) break
        }
        return
      case 'block':
        return this.runBlock(s.body)
      case 'next':
        throw NEXT
      case 'break':
        throw BREAK
      case 'continue':
        throw CONTINUE
      case 'exit':
        throw new AwkExit(s.e ? Math.trunc(toNum(await this.eval(s.e))) & 0xff : undefined)
      case 'return':
        throw new Return(s.e ? await this.eval(s.e) : UNINIT)
      case 'delete':
        if (s.subs) this.array(s.name).delete(await this.#key(s.subs))
        else this.array(s.name).clear()
    }
  }

  /** Loop passes since the interpreter last let the server's event loop run. */
  #passes = 0
  /** User function calls in progress. */
  #depth = 0

  /** One pass of a loop body; true when it ended with `break`. */
  async #iteration(body: Stmt): Promise<boolean> {
    // Awaits of settled promises never leave the microtask queue: a loop without end (while (1))
    // would hold the whole server. Every so many passes it yields, and stops if its process ended.
    if (++this.#passes >= LOOP_SLICE) {
      this.#passes = 0
      await new Promise((resolve) => setImmediate(resolve))
      if (this.ctx.signal.aborted) throw this.ctx.signal.reason
    }
    try {
      await this.exec(body)
    } catch (e) {
      if (e === BREAK) return true
      if (e !== CONTINUE) throw e
    }
    return false
  }

  // ---- expressions ----

  async #assign(lv: Expr, v: V): Promise<V> {
    if (lv.k === 'var') {
      if (lv.name === 'NF') await this.#fieldsReady()
      this.set(lv.name, v)
    } else if (lv.k === 'field') {
      const i = Math.trunc(toNum(await this.eval(lv.e)))
      if (i > 0) await this.#fieldsReady()
      this.setField(i, v)
    } else if (lv.k === 'idx') this.array(lv.name).set(await this.#key(lv.subs), v)
    return v
  }

  #arith(op: string, x: number, y: number): number {
    switch (op) {
      case '+':
        return x + y
      case '-':
        return x - y
      case '*':
        return x * y
      case '^':
        return x ** y
      default:
        if (y === 0) throw new AwkRuntimeError('Division by zero')
        return op === '/' ? x / y : x % y
    }
  }

  async eval(e: Expr): Promise<V> {
    switch (e.k) {
      case 'num':
      case 'str':
        return e.v
      case 're':
        return this.regex(e.src).test(this.text(this.#record)) ? 1 : 0
      case 'var':
        if (e.name === 'NF') await this.#fieldsReady()
        return this.get(e.name)
      case 'field': {
        const i = Math.trunc(toNum(await this.eval(e.e)))
        if (i > 0) await this.#fieldsReady()
        return this.field(i)
      }
      case 'idx': {
        const arr = this.array(e.name)
        const key = await this.#key(e.subs)
        let v = arr.get(key)
        // Referencing an element creates it.
        if (v === undefined) arr.set(key, (v = UNINIT))
        return v
      }
      case 'assign': {
        const v = await this.eval(e.e)
        if (e.op === '=') return this.#assign(e.lv, v)
        return this.#assign(e.lv, this.#arith(e.op.slice(0, 1), toNum(await this.eval(e.lv)), toNum(v)))
      }
      case 'cond':
        return this.eval(truthy(await this.eval(e.c)) ? e.a : e.b)
      case 'and':
        return truthy(await this.eval(e.a)) && truthy(await this.eval(e.b)) ? 1 : 0
      case 'or':
        return truthy(await this.eval(e.a)) || truthy(await this.eval(e.b)) ? 1 : 0
      case 'not':
        return truthy(await this.eval(e.e)) ? 0 : 1
      case 'neg':
        return -toNum(await this.eval(e.e))
      case 'pos':
        return toNum(await this.eval(e.e))
      case 'concat':
        return this.text(await this.eval(e.a)) + this.text(await this.eval(e.b))
      case 'bin':
        return this.#arith(e.op, toNum(await this.eval(e.a)), toNum(await this.eval(e.b)))
      case 'cmp': {
        const c = compare(await this.eval(e.a), await this.eval(e.b), this.#convfmt())
        const ok = { '<': c < 0, '<=': c <= 0, '==': c === 0, '!=': c !== 0, '>': c > 0, '>=': c >= 0 }[e.op]
        return ok ? 1 : 0
      }
      case 'match': {
        const s = this.text(await this.eval(e.a))
        return (await this.#regexOf(e.re)).test(s) !== e.neg ? 1 : 0
      }
      case 'in':
        return this.array(e.name).has(await this.#key(e.subs)) ? 1 : 0
      case 'incdec': {
        const old = toNum(await this.eval(e.lv))
        const now = e.op === '++' ? old + 1 : old - 1
        await this.#assign(e.lv, now)
        return e.pre ? now : old
      }
      case 'call':
        return this.#builtin(e.name, e.args)
      case 'ucall':
        return this.#call(e.name, e.args)
      case 'group':
        throw new AwkRuntimeError('Unexpected token')
    }
  }

  async #call(name: string, args: Expr[]): Promise<V> {
    const f = this.prog.funcs.get(name)
    if (!f) throw new AwkRuntimeError('Call to undefined function')
    if (args.length > f.params.length) throw new AwkRuntimeError('Too many arguments')
    const frame = new Map<string, Cell>()
    for (const [i, p] of f.params.entries()) {
      const a = args[i]
      if (a?.k === 'var' && a.name !== 'NF') {
        // An array goes by reference; an untyped variable may become one in the callee.
        const c = this.#cell(a.name)
        frame.set(p, c.a ? c : c.v === undefined ? { link: c } : { v: c.v })
      } else frame.set(p, a ? { v: await this.eval(a) } : {})
    }
    // Recursion without end would grow the server's heap: it stops where a real awk's stack would.
    if (++this.#depth > MAX_CALL_DEPTH) throw new AwkRuntimeError('Call stack overflow')
    const outer = this.#frame
    this.#frame = frame
    try {
      await this.runBlock(f.body)
      return UNINIT
    } catch (e) {
      if (e instanceof Return) return e.v
      throw e
    } finally {
      this.#frame = outer
      this.#depth--
    }
  }

  srand(seed: number): number {
    const old = this.#seed
    this.#seed = seed
    this.#rand = Math.trunc(seed) >>> 0
    return old
  }

  /** mulberry32: reproducible for a seed, as srandom's sequence is. */
  #random(): number {
    let t = (this.#rand = (this.#rand + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  async #builtin(name: string, args: Expr[]): Promise<V> {
    const val = async (i: number): Promise<V> => {
      const a = args[i]
      if (!a) throw new AwkRuntimeError('Too few arguments')
      return this.eval(a)
    }
    const str = async (i: number): Promise<string> => this.text(await val(i))
    const num = async (i: number): Promise<number> => toNum(await val(i))
    const math = MATH[name]
    if (math) return math(await num(0))
    switch (name) {
      case 'length': {
        const a = args[0]
        if (!a) return this.text(this.#record).length
        if (a.k === 'var' && this.#cell(a.name).a) return this.array(a.name).size
        return (await str(0)).length
      }
      case 'substr': {
        // busybox: start is truncated and clamped to the string, a negative length is 0.
        const s = await str(0)
        const start = Math.min(Math.max(Math.trunc(await num(1)) - 1, 0), s.length)
        const n = args.length > 2 ? Math.max(Math.trunc(await num(2)), 0) : s.length
        return s.slice(start, start + n)
      }
      case 'index':
        return (await str(0)).indexOf(await str(1)) + 1
      case 'split': {
        const s = await str(0)
        const target = args[1]
        if (target?.k !== 'var') throw new AwkRuntimeError('Not an array')
        const sep = args[2] ? (args[2].k === 're' ? this.regex(args[2].src) : await str(2)) : this.str('FS')
        const parts = await this.splitYielding(s, sep)
        const arr = this.array(target.name)
        arr.clear()
        parts.forEach((p, i) => arr.set(String(i + 1), strnum(p)))
        return parts.length
      }
      case 'sub':
      case 'gsub':
        return this.#substitute(name === 'gsub', args)
      case 'match': {
        const s = await str(0)
        const m = (await this.#regexOf(args[1] ?? { k: 'str', v: '' })).exec(s)
        this.set('RSTART', m ? m.index + 1 : 0)
        this.set('RLENGTH', m ? m[0].length : -1)
        return m ? m.index + 1 : 0
      }
      case 'sprintf': {
        const vals = await this.#evalAll(args)
        if (vals.length === 0) throw new AwkRuntimeError('Too few arguments')
        return sprintf(this.text(vals[0] as V), vals.slice(1), this.#convfmt())
      }
      case 'tolower':
        return (await str(0)).toLowerCase()
      case 'toupper':
        return (await str(0)).toUpperCase()
      case 'atan2':
        return Math.atan2(await num(0), await num(1))
      case 'rand':
        return this.#random()
      case 'srand':
        return this.srand(args.length > 0 ? await num(0) : Math.trunc(Date.now() / 1000))
      case 'system': {
        const cmd = await str(0)
        this.flush()
        return runShell(cmd, this.ctx)
      }
      case 'close':
        return this.close(await str(0))
      default:
        // fflush
        this.flush()
        return 0
    }
  }

  /** sub/gsub(re, repl [, target=$0]): "&" in repl is the match, "\\&" a literal "&"; the count. */
  async #substitute(global: boolean, args: Expr[]): Promise<number> {
    const [reArg, replArg, target = { k: 'field', e: { k: 'num', v: 0 } } as Expr] = args
    if (!reArg || !replArg) throw new AwkRuntimeError('Too few arguments')
    const re = await this.#regexOf(reArg)
    const repl = this.text(await this.eval(replArg))
    const text = this.text(await this.eval(target))
    const expand = (m: string): string => repl.replace(/\\\\|\\&|&/g, (t) => (t === '&' ? m : t.slice(1)))
    let out = ''
    let count = 0
    let pos = 0
    let lastEnd = -1
    while (pos <= text.length) {
      await this.#turn()
      const m = re.exec(text, pos)
      if (!m) break
      // An empty match right after the previous match is not another one (gsub(/x*/, "-", "axb")).
      if (m[0] === '' && m.index === lastEnd) {
        if (m.index < text.length) out += text[m.index]
        pos = m.index + 1
        continue
      }
      out += text.slice(pos, m.index) + expand(m[0])
      count++
      lastEnd = m.index + m[0].length
      if (m[0] === '') {
        if (m.index < text.length) out += text[m.index]
        pos = m.index + 1
      } else pos = lastEnd
      if (!global) break
    }
    if (count === 0) return 0
    out += text.slice(Math.min(pos, text.length))
    if (target.k !== 'var' && target.k !== 'field' && target.k !== 'idx') return count
    await this.#assign(target, out)
    return count
  }
}

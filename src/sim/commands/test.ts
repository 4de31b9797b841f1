// test, [ and [[: string, integer and file tests (files through ctx.fs, permissions by ctx.identity).
// Status 0 true, 1 false, 2 an error ("sh: abc: bad number", "sh: missing ]").
import type { Command, CommandContext } from '../context.js'
import { resolvePath, type FileStat } from '../fs/types.js'
import { prog } from './util.js'

class TestError extends Error {}

const UNARY = new Set([
  '-b',
  '-c',
  '-d',
  '-e',
  '-f',
  '-g',
  '-G',
  '-h',
  '-k',
  '-L',
  '-n',
  '-O',
  '-p',
  '-r',
  '-s',
  '-S',
  '-t',
  '-u',
  '-w',
  '-x',
  '-z',
])
const BINARY = new Set(['=', '==', '!=', '<', '>', '-eq', '-ne', '-lt', '-le', '-gt', '-ge', '-nt', '-ot', '-ef'])

function integer(s: string): bigint {
  const t = s.trim()
  if (!/^[+-]?\d+$/.test(t)) throw new TestError(`${s}: bad number`)
  const v = BigInt(t)
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) throw new TestError(`${s}: out of range`)
  return v
}

function access(st: FileStat, ctx: CommandContext, bit: 4 | 2 | 1): boolean {
  const id = ctx.identity
  if (id.uid === 0) return bit !== 1 || (st.mode & 0o111) !== 0 || st.type === 'dir'
  if (st.uid === id.uid) return (st.mode & (bit << 6)) !== 0
  if (st.gid === id.gid || id.groups.includes(st.gid)) return (st.mode & (bit << 3)) !== 0
  return (st.mode & bit) !== 0
}

function unary(op: string, arg: string, ctx: CommandContext): boolean {
  if (op === '-n') return arg !== ''
  if (op === '-z') return arg === ''
  if (op === '-t') return false
  const path = resolvePath(ctx.cwd, arg)
  const safe = (f: () => FileStat | undefined): FileStat | undefined => {
    try {
      return arg === '' ? undefined : f()
    } catch {
      return undefined
    }
  }
  if (op === '-h' || op === '-L') return safe(() => ctx.fs.lstat(path))?.type === 'symlink'
  const st = safe(() => ctx.fs.stat(path))
  if (st === undefined) return false
  switch (op) {
    case '-e':
      return true
    case '-f':
      return st.type === 'file'
    case '-d':
      return st.type === 'dir'
    case '-c':
      return st.type === 'char'
    case '-b':
    case '-p':
    case '-S':
      return false
    case '-s':
      return st.size > 0
    case '-r':
      return access(st, ctx, 4)
    case '-w':
      return access(st, ctx, 2)
    case '-x':
      return access(st, ctx, 1)
    case '-u':
      return (st.mode & 0o4000) !== 0
    case '-g':
      return (st.mode & 0o2000) !== 0
    case '-k':
      return (st.mode & 0o1000) !== 0
    case '-O':
      return st.uid === ctx.identity.uid
    case '-G':
      return st.gid === ctx.identity.gid
  }
  return false
}

function binary(a: string, op: string, b: string, ctx: CommandContext): boolean {
  switch (op) {
    case '=':
    case '==':
      return a === b
    case '!=':
      return a !== b
    case '<':
      return a < b
    case '>':
      return a > b
    case '-eq':
      return integer(a) === integer(b)
    case '-ne':
      return integer(a) !== integer(b)
    case '-lt':
      return integer(a) < integer(b)
    case '-le':
      return integer(a) <= integer(b)
    case '-gt':
      return integer(a) > integer(b)
    case '-ge':
      return integer(a) >= integer(b)
  }
  const stat = (p: string): FileStat | undefined => {
    try {
      return ctx.fs.stat(resolvePath(ctx.cwd, p))
    } catch {
      return undefined
    }
  }
  const sa = stat(a)
  const sb = stat(b)
  if (op === '-nt') return sa !== undefined && (sb === undefined || sa.mtimeMs > sb.mtimeMs)
  if (op === '-ot') return sb !== undefined && (sa === undefined || sa.mtimeMs < sb.mtimeMs)
  // -ef
  if (sa === undefined || sb === undefined) return false
  try {
    return ctx.fs.realpath(resolvePath(ctx.cwd, a)) === ctx.fs.realpath(resolvePath(ctx.cwd, b))
  } catch {
    return false
  }
}

/** POSIX test: the rules by argument count, then a recursive descent for longer expressions. */
function evaluate(args: string[], ctx: CommandContext): boolean {
  switch (args.length) {
    case 0:
      return false
    case 1:
      return args[0] !== ''
    case 2: {
      const [a, b] = args as [string, string]
      if (a === '!') return b === ''
      if (UNARY.has(a)) return unary(a, b, ctx)
      throw new TestError(`${a}: unknown operand`)
    }
    case 3: {
      const [a, op, b] = args as [string, string, string]
      if (BINARY.has(op)) return binary(a, op, b, ctx)
      if (a === '!') return !evaluate([op, b], ctx)
      if (a === '(' && b === ')') return op !== ''
      if (op === '-a' || op === '-o') return op === '-a' ? a !== '' && b !== '' : a !== '' || b !== ''
      throw new TestError(`${op}: unknown operand`)
    }
    case 4: {
      if (args[0] === '!') return !evaluate(args.slice(1), ctx)
      if (args[0] === '(' && args[3] === ')') return evaluate(args.slice(1, 3), ctx)
    }
  }
  const p = new Descent(args, ctx)
  const v = p.or()
  if (p.i < args.length) throw new TestError(`${args[p.i]}: unknown operand`)
  return v
}

class Descent {
  i = 0
  constructor(
    readonly args: string[],
    readonly ctx: CommandContext,
  ) {}
  or(): boolean {
    let v = this.and()
    while (this.args[this.i] === '-o') {
      this.i++
      const r = this.and()
      v = v || r
    }
    return v
  }
  and(): boolean {
    let v = this.not()
    while (this.args[this.i] === '-a') {
      this.i++
      const r = this.not()
      v = v && r
    }
    return v
  }
  not(): boolean {
    if (this.args[this.i] === '!') {
      this.i++
      return !this.not()
    }
    return this.primary()
  }
  primary(): boolean {
    const a = this.args[this.i]
    if (a === undefined) throw new TestError('argument expected')
    if (a === '(') {
      this.i++
      const v = this.or()
      if (this.args[this.i] !== ')') throw new TestError('closing paren expected')
      this.i++
      return v
    }
    const next = this.args[this.i + 1]
    if (UNARY.has(a) && next !== undefined && !BINARY.has(next)) {
      this.i += 2
      return unary(a, next, this.ctx)
    }
    if (next !== undefined && BINARY.has(next)) {
      const b = this.args[this.i + 2]
      if (b === undefined) throw new TestError(`${next}: argument expected`)
      this.i += 3
      return binary(a, next, b, this.ctx)
    }
    this.i++
    return a !== ''
  }
}

function makeTest(close: string | undefined): Command {
  return async (args, ctx) => {
    let rest = args.slice(1)
    if (close !== undefined) {
      if (rest[rest.length - 1] !== close) {
        ctx.write('stderr', `${prog(args, ctx)}: missing ${close}\n`)
        return 2
      }
      rest = rest.slice(0, -1)
    }
    try {
      return evaluate(rest, ctx) ? 0 : 1
    } catch (err) {
      if (!(err instanceof TestError)) throw err
      ctx.write('stderr', `${prog(args, ctx)}: ${err.message}\n`)
      return 2
    }
  }
}

export const testCommands: Record<string, Command> = {
  test: makeTest(undefined),
  '[': makeTest(']'),
  '[[': makeTest(']]'),
}

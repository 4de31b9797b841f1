// `find` (busybox's common subset: -name -iname -path -type -maxdepth -mindepth -newer -size -empty,
// ! -not -a -o, -print -print0 -delete -exec CMD {} \; and +) and `mktemp`, over the container's
// filesystem.
import type { Command, CommandContext } from '../context.js'
import type { FileStat } from '../fs/types.js'
import { matchPattern } from '../shell/pattern.js'
import { abs, reason } from './fs-common.js'
import { execArgv } from './runners.js'
import { fail } from './util.js'

interface Hit {
  path: string
  st: FileStat
  depth: number
}

/** A test or action over one hit; actions return true too. */
type Pred = (h: Hit) => boolean | Promise<boolean>

const TYPES: Record<string, FileStat['type']> = { f: 'file', d: 'dir', l: 'symlink', c: 'char' }

/** `-size N[ckMG]`, +N more than, -N less than; without a unit, 512-byte blocks rounded up. */
function sizeTest(arg: string): Pred | undefined {
  const m = /^([+-]?)(\d+)([ckMG]?)$/.exec(arg)
  if (!m) return undefined
  const unit = { '': 512, c: 1, k: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[3]!]!
  const n = Number(m[2])
  return (h) => {
    const size = Math.ceil(h.st.size / unit)
    return m[1] === '+' ? size > n : m[1] === '-' ? size < n : size === n
  }
}

class Parser {
  pos = 0
  maxDepth = Infinity
  minDepth = 0
  hasAction = false
  constructor(
    private readonly args: readonly string[],
    private readonly ctx: CommandContext,
    private readonly batches: string[][],
  ) {}

  or(): Pred {
    let left = this.and()
    while (this.args[this.pos] === '-o' || this.args[this.pos] === '-or') {
      this.pos++
      const a = left
      const b = this.and()
      left = async (h) => (await a(h)) || b(h)
    }
    return left
  }

  and(): Pred {
    let left = this.not()
    for (;;) {
      const t = this.args[this.pos]
      if (t === undefined || t === ')' || t === '-o' || t === '-or') return left
      if (t === '-a' || t === '-and') this.pos++
      const a = left
      const b = this.not()
      left = async (h) => (await a(h)) && b(h)
    }
  }

  not(): Pred {
    const t = this.args[this.pos]
    if (t === '!' || t === '-not') {
      this.pos++
      const p = this.not()
      return async (h) => !(await p(h))
    }
    return this.primary()
  }

  primary(): Pred {
    const t = this.args[this.pos++]
    const value = (): string => {
      const v = this.args[this.pos++]
      if (v === undefined) throw new Error(`missing argument to '${t}'`)
      return v
    }
    switch (t) {
      case '(': {
        const p = this.or()
        if (this.args[this.pos++] !== ')') throw new Error("missing ')'")
        return p
      }
      case '-name': {
        const pat = value()
        return (h) => matchPattern(pat, h.path.split('/').pop() || h.path)
      }
      case '-iname': {
        const pat = value().toLowerCase()
        return (h) => matchPattern(pat, (h.path.split('/').pop() || h.path).toLowerCase())
      }
      case '-path':
      case '-wholename': {
        const pat = value()
        return (h) => matchPattern(pat, h.path)
      }
      case '-type': {
        const v = value()
        const type = TYPES[v]
        if (!type) throw new Error(`invalid argument '${v}' to '-type'`)
        return (h) => h.st.type === type
      }
      case '-maxdepth':
      case '-mindepth': {
        const v = value()
        if (!/^\d+$/.test(v)) throw new Error(`invalid number '${v}'`)
        if (t === '-maxdepth') this.maxDepth = Number(v)
        else this.minDepth = Number(v)
        return () => true
      }
      case '-size': {
        const v = value()
        const p = sizeTest(v)
        if (!p) throw new Error(`invalid argument '${v}' to '-size'`)
        return p
      }
      case '-empty':
        return (h) => (h.st.type === 'dir' ? this.ctx.fs.readdir(h.path).length === 0 : h.st.type === 'file' && h.st.size === 0)
      case '-newer': {
        const ref = this.ctx.fs.stat(abs(this.ctx, value()))
        if (!ref) throw new Error(`${this.args[this.pos - 1]}: No such file or directory`)
        return (h) => h.st.mtimeMs > ref.mtimeMs
      }
      case '-print':
      case '-print0': {
        this.hasAction = true
        const end = t === '-print' ? '\n' : '\0'
        return (h) => (this.ctx.write('stdout', `${h.path}${end}`), true)
      }
      case '-delete':
        this.hasAction = true
        return (h) => {
          try {
            this.ctx.fs.rm(h.path)
            return true
          } catch (err) {
            this.ctx.write('stderr', `find: ${h.path}: ${reason(err)}\n`)
            return false
          }
        }
      case '-exec': {
        this.hasAction = true
        const cmd: string[] = []
        for (let a = this.args[this.pos++]; a !== ';' && a !== '+'; a = this.args[this.pos++]) {
          if (a === undefined) throw new Error("missing argument to '-exec'")
          cmd.push(a)
        }
        if (this.args[this.pos - 1] === '+') {
          const batch: string[] = []
          this.batches.push(
            cmd.flatMap((w) => (w === '{}' ? ['\0batch'] : [w])),
            batch,
          )
          return (h) => (batch.push(h.path), true)
        }
        return async (h) =>
          (await execArgv(
            ['find'],
            cmd.map((w) => w.split('{}').join(h.path)),
            this.ctx,
          )) === 0
      }
      default:
        throw new Error(t === undefined ? 'syntax error' : `unrecognized: ${t}`)
    }
  }
}

export const find: Command = async (args, ctx) => {
  let i = 1
  const roots: string[] = []
  while (i < args.length && !/^[-!(]/.test(args[i]!)) roots.push(args[i++]!)
  if (roots.length === 0) roots.push('.')
  const batches: string[][] = []
  const parser = new Parser(args.slice(i), ctx, batches)
  let pred: Pred
  try {
    pred = parser.pos < args.length - i ? parser.or() : () => true
    if (parser.pos < args.length - i) throw new Error(`unrecognized: ${args[i + parser.pos]}`)
  } catch (err) {
    return fail(args, ctx, (err as Error).message)
  }
  const print = !parser.hasAction
  const deleting = args.includes('-delete')
  let status = 0
  const visit = async (path: string, depth: number): Promise<void> => {
    const st = ctx.fs.lstat(abs(ctx, path))
    if (!st) {
      status = fail(args, ctx, `${path}: No such file or directory`)
      return
    }
    const hit: Hit = { path, st, depth }
    const test = async (): Promise<void> => {
      if (depth >= parser.minDepth && depth <= parser.maxDepth && (await pred({ ...hit, path: hit.path })) && print) {
        ctx.write('stdout', `${path}\n`)
      }
    }
    if (!deleting) await test()
    if (st.type === 'dir' && depth < parser.maxDepth) {
      let names: string[] = []
      try {
        names = ctx.fs.readdir(abs(ctx, path))
      } catch (err) {
        status = fail(args, ctx, `${path}: ${reason(err)}`)
      }
      for (const name of names) await visit(path.endsWith('/') ? `${path}${name}` : `${path}/${name}`, depth + 1)
    }
    // -delete removes a directory's contents before the directory.
    if (deleting) await test()
  }
  for (const root of roots) await visit(root, 0)
  for (let b = 0; b < batches.length; b += 2) {
    const [cmd, paths] = [batches[b]!, batches[b + 1]!]
    if (
      paths.length > 0 &&
      (await execArgv(
        args,
        cmd.flatMap((w) => (w === '\0batch' ? paths : [w])),
        ctx,
      )) !== 0
    )
      status = 1
  }
  return status
}

/** `mktemp [-d] [-p DIR] [-t] [TEMPLATE]`: makes a file (or directory) with the X's replaced; prints its path. */
export const mktemp: Command = async (args, ctx) => {
  let dir = false
  let parent: string | undefined
  let template: string | undefined
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!
    if (a === '-d') dir = true
    else if (a === '-t' || a === '-u' || a === '-q') continue
    else if (a === '-p') parent = args[++i]
    else template = a
  }
  const tmpl = template ?? 'tmp.XXXXXX'
  if (!/X{3,}$/.test(tmpl)) return fail(args, ctx, `${tmpl}: Invalid argument`)
  const base = template === undefined || parent !== undefined || !tmpl.includes('/') ? `${parent ?? ctx.env.TMPDIR ?? '/tmp'}/` : ''
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
  for (let attempt = 0; attempt < 100; attempt++) {
    const name = tmpl.replace(/X+$/, (xs) =>
      Array.from({ length: xs.length }, () => chars[Math.floor(Math.random() * chars.length)]).join(''),
    )
    const path = abs(ctx, `${base}${name}`)
    if (ctx.fs.lstat(path)) continue
    try {
      if (dir) ctx.fs.mkdir(path, { mode: 0o700 })
      else ctx.fs.writeFile(path, '', { mode: 0o600 })
    } catch (err) {
      return fail(args, ctx, `${base}${name}: ${reason(err)}`)
    }
    ctx.write('stdout', `${base}${name}\n`)
    return 0
  }
  return fail(args, ctx, `${tmpl}: File exists`)
}

// Text commands as busybox has them: wc, grep, head, tail (with -f following a file on the
// simulated clock until the process is killed), sed, cut, tr, sort, uniq. Each reads its file
// operands through the container's Fs, or stdin when there are none (or "-").
import type { Command, CommandContext } from '../context.js'
import { FsError } from '../fs/types.js'
import { abs, chunks, has, last, lines, parseCount, parseOptions, reason, usage } from './fs-common.js'
import { posixRegExp } from './fs-regex.js'
import { regexLiteral } from '../shell/pattern.js'

const err = (ctx: CommandContext, text: string): void => ctx.write('stderr', `${text}\n`)
const STDIN_NAME = '(standard input)'

/**
 * Reads an operand as bytes; on failure prints busybox's message and returns undefined. "perror"
 * applets (fopen_or_warn) say "cmd: FILE: reason"; "open" applets (open_or_warn) say
 * "cmd: can't open 'FILE': reason" and "cmd: read error: Is a directory".
 */
async function open(ctx: CommandContext, cmd: string, file: string, style: 'perror' | 'open'): Promise<Buffer | undefined> {
  if (file === '-') return Buffer.from(await ctx.stdin.readAll())
  try {
    return ctx.fs.readFile(abs(ctx, file))
  } catch (e) {
    const dir = e instanceof FsError && e.code === 'EISDIR'
    if (style === 'open') err(ctx, dir ? `${cmd}: read error: Is a directory` : `${cmd}: can't open '${file}': ${reason(e)}`)
    else err(ctx, `${cmd}: ${file}: ${reason(e)}`)
    return undefined
  }
}

/** "-5" as "-n 5" (head and tail's old syntax), "+5" as "-n +5" (tail). */
function legacyCount(args: readonly string[], plus: boolean): string[] {
  const first = args[0]
  if (first !== undefined && (/^-\d+[bkm]?$/.test(first) || (plus && /^\+\d+$/.test(first)))) {
    return ['-n', first.startsWith('+') ? first : first.slice(1), ...args.slice(1)]
  }
  return [...args]
}

// ---- wc ----

const wcSpec = { flags: 'lwcmL', usage: '[-cmlwL] [FILE]...' }

/**
 * wc's counts in one pass (the input may be large: no arrays of its lines or characters): lines,
 * words, characters, bytes, and the longest line (a tab counting as 8).
 */
function countText(text: string, bytes: number): Record<'l' | 'w' | 'm' | 'c' | 'L', number> {
  let l = 0
  let w = 0
  let m = 0
  let longest = 0
  let line = 0
  let inWord = false
  for (const ch of text) {
    m++
    if (ch === '\n') {
      l++
      longest = Math.max(longest, line)
      line = 0
    } else line += ch === '\t' ? 8 : 1
    const code = ch.charCodeAt(0)
    const space = code === 32 || (code >= 9 && code <= 13) || (code > 127 && /\s/.test(ch))
    if (!space && !inWord) w++
    inWord = !space
  }
  return { l, w, m, c: bytes, L: Math.max(longest, line) }
}

export const wc: Command = async (args, ctx) => {
  const o = parseOptions('wc', args.slice(1), wcSpec, ctx)
  if (typeof o === 'number') return o
  // Counts in busybox's order: lines, words, chars, bytes, longest line.
  const order = ['l', 'w', 'm', 'c', 'L'] as const
  const wanted = order.filter((f) => has(o, f))
  const shown = wanted.length > 0 ? wanted : (['l', 'w', 'c'] as const)
  const files = o.operands.length > 0 ? o.operands : ['-']
  const single = files.length === 1 && shown.length === 1
  const totals: Record<string, number> = { l: 0, w: 0, m: 0, c: 0, L: 0 }
  let status = 0
  let out = ''
  const print = (counts: Record<string, number>, name: string | undefined): void => {
    out += shown
      .map((f, i) => (single ? String(counts[f]) : `${i === 0 ? '' : ' '}${String(counts[f]).padStart(9)}`))
      .join(single ? ' ' : '')
    out += name === undefined ? '\n' : ` ${name}\n`
  }
  for (const file of files) {
    let data: Buffer | undefined
    let failed = false
    if (file === '-') data = Buffer.from(await ctx.stdin.readAll())
    else {
      try {
        data = ctx.fs.readFile(abs(ctx, file))
      } catch (e) {
        err(ctx, `wc: ${file}: ${reason(e)}`)
        status = 1
        if (!(e instanceof FsError && e.code === 'EISDIR')) continue
        failed = true
      }
    }
    const counts = failed ? { l: 0, w: 0, m: 0, c: 0, L: 0 } : countText(data?.toString('utf8') ?? '', data?.length ?? 0)
    for (const k of order) totals[k] = k === 'L' ? Math.max(totals.L ?? 0, counts.L) : (totals[k] ?? 0) + counts[k]
    print(counts, file === '-' && o.operands.length === 0 ? undefined : file)
  }
  if (files.length > 1) print(totals, 'total')
  ctx.write('stdout', out)
  return status
}

// ---- grep ----

const grepSpec = { flags: 'ivcqnEFlLhHswxorR', valued: 'em', usage: '[-HhnlLoqvsrRiwFE] [-m N] [-e PTRN]... PATTERN/-e PTRN [FILE]...' }

export const grep: Command = async (args, ctx) => {
  const o = parseOptions('grep', args.slice(1), grepSpec, ctx)
  if (typeof o === 'number') return 2
  const operands = [...o.operands]
  const given = o.values.get('e') ?? (operands.length > 0 ? [operands.shift() as string] : undefined)
  if (given === undefined) {
    usage(ctx, 'grep', grepSpec)
    return 2
  }
  const patterns = given.flatMap((p) => p.split('\n'))
  let regexes: RegExp[]
  try {
    regexes = patterns.map((p) => {
      let src = has(o, 'F') ? regexLiteral(p).replace(/\\\//g, '/') : posixRegExp(p, { extended: has(o, 'E') }).source
      if (has(o, 'w')) src = `(?<![A-Za-z0-9_])(?:${src})(?![A-Za-z0-9_])`
      if (has(o, 'x')) src = `^(?:${src})$`
      return new RegExp(src, `${has(o, 'i') ? 'i' : ''}${has(o, 'o') ? 'g' : ''}`)
    })
  } catch {
    err(ctx, `grep: bad regex '${patterns[0] ?? ''}'`)
    return 2
  }
  const maxCount = last(o, 'm') !== undefined ? Number(last(o, 'm')) : Infinity
  let files = operands.length > 0 ? operands : ['-']
  const recursive = has(o, 'r') || has(o, 'R')
  if (recursive) files = files.flatMap((f) => (f === '-' ? [f] : walkFiles(ctx, f)))
  const prefixName = has(o, 'H') || ((files.length > 1 || recursive) && !has(o, 'h'))
  let matchedAny = false
  let errors = false
  let out = ''
  for (const file of files) {
    let text: string
    if (file === '-') text = await ctx.stdin.readAll()
    else {
      try {
        text = ctx.fs.readFile(abs(ctx, file)).toString('utf8')
      } catch (e) {
        if (!has(o, 's')) err(ctx, `grep: ${file}: ${reason(e)}`)
        errors = true
        continue
      }
    }
    const name = file === '-' ? STDIN_NAME : file
    let count = 0
    for (const [i, line] of lines(text).entries()) {
      if (count >= maxCount) break
      const hit = regexes.some((re) => {
        re.lastIndex = 0
        return re.test(line)
      })
      if (hit === has(o, 'v')) continue
      count++
      matchedAny = true
      if (has(o, 'q')) {
        ctx.write('stdout', out)
        return 0
      }
      if (has(o, 'l') || has(o, 'L') || has(o, 'c')) continue
      const prefix = `${prefixName ? `${name}:` : ''}${has(o, 'n') ? `${i + 1}:` : ''}`
      if (has(o, 'o') && !has(o, 'v')) {
        for (const re of regexes) {
          re.lastIndex = 0
          for (const m of line.matchAll(re)) if (m[0] !== '') out += `${prefix}${m[0]}\n`
        }
      } else out += `${prefix}${line}\n`
    }
    if (has(o, 'c')) out += `${prefixName ? `${name}:` : ''}${count}\n`
    if (has(o, 'l') && count > 0) out += `${name}\n`
    if (has(o, 'L') && count === 0) out += `${name}\n`
  }
  ctx.write('stdout', out)
  if (errors && !has(o, 'q')) return 2
  return matchedAny ? 0 : 1
}

/** A directory operand's files, depth first in name order (grep -r); symlinks below it are not followed. */
function walkFiles(ctx: CommandContext, top: string): string[] {
  const out: string[] = []
  const walk = (shown: string, first: boolean): void => {
    const st = first ? ctx.fs.stat(abs(ctx, shown)) : ctx.fs.lstat(abs(ctx, shown))
    if (st?.type !== 'dir') {
      if (first || st?.type === 'file') out.push(shown)
      return
    }
    let names: string[] = []
    try {
      names = ctx.fs.readdir(abs(ctx, shown))
    } catch {
      out.push(shown)
      return
    }
    for (const n of names) walk(shown.endsWith('/') ? `${shown}${n}` : `${shown}/${n}`, false)
  }
  walk(top, true)
  return out
}

// ---- head, tail ----

const headSpec = { flags: 'qv', valued: 'nc', usage: '[OPTIONS] [FILE]...' }

export const head: Command = async (args, ctx) => {
  const o = parseOptions('head', legacyCount(args.slice(1), false), headSpec, ctx)
  if (typeof o === 'number') return o
  const bytesText = last(o, 'c')
  const countText = bytesText ?? last(o, 'n') ?? '10'
  const negative = countText.startsWith('-')
  const count = parseCount(countText.replace(/^[-+]/, ''))
  if (count === undefined) {
    err(ctx, `head: invalid number '${countText}'`)
    return 1
  }
  const bytes = bytesText !== undefined
  const files = o.operands.length > 0 ? o.operands : ['-']
  const headers = has(o, 'v') || (files.length > 1 && !has(o, 'q'))
  const cut = (text: string): string => {
    if (bytes) {
      const b = Buffer.from(text)
      return (negative ? b.subarray(0, Math.max(0, b.length - count)) : b.subarray(0, count)).toString('utf8')
    }
    const parts = text.split(/(?<=\n)/)
    return (negative ? parts.slice(0, Math.max(0, parts.length - count)) : parts.slice(0, count)).join('')
  }
  let status = 0
  let first = true
  for (const file of files) {
    if (file === '-' && !negative && count > 0) {
      // Stops reading once it has enough (a pipe from an endless writer ends here).
      if (headers) ctx.write('stdout', `${first ? '' : '\n'}==> ${STDIN_NAME} <==\n`)
      first = false
      let left = count
      for await (const chunk of chunks(ctx)) {
        let piece: string
        if (bytes) {
          piece = Buffer.from(chunk).subarray(0, left).toString('utf8')
          left -= Buffer.byteLength(piece)
        } else {
          let end = 0
          while (left > 0 && end < chunk.length) {
            const nl = chunk.indexOf('\n', end)
            if (nl === -1) {
              end = chunk.length
              break
            }
            end = nl + 1
            left--
          }
          piece = chunk.slice(0, end)
        }
        ctx.write('stdout', piece)
        if (left <= 0) break
      }
      continue
    }
    const data = await open(ctx, 'head', file, 'perror')
    if (data === undefined) {
      status = 1
      continue
    }
    if (headers) ctx.write('stdout', `${first ? '' : '\n'}==> ${file === '-' ? STDIN_NAME : file} <==\n`)
    first = false
    ctx.write('stdout', cut(data.toString('utf8')))
  }
  return status
}

const tailSpec = { flags: 'fFqv', valued: 'ncs', usage: '[OPTIONS] [FILE]...' }

export const tail: Command = async (args, ctx) => {
  const o = parseOptions('tail', legacyCount(args.slice(1), true), tailSpec, ctx)
  if (typeof o === 'number') return o
  const bytesText = last(o, 'c')
  const countText = bytesText ?? last(o, 'n') ?? '10'
  const fromTop = countText.startsWith('+')
  const count = parseCount(countText.replace(/^[-+]/, ''))
  if (count === undefined) {
    err(ctx, `tail: invalid number '${countText}'`)
    return 1
  }
  const bytes = bytesText !== undefined
  const sleepMs = (last(o, 's') !== undefined ? Number(last(o, 's')) : 1) * 1000
  const files = o.operands.length > 0 ? o.operands : ['-']
  const follow = (has(o, 'f') || has(o, 'F')) && !(files.length === 1 && files[0] === '-')
  const headers = has(o, 'v') || (files.length > 1 && !has(o, 'q'))
  const cut = (data: Buffer): Buffer => {
    if (bytes) return fromTop ? data.subarray(Math.max(0, count - 1)) : data.subarray(Math.max(0, data.length - count))
    const parts = data.toString('utf8').split(/(?<=\n)/)
    const kept = fromTop ? parts.slice(Math.max(0, count - 1)) : parts.slice(Math.max(0, parts.length - count))
    return Buffer.from(kept.join(''))
  }
  let status = 0
  let header = '==> %s <==\n'
  const opened: { file: string; pos: number }[] = []
  for (const file of files) {
    const data = await open(ctx, 'tail', file, 'open')
    if (data === undefined) {
      status = 1
      continue
    }
    if (headers) ctx.write('stdout', header.replace('%s', file === '-' ? STDIN_NAME : file))
    header = '\n==> %s <==\n'
    ctx.write('stdout', cut(data).toString('utf8'))
    opened.push({ file, pos: data.length })
  }
  if (opened.length === 0) {
    err(ctx, 'tail: no files')
    return 1
  }
  if (!follow) return status
  let previous = opened[opened.length - 1]
  // Follow until killed: the sleep rejects when the process ends, which ends this command.
  for (;;) {
    await ctx.clock.sleep(sleepMs, ctx.signal)
    for (const f of opened) {
      let data: Buffer
      try {
        data = ctx.fs.readFile(abs(ctx, f.file))
      } catch {
        continue
      }
      if (data.length < f.pos) f.pos = 0 // truncated: follow from its start
      if (data.length === f.pos) continue
      if (headers && previous !== f) ctx.write('stdout', `\n==> ${f.file} <==\n`)
      previous = f
      ctx.write('stdout', data.subarray(f.pos).toString('utf8'))
      f.pos = data.length
    }
  }
}

// ---- sed ----

type Addr = { line: number } | { last: true } | { re: RegExp | null }

interface SedCmd {
  a1?: Addr
  a2?: Addr
  negate: boolean
  cmd: string
  active: boolean
  re?: RegExp | null
  replacement?: (m: RegExpExecArray) => string
  global?: boolean
  nth?: number
  print?: boolean
  text?: string
  from?: string
  to?: string
  block?: SedCmd[]
}

class SedError extends Error {}

/** Parses a sed script (busybox's subset: s y p d q Q = a i c n N h H g G x { } and # comments). */
export function parseSed(script: string, extended: boolean): SedCmd[] {
  let i = 0
  const peek = (): string => script[i] ?? ''
  const skipSpace = (): void => {
    while (i < script.length && /[ \t]/.test(peek())) i++
  }
  /** Text up to an unescaped delimiter; "\<delim>" becomes the delimiter, other escapes stay. */
  const delimited = (delim: string, forRegex: boolean): string => {
    let out = ''
    while (i < script.length && peek() !== delim) {
      if (peek() === '\\' && i + 1 < script.length) {
        const n = script[i + 1] as string
        if (n === delim) out += forRegex && '.*[]^$+?(){}|'.includes(n) ? `[${n}]` : n
        else if (n === 'n' && !forRegex) out += '\n'
        else out += `\\${n}`
        i += 2
        continue
      }
      if (peek() === '\n' && !forRegex) {
        out += '\n'
        i++
        continue
      }
      out += peek()
      i++
    }
    if (peek() !== delim) throw new SedError(`unmatched '${delim}'`)
    i++
    return out
  }
  let lastRe: RegExp | null = null
  const regex = (src: string, flags = ''): RegExp | null => {
    if (src === '') return null // the last regex used
    try {
      return posixRegExp(src, { extended, ignoreCase: flags.includes('i') })
    } catch {
      throw new SedError(`bad regex '${src}'`)
    }
  }
  const address = (): Addr | undefined => {
    if (/\d/.test(peek())) {
      const m = /^\d+/.exec(script.slice(i)) as RegExpExecArray
      i += m[0].length
      return { line: Number(m[0]) }
    }
    if (peek() === '$') {
      i++
      return { last: true }
    }
    if (peek() === '/' || peek() === '\\') {
      if (peek() === '\\') i++
      const delim = peek()
      i++
      const re = regex(delimited(delim, true))
      let flags = ''
      while (peek() === 'I') {
        flags += 'i'
        i++
      }
      lastRe = re ?? lastRe
      return { re: flags ? regex(re?.source ?? '', flags) : re }
    }
    return undefined
  }
  const textArg = (): string => {
    skipSpace()
    if (peek() === '\\') {
      i++
      if (peek() === '\n') i++
    }
    let out = ''
    while (i < script.length && peek() !== '\n') {
      if (peek() === '\\' && i + 1 < script.length) {
        out += script[i + 1]
        i += 2
        continue
      }
      out += peek()
      i++
    }
    return out
  }
  const parseBlock = (inBlock: boolean): SedCmd[] => {
    const cmds: SedCmd[] = []
    for (;;) {
      while (i < script.length && /[\s;]/.test(peek())) i++
      if (i >= script.length) {
        if (inBlock) throw new SedError('unmatched {')
        return cmds
      }
      if (peek() === '#') {
        while (i < script.length && peek() !== '\n') i++
        continue
      }
      if (peek() === '}') {
        if (!inBlock) throw new SedError('unexpected }')
        i++
        return cmds
      }
      const c: SedCmd = { negate: false, cmd: '', active: false }
      const a1 = address()
      if (a1) {
        c.a1 = a1
        if (peek() === ',') {
          i++
          const a2 = address()
          if (!a2) throw new SedError('unexpected ,')
          c.a2 = a2
        }
      }
      skipSpace()
      while (peek() === '!') {
        c.negate = true
        i++
        skipSpace()
      }
      c.cmd = peek()
      i++
      switch (c.cmd) {
        case '{':
          c.block = parseBlock(true)
          break
        case 's': {
          const delim = peek()
          if (delim === '' || delim === '\n' || delim === '\\') throw new SedError('bad format in substitution expression')
          i++
          const reSrc = delimited(delim, true)
          const rep = delimited(delim, false)
          let flags = ''
          while (/[gpiI0-9]/.test(peek()) && peek() !== '') flags += script[i++]
          c.re = regex(reSrc, flags.toLowerCase())
          if (c.re) lastRe = c.re
          c.global = flags.includes('g')
          c.print = flags.includes('p')
          const nth = /\d+/.exec(flags)
          if (nth) c.nth = Number(nth[0])
          c.replacement = replacement(rep)
          break
        }
        case 'y': {
          const delim = peek()
          i++
          c.from = delimited(delim, false)
          c.to = delimited(delim, false)
          if ([...c.from].length !== [...c.to].length) throw new SedError('strings for y command are different lengths')
          break
        }
        case 'a':
        case 'i':
        case 'c':
          c.text = textArg()
          break
        case 'p':
        case 'd':
        case 'D':
        case 'q':
        case 'Q':
        case '=':
        case 'n':
        case 'N':
        case 'h':
        case 'H':
        case 'g':
        case 'G':
        case 'x':
        case 'P':
          break
        case '':
          throw new SedError('missing command')
        default:
          throw new SedError(`unsupported command ${c.cmd}`)
      }
      cmds.push(c)
      void lastRe
    }
  }
  return parseBlock(false)
}

/** A replacement: & the match, \1..\9 groups, \n a newline, other escapes the character. */
function replacement(rep: string): (m: RegExpExecArray) => string {
  const parts: (string | number)[] = []
  let lit = ''
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i] as string
    if (c === '\\' && i + 1 < rep.length) {
      const n = rep[++i] as string
      if (/\d/.test(n)) {
        parts.push(lit, Number(n))
        lit = ''
      } else lit += n === 'n' ? '\n' : n === 't' ? '\t' : n
    } else if (c === '&') {
      parts.push(lit, 0)
      lit = ''
    } else lit += c
  }
  parts.push(lit)
  return (m) => parts.map((p) => (typeof p === 'number' ? (m[p] ?? '') : p)).join('')
}

interface SedInput {
  lines: string[]
  /** Whether the last line ended without a newline. */
  noNewline: boolean
}

/** Runs a parsed script over lines; returns the output text. */
export function runSed(cmds: SedCmd[], input: SedInput, quiet: boolean): string {
  let out = ''
  let hold = ''
  let lastRe: RegExp | null = null
  const src = input.lines
  let n = 0
  let quit = false
  const emit = (text: string): void => {
    out += `${text}\n`
  }
  const matchAddr = (a: Addr, lineNo: number, ps: string): boolean => {
    if ('line' in a) return lineNo === a.line
    if ('last' in a) return lineNo === src.length
    const re = a.re ?? lastRe
    if (!re) throw new SedError('no previous regexp')
    lastRe = re
    re.lastIndex = 0
    return re.test(ps)
  }
  const selected = (c: SedCmd, lineNo: number, ps: string): boolean => {
    let hit: boolean
    if (!c.a1) hit = true
    else if (!c.a2) hit = matchAddr(c.a1, lineNo, ps)
    else if (c.active) {
      hit = true
      if ('line' in c.a2 ? lineNo >= c.a2.line : matchAddr(c.a2, lineNo, ps)) c.active = false
    } else if (matchAddr(c.a1, lineNo, ps)) {
      hit = true
      c.active = !('line' in c.a2 && c.a2.line <= lineNo)
    } else hit = false
    return hit !== c.negate
  }
  while (n < src.length && !quit) {
    let ps = src[n] as string
    n++
    let deleted = false
    let autoprint = !quiet
    const appends: string[] = []
    const exec = (cmds: SedCmd[]): boolean => {
      for (const c of cmds) {
        if (!selected(c, n, ps)) continue
        switch (c.cmd) {
          case '{':
            if (!exec(c.block ?? [])) return false
            break
          case 'p':
            emit(ps)
            break
          case 'P':
            emit(ps.split('\n')[0] ?? '')
            break
          case 'd':
            deleted = true
            return false
          case 'D': {
            const nl = ps.indexOf('\n')
            if (nl === -1) {
              deleted = true
              return false
            }
            src.splice(n, 0, ps.slice(nl + 1))
            deleted = true
            return false
          }
          case 's': {
            const re = c.re ?? lastRe
            if (!re) throw new SedError('no previous regexp')
            lastRe = re
            const g = new RegExp(re.source, `g${re.flags.replace('g', '')}`)
            let count = 0
            let changed = false
            ps = ps.replace(g, (...m: unknown[]) => {
              count++
              const whole = m[0] as string
              const groupsEnd = m.findIndex((v, k) => k > 0 && typeof v === 'number')
              const exec = m.slice(0, groupsEnd) as unknown as RegExpExecArray
              if (c.nth !== undefined ? count === c.nth || (c.global === true && count > c.nth) : c.global || count === 1) {
                changed = true
                return (c.replacement as (m: RegExpExecArray) => string)(exec)
              }
              return whole
            })
            if (changed && c.print) emit(ps)
            break
          }
          case 'y': {
            const from = [...(c.from ?? '')]
            const to = [...(c.to ?? '')]
            ps = [...ps].map((ch) => (from.includes(ch) ? (to[from.indexOf(ch)] as string) : ch)).join('')
            break
          }
          case 'q':
            quit = true
            return false
          case 'Q':
            quit = true
            autoprint = false
            return false
          case '=':
            out += `${n}\n`
            break
          case 'a':
            appends.push(c.text ?? '')
            break
          case 'i':
            emit(c.text ?? '')
            break
          case 'c':
            if (!c.a2 || !c.active) emit(c.text ?? '')
            deleted = true
            return false
          case 'n':
            if (autoprint) emit(ps)
            if (n >= src.length) {
              quit = true
              autoprint = false
              return false
            }
            ps = src[n] as string
            n++
            break
          case 'N':
            if (n >= src.length) {
              quit = true
              return false
            }
            ps = `${ps}\n${src[n] as string}`
            n++
            break
          case 'h':
            hold = ps
            break
          case 'H':
            hold = `${hold}\n${ps}`
            break
          case 'g':
            ps = hold
            break
          case 'G':
            ps = `${ps}\n${hold}`
            break
          case 'x':
            ;[ps, hold] = [hold, ps]
            break
        }
      }
      return true
    }
    exec(cmds)
    if (!deleted && autoprint) emit(ps)
    for (const a of appends) emit(a)
  }
  if (input.noNewline && out.endsWith('\n') && n >= src.length) out = out.slice(0, -1)
  return out
}

const sedSpec = {
  flags: 'nrEsi',
  valued: 'ef',
  usage: '[-i[SFX]] [-nrE] [-f FILE]... [-e CMD]... [FILE]...\nor: sed [-i[SFX]] [-nrE] CMD [FILE]...',
}

const splitInput = (text: string): SedInput => ({ lines: lines(text), noNewline: text !== '' && !text.endsWith('\n') })

export const sed: Command = async (args, ctx) => {
  // -i takes an optional backup suffix glued to it (-i.bak).
  let backup: string | undefined
  const rest = args.slice(1).map((a) => {
    const m = /^-i(.+)$/.exec(a)
    if (m && !/^-i[nrEs]*$/.test(a)) {
      backup = m[1]
      return '-i'
    }
    return a
  })
  const o = parseOptions('sed', rest, sedSpec, ctx)
  if (typeof o === 'number') return o
  const operands = [...o.operands]
  const pieces: string[] = [...(o.values.get('e') ?? [])]
  for (const f of o.values.get('f') ?? []) {
    try {
      pieces.push((f === '-' ? await ctx.stdin.readAll() : ctx.fs.readFile(abs(ctx, f)).toString('utf8')).replace(/\n$/, ''))
    } catch (e) {
      err(ctx, `sed: can't open '${f}': ${reason(e)}`)
      return 1
    }
  }
  if (pieces.length === 0) {
    const script = operands.shift()
    if (script === undefined) return usage(ctx, 'sed', sedSpec)
    pieces.push(script)
  }
  const extended = has(o, 'r') || has(o, 'E')
  let cmds: SedCmd[]
  try {
    cmds = parseSed(pieces.join('\n'), extended)
  } catch (e) {
    err(ctx, `sed: ${(e as Error).message}`)
    return 1
  }
  const quiet = has(o, 'n')
  const inPlace = has(o, 'i')
  if (inPlace && operands.length === 0) {
    err(ctx, 'sed: -i requires an argument')
    return 1
  }
  let status = 0
  try {
    if (inPlace || has(o, 's')) {
      for (const file of operands) {
        const data = await open(ctx, 'sed', file, 'perror')
        if (data === undefined) {
          status = 1
          continue
        }
        for (const c of cmds) c.active = false
        const text = runSed(cmds, splitInput(data.toString('utf8')), quiet)
        if (!inPlace) {
          ctx.write('stdout', text)
          continue
        }
        const p = abs(ctx, file)
        try {
          if (backup !== undefined) ctx.fs.writeFile(`${p}${backup}`, data)
          ctx.fs.writeFile(p, text)
        } catch (e) {
          err(ctx, `sed: can't create '${file}': ${reason(e)}`)
          status = 4
        }
      }
      return status
    }
    let text = ''
    for (const file of operands.length > 0 ? operands : ['-']) {
      const data = await open(ctx, 'sed', file, 'perror')
      if (data === undefined) {
        status = 1
        continue
      }
      const t = data.toString('utf8')
      text += text !== '' && !text.endsWith('\n') ? `\n${t}` : t
    }
    ctx.write('stdout', runSed(cmds, splitInput(text), quiet))
  } catch (e) {
    if (!(e instanceof SedError)) throw e
    err(ctx, `sed: ${e.message}`)
    return 1
  }
  return status
}

// ---- cut ----

const cutSpec = { flags: 'sn', valued: 'dfcb', usage: '[OPTIONS] [FILE]...' }

/** "1,3-5,7-" as a test for 1-based positions; undefined when malformed. */
function positions(list: string): ((n: number) => boolean) | undefined {
  const ranges: [number, number][] = []
  for (const part of list.split(',')) {
    const m = /^(\d*)(-?)(\d*)$/.exec(part)
    if (!m || part === '' || part === '-') return undefined
    const from = m[1] ? Number(m[1]) : 1
    const to = m[2] ? (m[3] ? Number(m[3]) : Infinity) : from
    if (from < 1 || to < from) return undefined
    ranges.push([from, to])
  }
  return (n) => ranges.some(([a, b]) => n >= a && n <= b)
}

export const cut: Command = async (args, ctx) => {
  const o = parseOptions('cut', args.slice(1), cutSpec, ctx)
  if (typeof o === 'number') return o
  const fields = last(o, 'f')
  const chars = last(o, 'c') ?? last(o, 'b')
  if ((fields === undefined) === (chars === undefined)) {
    err(ctx, 'cut: expected a list of bytes, characters, or fields')
    return 1
  }
  const list = (fields ?? chars) as string
  const pick = positions(list)
  if (!pick) {
    err(ctx, `cut: invalid range '${list}'`)
    return 1
  }
  const delim = last(o, 'd') ?? '\t'
  if ([...delim].length !== 1) {
    err(ctx, 'cut: the delimiter must be a single character')
    return 1
  }
  let status = 0
  let out = ''
  for (const file of o.operands.length > 0 ? o.operands : ['-']) {
    const data = await open(ctx, 'cut', file, 'perror')
    if (data === undefined) {
      status = 1
      continue
    }
    for (const line of lines(data.toString('utf8'))) {
      if (fields === undefined) {
        out += `${[...line].filter((_c, k) => pick(k + 1)).join('')}\n`
        continue
      }
      if (!line.includes(delim)) {
        if (!has(o, 's')) out += `${line}\n`
        continue
      }
      out += `${line
        .split(delim)
        .filter((_f, k) => pick(k + 1))
        .join(delim)}\n`
    }
  }
  ctx.write('stdout', out)
  return status
}

// ---- tr ----

const trSpec = { flags: 'cCds', usage: '[-cds] STRING1 [STRING2]' }

const TR_CLASSES: Readonly<Record<string, (c: number) => boolean>> = {
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  digit: (c) => c >= 48 && c <= 57,
  alnum: (c) => TR_CLASSES.alpha!(c) || TR_CLASSES.digit!(c),
  upper: (c) => c >= 65 && c <= 90,
  lower: (c) => c >= 97 && c <= 122,
  space: (c) => c === 32 || (c >= 9 && c <= 13),
  blank: (c) => c === 32 || c === 9,
  punct: (c) => c > 32 && c < 127 && !TR_CLASSES.alnum!(c),
  print: (c) => c >= 32 && c < 127,
  graph: (c) => c > 32 && c < 127,
  cntrl: (c) => c < 32 || c === 127,
  xdigit: (c) => TR_CLASSES.digit!(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
}

/** Expands a tr set: escapes, ranges (a-z), classes ([:upper:]). */
export function expandSet(set: string): string[] {
  const out: string[] = []
  const chars: string[] = []
  for (let i = 0; i < set.length; i++) {
    const c = set[i] as string
    if (c === '[' && set[i + 1] === ':') {
      const end = set.indexOf(':]', i + 2)
      const test = end === -1 ? undefined : TR_CLASSES[set.slice(i + 2, end)]
      if (test) {
        for (let k = 0; k < 128; k++) if (test(k)) chars.push(`\0class${String.fromCharCode(k)}`)
        i = end + 1
        continue
      }
    }
    if (c === '\\' && i + 1 < set.length) {
      const n = set[++i] as string
      const oct = /^[0-7]{1,3}/.exec(set.slice(i))
      if (oct) {
        chars.push(String.fromCharCode(parseInt(oct[0], 8)))
        i += oct[0].length - 1
      } else chars.push(({ n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' } as Record<string, string>)[n] ?? n)
      continue
    }
    chars.push(c)
  }
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string
    if (c.startsWith('\0class')) {
      out.push(c.slice(6))
      continue
    }
    const to = chars[i + 2]
    if (chars[i + 1] === '-' && to !== undefined && !to.startsWith('\0class')) {
      const a = c.codePointAt(0) as number
      const b = to.codePointAt(0) as number
      for (let k = a; k <= b; k++) out.push(String.fromCodePoint(k))
      i += 2
      continue
    }
    out.push(c)
  }
  return out
}

export const tr: Command = async (args, ctx) => {
  const o = parseOptions('tr', args.slice(1), trSpec, ctx)
  if (typeof o === 'number') return o
  const [s1, s2] = o.operands
  const del = has(o, 'd')
  const squeeze = has(o, 's')
  if (s1 === undefined || (!del && !squeeze && s2 === undefined)) return usage(ctx, 'tr', trSpec)
  const complement = has(o, 'c') || has(o, 'C')
  const set1 = new Set(expandSet(s1))
  const in1 = (ch: string): boolean => set1.has(ch) !== complement
  const set2 = s2 === undefined ? [] : expandSet(s2)
  const text = await ctx.stdin.readAll()
  let out = ''
  const squeezeSet = new Set(del || s2 === undefined ? (del ? set2 : [...set1]) : set2)
  const list1 = [...set1]
  for (const ch of text) {
    let c: string | undefined = ch
    if (del) {
      if (in1(ch)) c = undefined
    } else if (s2 !== undefined && in1(ch)) {
      const k = complement ? set2.length - 1 : list1.indexOf(ch)
      c = set2[Math.min(k, set2.length - 1)] ?? ch
    }
    if (c === undefined) continue
    if (squeeze && (squeezeSet.has(c) || (s2 === undefined && !del && in1(c))) && out.endsWith(c)) continue
    out += c
  }
  ctx.write('stdout', out)
  return 0
}

// ---- sort, uniq ----

const sortSpec = { flags: 'nrufbsdgc', valued: 'ktoT', usage: '[-nrugMcszbdfiokt] [-o FILE] [-k START[,END]] [-t CHAR] [FILE]...' }

/** The leading number of a line, as sort -n reads it (none is 0). */
const leadingNumber = (s: string): number => {
  const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+))/.exec(s)
  return m ? Number(m[1]) : 0
}

const cmpBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export const sort: Command = async (args, ctx) => {
  const o = parseOptions('sort', args.slice(1), sortSpec, ctx)
  if (typeof o === 'number') return 2
  let text = ''
  for (const file of o.operands.length > 0 ? o.operands : ['-']) {
    const data = await open(ctx, 'sort', file, 'perror')
    if (data === undefined) return 2
    const t = data.toString('utf8')
    text += text !== '' && !text.endsWith('\n') ? `\n${t}` : t
  }
  const sep = last(o, 't')
  const keySpec = last(o, 'k')
  let key = (line: string): string => line
  if (keySpec !== undefined) {
    const m = /^(\d+)(?:\.\d+)?[a-z]*(?:,(\d+)(?:\.\d+)?[a-z]*)?$/.exec(keySpec)
    if (!m) {
      err(ctx, `sort: bad field specification '${keySpec}'`)
      return 2
    }
    const from = Number(m[1])
    const to = m[2] !== undefined ? Number(m[2]) : Infinity
    key = (line) => {
      const fields = sep !== undefined ? line.split(sep) : (line.match(/\s*\S+/g) ?? [])
      return fields.slice(from - 1, to === Infinity ? undefined : to).join(sep ?? '')
    }
  }
  const fold = has(o, 'f')
  const blanks = has(o, 'b')
  const compareKeys = (a: string, b: string): number => {
    let ka = key(a)
    let kb = key(b)
    if (blanks) {
      ka = ka.trimStart()
      kb = kb.trimStart()
    }
    if (has(o, 'n') || has(o, 'g')) return Math.sign(leadingNumber(ka) - leadingNumber(kb))
    return fold ? cmpBytes(ka.toUpperCase(), kb.toUpperCase()) : cmpBytes(ka, kb)
  }
  const reverse = has(o, 'r') ? -1 : 1
  const unique = has(o, 'u')
  const input = lines(text)
  if (has(o, 'c')) {
    for (let i = 1; i < input.length; i++) {
      const c = compareKeys(input[i - 1] as string, input[i] as string) * reverse
      if (c > 0 || (unique && c === 0)) {
        err(ctx, `sort: -:${i + 1}: disorder: ${input[i] as string}`)
        return 1
      }
    }
    return 0
  }
  const sorted = input
    .map((line, i) => ({ line, i }))
    .sort((a, b) => {
      const c = compareKeys(a.line, b.line)
      if (c !== 0 || unique || has(o, 's')) return c * reverse || a.i - b.i
      return cmpBytes(a.line, b.line) * reverse || a.i - b.i
    })
    .map((e) => e.line)
  const kept = unique ? sorted.filter((l, i) => i === 0 || compareKeys(sorted[i - 1] as string, l) !== 0) : sorted
  const result = kept.map((l) => `${l}\n`).join('')
  const outFile = last(o, 'o')
  if (outFile !== undefined) {
    try {
      ctx.fs.writeFile(abs(ctx, outFile), result)
    } catch (e) {
      err(ctx, `sort: can't open '${outFile}': ${reason(e)}`)
      return 2
    }
    return 0
  }
  ctx.write('stdout', result)
  return 0
}

const uniqSpec = { flags: 'cduiz', valued: 'fsw', usage: '[-cduiz] [-f,s,w N] [FILE [OUTFILE]]' }

export const uniq: Command = async (args, ctx) => {
  const o = parseOptions('uniq', args.slice(1), uniqSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length > 2) return usage(ctx, 'uniq', uniqSpec)
  const [input = '-', output] = o.operands
  const data = await open(ctx, 'uniq', input, 'open')
  if (data === undefined) return 1
  const skipFields = Number(last(o, 'f') ?? 0)
  const skipChars = Number(last(o, 's') ?? 0)
  const maxChars = last(o, 'w') !== undefined ? Number(last(o, 'w')) : Infinity
  const compareKey = (line: string): string => {
    let s = line
    for (let k = 0; k < skipFields; k++) s = s.replace(/^\s*\S*/, '')
    s = s.slice(skipChars).slice(0, maxChars === Infinity ? undefined : maxChars)
    return has(o, 'i') ? s.toLowerCase() : s
  }
  let out = ''
  const all = lines(data.toString('utf8'))
  for (let i = 0; i < all.length;) {
    const line = all[i] as string
    let j = i + 1
    while (j < all.length && compareKey(all[j] as string) === compareKey(line)) j++
    const dups = j - i - 1
    const show = dups > 0 ? !has(o, 'u') : !has(o, 'd')
    if (show) out += `${has(o, 'c') ? `${String(dups + 1).padStart(7)} ` : ''}${line}\n`
    i = j
  }
  if (output !== undefined && output !== '-') {
    try {
      ctx.fs.writeFile(abs(ctx, output), out)
    } catch (e) {
      err(ctx, `uniq: can't open '${output}': ${reason(e)}`)
      return 1
    }
    return 0
  }
  ctx.write('stdout', out)
  return 0
}

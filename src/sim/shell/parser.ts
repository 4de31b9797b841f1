// A recursive-descent parser for the POSIX sh subset busybox ash scripts use. Neither npm build of
// mvdan/sh fits (see the report in the commit that added this file): this one is synchronous, takes
// microseconds for a typical `sh -c` line, and reports syntax errors in busybox's words
// ("unexpected "fi"", "unexpected end of file (expecting "done")").
import type { AndOr, Assign, Command, List, ParamOp, ParamPart, Part, Pipeline, Redir, RedirOp, Word } from './ast.js'

export class ShellSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message)
  }
}

type Token =
  | { k: 'word'; word: Word; raw: string; line: number }
  | { k: 'op'; op: string; line: number }
  | { k: 'redir'; op: RedirOp; fd?: number; line: number }
  | { k: 'eof'; line: number }

export const KEYWORDS = new Set([
  '!',
  '{',
  '}',
  'case',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'fi',
  'for',
  'function',
  'if',
  'in',
  'then',
  'until',
  'while',
])
const META = new Set([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')'])
const OPS = ['<<-', '&&', '||', ';;', '<<', '>>', '<&', '>&', '<>', '>|', '&>', ';', '&', '|', '(', ')', '<', '>']
const REDIRS = new Set(['<<-', '<<', '>>', '<&', '>&', '<>', '>|', '&>', '<', '>'])
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

interface PendingHeredoc {
  redir: Redir
  delim: string
  strip: boolean
  quoted: boolean
}

class Parser {
  #tok: Token | undefined
  #pending: PendingHeredoc[] = []

  constructor(
    readonly src: string,
    public pos = 0,
    public line = 1,
  ) {}

  // ---- tokens

  peek(): Token {
    return (this.#tok ??= this.#lex())
  }

  next(): Token {
    const t = this.peek()
    this.#tok = undefined
    return t
  }

  #lex(): Token {
    const src = this.src
    for (;;) {
      const c = src[this.pos]
      if (c === ' ' || c === '\t') this.pos++
      else if (c === '\\' && src[this.pos + 1] === '\n') {
        this.pos += 2
        this.line++
      } else if (c === '#') {
        while (this.pos < src.length && src[this.pos] !== '\n') this.pos++
      } else break
    }
    const line = this.line
    const c = src[this.pos]
    if (c === undefined) return { k: 'eof', line }
    if (c === '\n') {
      this.pos++
      this.line++
      if (this.#pending.length > 0) this.#readHeredocs()
      return { k: 'op', op: '\n', line }
    }
    const op = OPS.find((o) => src.startsWith(o, this.pos))
    if (op !== undefined) {
      this.pos += op.length
      return REDIRS.has(op) ? { k: 'redir', op: op as RedirOp, line } : { k: 'op', op, line }
    }
    const start = this.pos
    const word = this.#scanWord((ch) => META.has(ch), true)
    const raw = src.slice(start, this.pos)
    const next = src[this.pos]
    if ((next === '<' || next === '>') && /^\d+$/.test(raw)) {
      const rop = OPS.find((o) => REDIRS.has(o) && o !== '&>' && src.startsWith(o, this.pos)) as RedirOp
      this.pos += rop.length
      return { k: 'redir', op: rop, fd: Number(raw), line }
    }
    return { k: 'word', word, raw, line }
  }

  #readHeredocs(): void {
    const src = this.src
    for (const h of this.#pending) {
      let body = ''
      while (this.pos < src.length) {
        const eol = src.indexOf('\n', this.pos)
        const end = eol === -1 ? src.length : eol
        let text = src.slice(this.pos, end)
        this.pos = eol === -1 ? src.length : eol + 1
        this.line++
        if (h.strip) text = text.replace(/^\t+/, '')
        if (text === h.delim) break
        body += `${text}\n`
      }
      h.redir.heredoc = { quoted: h.quoted, body: h.quoted ? [{ t: 'q', v: body }] : quotedText(body, '$`\\\n', this.line) }
    }
    this.#pending = []
  }

  // ---- words

  /** Scans a word up to an unquoted character `stop` accepts. */
  #scanWord(stop: (c: string) => boolean, atStart: boolean): Word {
    const src = this.src
    const parts: Part[] = []
    let lit = ''
    const flush = (): void => {
      if (lit !== '') parts.push({ t: 'lit', v: lit })
      lit = ''
    }
    if (atStart && src[this.pos] === '~') {
      const m = /^~([A-Za-z0-9._-]*)/.exec(src.slice(this.pos, this.pos + 64))
      const after = src[this.pos + (m?.[0].length ?? 1)]
      if (m && (after === undefined || after === '/' || stop(after))) {
        parts.push({ t: 'tilde', user: m[1] as string })
        this.pos += m[0].length
      }
    }
    while (this.pos < src.length) {
      const c = src[this.pos] as string
      if (stop(c)) break
      if (c === '\\') {
        const n = src[this.pos + 1]
        if (n === '\n') {
          this.pos += 2
          this.line++
        } else if (n === undefined) {
          lit += '\\'
          this.pos++
        } else {
          flush()
          parts.push({ t: 'q', v: n })
          this.pos += 2
        }
      } else if (c === "'") {
        const end = src.indexOf("'", this.pos + 1)
        if (end === -1) throw this.#error('unterminated quoted string')
        flush()
        const v = src.slice(this.pos + 1, end)
        parts.push({ t: 'q', v })
        this.line += countNewlines(v)
        this.pos = end + 1
      } else if (c === '"') {
        flush()
        this.pos++
        parts.push({ t: 'dq', parts: this.#scanQuoted('"', '$`"\\\n') })
      } else if (c === '`') {
        flush()
        parts.push(this.#backtick(false))
      } else if (c === '$') {
        const p = this.#dollar()
        if (p === undefined) {
          lit += '$'
        } else {
          flush()
          parts.push(p)
        }
      } else {
        if (c === '\n') this.line++
        lit += c
        this.pos++
      }
    }
    flush()
    return parts
  }

  /** Text in double quotes (or a here-document, or $((…))) up to `end`; quoted parts throughout. */
  #scanQuoted(end: string | undefined, escapable: string): Part[] {
    const src = this.src
    const parts: Part[] = []
    let lit = ''
    const flush = (): void => {
      if (lit !== '') parts.push({ t: 'q', v: lit })
      lit = ''
    }
    for (;;) {
      const c = src[this.pos]
      if (c === undefined) {
        if (end === undefined) break
        throw this.#error('unterminated quoted string')
      }
      if (c === end) {
        this.pos++
        break
      }
      if (c === '\\') {
        const n = src[this.pos + 1]
        if (n === '\n') {
          this.pos += 2
          this.line++
        } else if (n !== undefined && escapable.includes(n)) {
          lit += n
          this.pos += 2
        } else {
          lit += '\\'
          this.pos++
        }
      } else if (c === '$') {
        const p = this.#dollar()
        if (p === undefined) lit += '$'
        else {
          flush()
          parts.push(p)
        }
      } else if (c === '`') {
        flush()
        parts.push(this.#backtick(true))
      } else {
        if (c === '\n') this.line++
        lit += c
        this.pos++
      }
    }
    flush()
    return parts
  }

  /** The whole input as double-quoted-like text (a here-document, an arithmetic expression). */
  quoted(escapable: string): Part[] {
    return this.#scanQuoted(undefined, escapable)
  }

  #backtick(inDq: boolean): Part {
    const src = this.src
    const line = this.line
    let i = this.pos + 1
    let text = ''
    for (;;) {
      const c = src[i]
      if (c === undefined) throw this.#error('EOF in backquote substitution')
      if (c === '`') break
      if (c === '\\' && src[i + 1] !== undefined && ('$`\\'.includes(src[i + 1] as string) || (inDq && src[i + 1] === '"'))) {
        text += src[i + 1]
        i += 2
      } else {
        if (c === '\n') this.line++
        text += c
        i++
      }
    }
    this.pos = i + 1
    const sub = new Parser(text, 0, line)
    return { t: 'cmd', body: sub.program() }
  }

  /** At a `$`: an expansion, or undefined for a literal dollar sign. */
  #dollar(): Part | undefined {
    const src = this.src
    const n = src[this.pos + 1]
    if (n === '(') {
      if (src[this.pos + 2] === '(') {
        const end = arithEnd(src, this.pos + 3)
        if (end !== -1) {
          const text = src.slice(this.pos + 3, end)
          const line = this.line
          this.line += countNewlines(text)
          this.pos = end + 2
          return { t: 'arith', expr: quotedText(text, '$`\\\n', line) }
        }
        if (end === -1 && src.indexOf(')', this.pos) === -1) throw this.#error("missing '))'")
      }
      const sub = new Parser(src, this.pos + 2, this.line)
      const body = sub.list(new Set())
      const t = sub.next()
      if (t.k !== 'op' || t.op !== ')') throw sub.unexpected(t, ')')
      this.pos = sub.pos
      this.line = sub.line
      return { t: 'cmd', body }
    }
    if (n === '{') return this.#braced()
    if (n !== undefined && ('?$!#@*-'.includes(n) || (n >= '0' && n <= '9'))) {
      this.pos += 2
      return { t: 'param', name: n }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(this.pos + 1, this.pos + 256))
    if (m) {
      this.pos += 1 + m[0].length
      return { t: 'param', name: m[0] }
    }
    this.pos++
    return undefined
  }

  #braced(): ParamPart {
    const src = this.src
    this.pos += 2
    const part: ParamPart = { t: 'param', name: '' }
    if (src[this.pos] === '#' && src[this.pos + 1] !== '}' && src[this.pos + 1] !== undefined) {
      part.length = true
      this.pos++
    }
    const m = /^(?:[A-Za-z_][A-Za-z0-9_]*|\d+|[?$!#@*-])/.exec(src.slice(this.pos, this.pos + 256))
    if (!m) throw this.#error('bad substitution')
    part.name = m[0]
    this.pos += m[0].length
    if (part.length) {
      if (src[this.pos] !== '}') throw this.#error('bad substitution')
      this.pos++
      return part
    }
    const rest = src.slice(this.pos, this.pos + 2)
    const untilBrace = (c: string): boolean => c === '}'
    if (rest[0] === '}') {
      this.pos++
      return part
    }
    let op: ParamOp | undefined
    if (rest[0] === ':' && '-=?+'.includes(rest[1] ?? 'x')) {
      part.colon = true
      op = rest[1] as ParamOp
      this.pos += 2
    } else if ('-=?+'.includes(rest[0] ?? 'x')) {
      op = rest[0] as ParamOp
      this.pos++
    } else if (rest === '##' || rest === '%%' || rest === '//' || rest === '/#' || rest === '/%') {
      op = rest as ParamOp
      this.pos += 2
    } else if (rest[0] === '#' || rest[0] === '%' || rest[0] === '/' || rest[0] === ':') {
      op = rest[0] as ParamOp
      this.pos++
    } else throw this.#error('bad substitution')
    part.op = op
    if (op.startsWith('/')) {
      part.arg = this.#scanWord((c) => c === '/' || c === '}', false)
      if (src[this.pos] === '/') {
        this.pos++
        part.arg2 = this.#scanWord(untilBrace, false)
      }
    } else if (op === ':') {
      part.arg = this.#scanWord((c) => c === ':' || c === '}', false)
      if (src[this.pos] === ':') {
        this.pos++
        part.arg2 = this.#scanWord(untilBrace, false)
      }
    } else {
      part.arg = this.#scanWord(untilBrace, false)
    }
    if (src[this.pos] !== '}') throw this.#error("missing '}'")
    this.pos++
    return part
  }

  // ---- grammar

  program(): List {
    const list = this.list(new Set())
    const t = this.peek()
    if (t.k !== 'eof') throw this.unexpected(t)
    return list
  }

  /** The next line of a script (the commands up to an unquoted newline), or undefined at its end. */
  nextLine(): List | undefined {
    this.#newlines()
    if (this.peek().k === 'eof') return undefined
    const items: List = []
    for (;;) {
      const andOr = this.#andOr()
      const sep = this.peek()
      if (sep.k === 'op' && (sep.op === ';' || sep.op === '&')) {
        this.next()
        items.push({ andOr, background: sep.op === '&' })
        const after = this.peek()
        if (after.k === 'eof' || (after.k === 'op' && after.op === '\n')) break
        continue
      }
      items.push({ andOr, background: false })
      if (sep.k === 'eof' || (sep.k === 'op' && sep.op === '\n')) break
      throw this.unexpected(sep)
    }
    return items
  }

  /** Commands up to end of input, `)`, `;;`, or one of the keywords `stop` (not consumed). */
  list(stop: ReadonlySet<string>): List {
    const items: List = []
    this.#newlines()
    for (;;) {
      const t = this.peek()
      if (t.k === 'eof') break
      if (t.k === 'op' && (t.op === ')' || t.op === ';;')) break
      if (stop.has(keyword(t) ?? '')) break
      const andOr = this.#andOr()
      const sep = this.peek()
      if (sep.k === 'op' && (sep.op === ';' || sep.op === '&' || sep.op === '\n')) {
        this.next()
        items.push({ andOr, background: sep.op === '&' })
        this.#newlines()
        continue
      }
      items.push({ andOr, background: false })
      break
    }
    return items
  }

  /** A list that may not be empty; at end of input the error names the keyword expected. */
  #required(stop: ReadonlySet<string>, expecting: string): List {
    const list = this.list(stop)
    if (list.length === 0) {
      const t = this.peek()
      throw this.unexpected(t, t.k === 'eof' ? expecting : undefined)
    }
    return list
  }

  #newlines(): void {
    for (let t = this.peek(); t.k === 'op' && t.op === '\n'; t = this.peek()) this.next()
  }

  #andOr(): AndOr {
    const first = this.#pipeline()
    const rest: AndOr['rest'] = []
    for (let t = this.peek(); t.k === 'op' && (t.op === '&&' || t.op === '||'); t = this.peek()) {
      this.next()
      this.#newlines()
      rest.push({ op: t.op as '&&' | '||', pipeline: this.#pipeline() })
    }
    return { first, rest }
  }

  #pipeline(): Pipeline {
    let negate = false
    if (keyword(this.peek()) === '!') {
      this.next()
      negate = true
    }
    const commands = [this.#command()]
    for (let t = this.peek(); t.k === 'op' && t.op === '|'; t = this.peek()) {
      this.next()
      this.#newlines()
      commands.push(this.#command())
    }
    return { negate, commands }
  }

  #command(): Command {
    const t = this.peek()
    const kw = keyword(t)
    let cmd: Command
    if (kw !== undefined) {
      switch (kw) {
        case 'if':
          cmd = this.#if()
          break
        case 'while':
        case 'until':
          cmd = this.#loop(kw === 'until')
          break
        case 'for':
          cmd = this.#for()
          break
        case 'case':
          cmd = this.#case()
          break
        case '{': {
          this.next()
          const body = this.#required(new Set(['}']), '}')
          this.#expect('}')
          cmd = { type: 'group', body, redirs: [], line: t.line }
          break
        }
        case 'function':
          return this.#function()
        default:
          throw this.unexpected(t)
      }
    } else if (t.k === 'op' && t.op === '(') {
      this.next()
      const body = this.#required(new Set(), ')')
      const close = this.next()
      if (close.k !== 'op' || close.op !== ')') throw this.unexpected(close, ')')
      cmd = { type: 'subshell', body, redirs: [], line: t.line }
    } else {
      return this.#simple()
    }
    for (let r = this.peek(); r.k === 'redir'; r = this.peek()) cmd.redirs.push(this.#redir())
    return cmd
  }

  #expect(kw: string): void {
    const t = this.next()
    if (keyword(t) !== kw) throw this.unexpected(t, kw)
  }

  #if(): Command {
    const line = this.next().line
    const clauses: { cond: List; body: List }[] = []
    let elseBody: List | undefined
    const cond = this.#required(new Set(['then']), 'then')
    this.#expect('then')
    clauses.push({ cond, body: this.#required(new Set(['elif', 'else', 'fi']), 'fi') })
    for (;;) {
      const t = this.next()
      const kw = keyword(t)
      if (kw === 'elif') {
        const c = this.#required(new Set(['then']), 'then')
        this.#expect('then')
        clauses.push({ cond: c, body: this.#required(new Set(['elif', 'else', 'fi']), 'fi') })
      } else if (kw === 'else') {
        elseBody = this.#required(new Set(['fi']), 'fi')
        this.#expect('fi')
        break
      } else if (kw === 'fi') break
      else throw this.unexpected(t, 'fi')
    }
    return { type: 'if', clauses, ...(elseBody ? { else: elseBody } : {}), redirs: [], line }
  }

  #loop(until: boolean): Command {
    const line = this.next().line
    const cond = this.#required(new Set(['do']), 'do')
    this.#expect('do')
    const body = this.#required(new Set(['done']), 'done')
    this.#expect('done')
    return { type: 'loop', until, cond, body, redirs: [], line }
  }

  #for(): Command {
    const line = this.next().line
    const nameTok = this.next()
    if (nameTok.k !== 'word' || !NAME.test(nameTok.raw)) throw this.#error('bad for loop variable')
    let items: Word[] | undefined
    this.#newlines()
    if (keyword(this.peek()) === 'in') {
      this.next()
      items = []
      for (let t = this.peek(); t.k === 'word'; t = this.peek()) items.push((this.next() as { word: Word }).word)
      const sep = this.next()
      if (sep.k !== 'op' || (sep.op !== ';' && sep.op !== '\n')) throw this.unexpected(sep)
    } else {
      const t = this.peek()
      if (t.k === 'op' && t.op === ';') this.next()
    }
    this.#newlines()
    this.#expect('do')
    const body = this.#required(new Set(['done']), 'done')
    this.#expect('done')
    return { type: 'for', name: nameTok.raw, ...(items ? { items } : {}), body, redirs: [], line }
  }

  #case(): Command {
    const line = this.next().line
    const w = this.next()
    if (w.k !== 'word') throw this.unexpected(w)
    this.#newlines()
    this.#expect('in')
    this.#newlines()
    const items: { patterns: Word[]; body: List }[] = []
    for (;;) {
      let t = this.next()
      if (keyword(t) === 'esac') break
      if (t.k === 'op' && t.op === '(') t = this.next()
      if (t.k !== 'word') throw this.unexpected(t)
      const patterns = [t.word]
      for (let s = this.next(); ; s = this.next()) {
        if (s.k === 'op' && s.op === ')') break
        if (s.k !== 'op' || s.op !== '|') throw this.unexpected(s, ')')
        const p = this.next()
        if (p.k !== 'word') throw this.unexpected(p)
        patterns.push(p.word)
      }
      const body = this.list(new Set(['esac']))
      items.push({ patterns, body })
      const end = this.peek()
      if (end.k === 'op' && end.op === ';;') {
        this.next()
        this.#newlines()
      } else if (keyword(end) !== 'esac') throw this.unexpected(end)
    }
    return { type: 'case', word: w.word, items, redirs: [], line }
  }

  #function(): Command {
    const line = this.next().line
    const name = this.next()
    if (name.k !== 'word') throw this.unexpected(name)
    const t = this.peek()
    if (t.k === 'op' && t.op === '(') {
      this.next()
      const close = this.next()
      if (close.k !== 'op' || close.op !== ')') throw this.unexpected(close, ')')
    }
    return this.#functionBody(name.raw, line)
  }

  #functionBody(name: string, line: number): Command {
    this.#newlines()
    const body = this.#command()
    if (body.type === 'simple' || body.type === 'function') throw this.unexpected(this.peek())
    return { type: 'function', name, body, redirs: [], line }
  }

  #simple(): Command {
    const line = this.peek().line
    const assigns: Assign[] = []
    const words: Word[] = []
    const redirs: Redir[] = []
    for (;;) {
      const t = this.peek()
      if (t.k === 'redir') {
        redirs.push(this.#redir())
        continue
      }
      if (t.k !== 'word') break
      this.next()
      const assign = words.length === 0 ? assignment(t.word) : undefined
      if (assign) {
        assigns.push(assign)
        continue
      }
      words.push(t.word)
      if (words.length === 1 && assigns.length === 0 && redirs.length === 0) {
        const p = this.peek()
        if (p.k === 'op' && p.op === '(') {
          this.next()
          const close = this.next()
          if (close.k !== 'op' || close.op !== ')') throw this.unexpected(close, ')')
          return this.#functionBody(t.raw, line)
        }
      }
    }
    if (assigns.length === 0 && words.length === 0 && redirs.length === 0) throw this.unexpected(this.peek())
    return { type: 'simple', assigns, words, redirs, line }
  }

  #redir(): Redir {
    const t = this.next() as Extract<Token, { k: 'redir' }>
    const w = this.next()
    if (w.k !== 'word') throw this.unexpected(w)
    const redir: Redir = { op: t.op, ...(t.fd !== undefined ? { fd: t.fd } : {}), target: w.word }
    if (t.op === '<<' || t.op === '<<-') {
      const quoted = /['"\\]/.test(w.raw)
      redir.heredoc = { quoted, body: [] }
      this.#pending.push({ redir, delim: literalText(w.word), strip: t.op === '<<-', quoted })
    }
    return redir
  }

  // ---- errors

  unexpected(t: Token, expecting?: string): ShellSyntaxError {
    const kw = keyword(t)
    const name =
      t.k === 'eof'
        ? 'end of file'
        : t.k === 'op'
          ? t.op === '\n'
            ? 'newline'
            : `"${t.op}"`
          : t.k === 'redir'
            ? 'redirection'
            : kw !== undefined
              ? `"${kw}"`
              : 'word'
    return new ShellSyntaxError(`unexpected ${name}${expecting ? ` (expecting "${expecting}")` : ''}`, t.line)
  }

  #error(message: string): ShellSyntaxError {
    return new ShellSyntaxError(message, this.line)
  }
}

function keyword(t: Token): string | undefined {
  if (t.k !== 'word' || t.word.length !== 1) return undefined
  const p = t.word[0] as Part
  return p.t === 'lit' && KEYWORDS.has(p.v) ? p.v : undefined
}

function assignment(word: Word): Assign | undefined {
  const first = word[0]
  if (first?.t !== 'lit') return undefined
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.v)
  if (!m) return undefined
  const rest = first.v.slice(m[0].length)
  const value: Word = []
  if (rest.startsWith('~')) {
    const t = /^~([A-Za-z0-9._-]*)(?=\/|:|$)/.exec(rest)
    if (t && (rest.length > t[0].length || word.length === 1)) {
      value.push({ t: 'tilde', user: t[1] as string })
      if (rest.length > t[0].length) value.push({ t: 'lit', v: rest.slice(t[0].length) })
    } else value.push({ t: 'lit', v: rest })
  } else if (rest !== '') value.push({ t: 'lit', v: rest })
  value.push(...word.slice(1))
  return { name: m[1] as string, value }
}

/** The text of a word with its quotes removed and expansions left out (a here-document's delimiter). */
function literalText(word: Word): string {
  return word
    .map((p) => (p.t === 'lit' || p.t === 'q' ? p.v : p.t === 'dq' ? literalText(p.parts) : p.t === 'tilde' ? `~${p.user}` : ''))
    .join('')
}

function quotedText(text: string, escapable: string, line: number): Part[] {
  return new Parser(text, 0, line).quoted(escapable)
}

function countNewlines(s: string): number {
  let n = 0
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++
  return n
}

/** The index of the `))` closing a `$((` whose body starts at `from`, or -1 when it is not arithmetic. */
function arithEnd(src: string, from: number): number {
  let depth = 0
  for (let i = from; i < src.length; i++) {
    const c = src[i]
    if (c === '(') depth++
    else if (c === ')') {
      if (depth === 0) return src[i + 1] === ')' ? i : -1
      depth--
    }
  }
  return -1
}

/** A script parsed line by line, as ash reads it: the lines before a syntax error still run. */
export interface Script {
  lines: List[]
  error?: ShellSyntaxError
}

const cache = new Map<string, Script>()
const CACHE_SIZE = 512

/** Parses a script; results are cached by text and must not be mutated. */
export function parseScript(text: string): Script {
  const hit = cache.get(text)
  if (hit !== undefined) return hit
  const script: Script = { lines: [] }
  const parser = new Parser(text)
  try {
    for (let l = parser.nextLine(); l !== undefined; l = parser.nextLine()) script.lines.push(l)
  } catch (err) {
    if (!(err instanceof ShellSyntaxError)) throw err
    script.error = err
  }
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string)
  cache.set(text, script)
  return script
}

/** Parses a whole script at once (eval, trap actions); throws ShellSyntaxError. */
export function parse(text: string): List {
  const script = parseScript(text)
  if (script.error) throw script.error
  return script.lines.flat()
}

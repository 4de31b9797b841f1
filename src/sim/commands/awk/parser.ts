// busybox awk's language: a tokenizer and a recursive-descent parser to a small AST. A program the
// parser cannot take fails as busybox reports it ("awk: cmd. line:1: Unexpected token"), never by
// running something else; getline is not supported and fails that way too.

export class AwkSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message)
  }
}

export type Expr =
  | { k: 'num'; v: number }
  | { k: 'str'; v: string }
  | { k: 're'; src: string }
  | { k: 'var'; name: string }
  | { k: 'field'; e: Expr }
  | { k: 'idx'; name: string; subs: Expr[] }
  | { k: 'assign'; op: string; lv: Expr; e: Expr }
  | { k: 'cond'; c: Expr; a: Expr; b: Expr }
  | { k: 'and' | 'or' | 'concat'; a: Expr; b: Expr }
  | { k: 'not' | 'neg' | 'pos'; e: Expr }
  | { k: 'bin' | 'cmp'; op: string; a: Expr; b: Expr }
  | { k: 'match'; neg: boolean; a: Expr; re: Expr }
  | { k: 'in'; subs: Expr[]; name: string }
  | { k: 'incdec'; op: '++' | '--'; pre: boolean; lv: Expr }
  | { k: 'call'; name: string; args: Expr[] }
  | { k: 'ucall'; name: string; args: Expr[] }
  /** "(a, b)": only valid before "in" or as print's argument list. */
  | { k: 'group'; items: Expr[] }

export type Stmt =
  | { k: 'expr'; e: Expr }
  | { k: 'print'; printf: boolean; args: Expr[]; redir?: { op: string; e: Expr } }
  | { k: 'if'; c: Expr; t: Stmt; f?: Stmt }
  | { k: 'while'; c: Expr; body: Stmt }
  | { k: 'do'; body: Stmt; c: Expr }
  | { k: 'for'; init?: Expr; c?: Expr; step?: Expr; body: Stmt }
  | { k: 'forin'; v: string; arr: string; body: Stmt }
  | { k: 'block'; body: Stmt[] }
  | { k: 'next' | 'break' | 'continue' }
  | { k: 'exit' | 'return'; e?: Expr }
  | { k: 'delete'; name: string; subs?: Expr[] }

export interface Rule {
  pattern?: Expr
  /** The end of a "pattern1, pattern2" range. */
  end?: Expr
  /** Absent: print $0. */
  body?: Stmt[]
}

export interface AwkProgram {
  begin: Stmt[]
  end: Stmt[]
  rules: Rule[]
  funcs: Map<string, { params: string[]; body: Stmt[] }>
}

interface Token {
  t: string
  v: string
  line: number
}

export const BUILTINS = new Set([
  'length',
  'substr',
  'index',
  'split',
  'sub',
  'gsub',
  'match',
  'sprintf',
  'tolower',
  'toupper',
  'int',
  'sqrt',
  'exp',
  'log',
  'sin',
  'cos',
  'atan2',
  'rand',
  'srand',
  'system',
  'close',
  'fflush',
])
const KEYWORDS = new Set([
  'BEGIN',
  'END',
  'function',
  'func',
  'if',
  'else',
  'while',
  'for',
  'do',
  'break',
  'continue',
  'next',
  'nextfile',
  'exit',
  'return',
  'delete',
  'in',
  'getline',
  'print',
  'printf',
])
// Longest first, so that "**=" is not read as "*" "*=".
const PUNCT = ['**=', '&&', '||', '==', '!=', '<=', '>=', '!~', '++', '--', '+=', '-=', '*=', '/=', '%=', '^=', '**', '>>']
const SINGLE = '{}()[];,+-*/%^!<>|?:~$='
/** After these a "/" divides; elsewhere it starts a regex literal. */
const OPERAND_END = new Set(['num', 'str', 'name', 'builtin', 'ufunc', ')', ']', '$', '++', '--'])
const ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  '"': '"',
  '/': '/',
}

/** awk's string escapes (also for -v and -F values): \n \t \\ \" \/ \ooo; others keep the backslash. */
export function unescapeAwk(s: string): string {
  return s.replace(/\\([0-7]{1,3}|.)/gs, (all, c: string) => {
    if (/^[0-7]/.test(c)) return String.fromCharCode(parseInt(c, 8))
    return ESCAPES[c] ?? all
  })
}

function tokenize(src: string): Token[] {
  const out: Token[] = []
  let line = 1
  let i = 0
  const push = (t: string, v: string): void => void out.push({ t, v, line })
  while (i < src.length) {
    const c = src[i] as string
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2
      line++
    } else if (c === ' ' || c === '\t' || c === '\r') i++
    else if (c === '#') while (i < src.length && src[i] !== '\n') i++
    else if (c === '\n') {
      push('nl', c)
      line++
      i++
    } else if (c === '"') {
      let j = i + 1
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\n') throw new AwkSyntaxError('Unexpected end of string', line)
        j += src[j] === '\\' ? 2 : 1
      }
      if (j >= src.length) throw new AwkSyntaxError('Unexpected end of string', line)
      push('str', unescapeAwk(src.slice(i + 1, j)))
      i = j + 1
    } else if (c === '/' && !OPERAND_END.has(out.at(-1)?.t ?? '')) {
      let j = i + 1
      let inBracket = false
      while (j < src.length && (src[j] !== '/' || inBracket)) {
        if (src[j] === '\n') throw new AwkSyntaxError('Unexpected end of string', line)
        if (src[j] === '[') inBracket = true
        else if (src[j] === ']') inBracket = false
        j += src[j] === '\\' ? 2 : 1
      }
      if (j >= src.length) throw new AwkSyntaxError('Unexpected end of string', line)
      push('re', src.slice(i + 1, j).replace(/\\\//g, '/'))
      i = j + 1
    } else if (/[0-9.]/.test(c) && /^\.?[0-9]/.test(src.slice(i, i + 2))) {
      const m = /^(0[xX][0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)/.exec(src.slice(i)) as RegExpExecArray
      push('num', m[0])
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const name = (/^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray)[0]
      i += name.length
      if (KEYWORDS.has(name)) push(name, name)
      else if (BUILTINS.has(name)) push('builtin', name)
      else push(src[i] === '(' ? 'ufunc' : 'name', name)
    } else {
      const p = PUNCT.find((q) => src.startsWith(q, i)) ?? (SINGLE.includes(c) ? c : undefined)
      if (p === undefined) throw new AwkSyntaxError('Unexpected token', line)
      // "**" is "^" in busybox (and gawk).
      push(p === '**' ? '^' : p === '**=' ? '^=' : p, p)
      i += p.length
    }
  }
  push('eof', '')
  return out
}

const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '^='])
const COMPARE = new Set(['<', '<=', '==', '!=', '>', '>='])
/** Tokens that can start an operand of a concatenation ("a" b, x $1, n (m)). */
const CONCAT_START = new Set(['num', 'str', 're', 'name', 'builtin', 'ufunc', '$', '(', '++', '--'])
const isLvalue = (e: Expr): boolean => e.k === 'var' || e.k === 'field' || e.k === 'idx'

class Parser {
  #toks: Token[]
  #pos = 0
  /** In print's argument list, an unparenthesized ">" is a redirection. */
  #noGt = false
  #loops = 0
  #inFunc = false
  /** In BEGIN or END, where there is no record for `next` to skip. */
  #noRecord = false

  constructor(src: string) {
    this.#toks = tokenize(src)
  }

  get #tok(): Token {
    return this.#toks[this.#pos] as Token
  }
  #peek(n = 1): Token {
    return this.#toks[Math.min(this.#pos + n, this.#toks.length - 1)] as Token
  }
  #is(t: string): boolean {
    return this.#tok.t === t
  }
  #next(): Token {
    const t = this.#tok
    if (t.t !== 'eof') this.#pos++
    return t
  }
  #fail(): never {
    const t = this.#tok
    throw new AwkSyntaxError(t.t === 'eof' || t.t === 'nl' ? 'Unexpected end of string' : 'Unexpected token', t.line)
  }
  #expect(t: string): Token {
    if (!this.#is(t)) this.#fail()
    return this.#next()
  }
  #accept(t: string): boolean {
    if (!this.#is(t)) return false
    this.#next()
    return true
  }
  #newlines(): void {
    while (this.#is('nl')) this.#next()
  }
  #separators(): void {
    while (this.#is('nl') || this.#is(';')) this.#next()
  }

  program(): AwkProgram {
    const prog: AwkProgram = { begin: [], end: [], rules: [], funcs: new Map() }
    this.#separators()
    while (!this.#is('eof')) {
      if (this.#is('BEGIN') || this.#is('END')) {
        const list = this.#next().t === 'BEGIN' ? prog.begin : prog.end
        this.#noRecord = true
        list.push(...this.#block())
        this.#noRecord = false
      } else if (this.#is('function') || this.#is('func')) this.#function(prog)
      else {
        const rule: Rule = {}
        if (!this.#is('{')) {
          rule.pattern = this.#expr()
          if (this.#accept(',')) {
            this.#newlines()
            rule.end = this.#expr()
          }
        }
        if (this.#is('{')) rule.body = this.#block()
        prog.rules.push(rule)
      }
      // Items end at a separator, or right after a "}" ("{ s += $1 } END { print s }").
      if (!this.#is('eof') && !this.#is('nl') && !this.#is(';') && this.#toks[this.#pos - 1]?.t !== '}') this.#fail()
      this.#separators()
    }
    return prog
  }

  #function(prog: AwkProgram): void {
    this.#next()
    const name = this.#is('ufunc') || this.#is('name') ? this.#next().v : this.#fail()
    if (prog.funcs.has(name)) throw new AwkSyntaxError('Duplicate function', this.#tok.line)
    this.#expect('(')
    const params: string[] = []
    while (!this.#accept(')')) {
      params.push(this.#expect('name').v)
      if (!this.#is(')')) this.#expect(',')
      this.#newlines()
    }
    this.#newlines()
    this.#inFunc = true
    prog.funcs.set(name, { params, body: this.#block() })
    this.#inFunc = false
  }

  #block(): Stmt[] {
    this.#newlines()
    this.#expect('{')
    const body: Stmt[] = []
    this.#separators()
    while (!this.#accept('}')) {
      body.push(this.#statement())
      this.#separators()
    }
    return body
  }

  /** A statement that must end here: ";", a newline, or a "}" that follows. */
  #end(): void {
    if (this.#is(';') || this.#is('nl')) this.#next()
    else if (!this.#is('}') && !this.#is('eof')) this.#fail()
  }

  #body(): Stmt {
    this.#newlines()
    if (this.#accept(';')) return { k: 'block', body: [] }
    return this.#statement()
  }

  #loop(): Stmt {
    this.#loops++
    try {
      return this.#body()
    } finally {
      this.#loops--
    }
  }

  #condition(): Expr {
    this.#expect('(')
    const c = this.#expr()
    this.#expect(')')
    return c
  }

  #statement(): Stmt {
    const t = this.#tok
    switch (t.t) {
      case '{':
        return { k: 'block', body: this.#block() }
      case 'if': {
        this.#next()
        const c = this.#condition()
        const s: Stmt = { k: 'if', c, t: this.#body() }
        // "if (c) x; else y": the else may follow a separator.
        const save = this.#pos
        this.#separators()
        if (this.#accept('else')) s.f = this.#body()
        else this.#pos = save
        return s
      }
      case 'while': {
        this.#next()
        const c = this.#condition()
        if (this.#is(';')) {
          this.#next()
          return { k: 'while', c, body: { k: 'block', body: [] } }
        }
        return { k: 'while', c, body: this.#loop() }
      }
      case 'do': {
        this.#next()
        const body = this.#loop()
        this.#separators()
        this.#expect('while')
        const s: Stmt = { k: 'do', body, c: this.#condition() }
        this.#end()
        return s
      }
      case 'for':
        return this.#for()
      case 'break':
      case 'continue':
        this.#next()
        if (this.#loops === 0) throw new AwkSyntaxError(`'${t.t}' not in a loop`, t.line)
        this.#end()
        return { k: t.t }
      case 'next':
        this.#next()
        if (this.#noRecord) throw new AwkSyntaxError('Unexpected token', t.line)
        this.#end()
        return { k: 'next' }
      case 'exit':
      case 'return': {
        this.#next()
        if (t.t === 'return' && !this.#inFunc) this.#fail()
        const s: Stmt = { k: t.t }
        if (!this.#is(';') && !this.#is('nl') && !this.#is('}') && !this.#is('eof')) s.e = this.#expr()
        this.#end()
        return s
      }
      case 'delete': {
        this.#next()
        const name = this.#expect('name').v
        const s: Stmt = { k: 'delete', name }
        if (this.#accept('[')) s.subs = this.#exprList(']')
        this.#end()
        return s
      }
      case 'print':
      case 'printf':
        return this.#print()
      case ';':
        this.#next()
        return { k: 'block', body: [] }
      default: {
        const s: Stmt = { k: 'expr', e: this.#expr() }
        this.#end()
        return s
      }
    }
  }

  #for(): Stmt {
    this.#next()
    this.#expect('(')
    if (this.#is('name') && this.#peek().t === 'in' && this.#peek(2).t === 'name' && this.#peek(3).t === ')') {
      const v = this.#next().v
      this.#next()
      const arr = this.#next().v
      this.#next()
      return { k: 'forin', v, arr, body: this.#loop() }
    }
    const s: Stmt = { k: 'for', body: { k: 'block', body: [] } }
    if (!this.#is(';')) s.init = this.#expr()
    this.#expect(';')
    this.#newlines()
    if (!this.#is(';')) s.c = this.#expr()
    this.#expect(';')
    this.#newlines()
    if (!this.#is(')')) s.step = this.#expr()
    this.#expect(')')
    if (this.#accept(';')) return s
    s.body = this.#loop()
    return s
  }

  #print(): Stmt {
    const printf = this.#next().t === 'printf'
    const args: Expr[] = []
    const outer = this.#noGt
    this.#noGt = true
    try {
      if (!['nl', ';', '}', '>', '>>', '|', 'eof'].includes(this.#tok.t)) {
        args.push(this.#expr())
        while (this.#accept(',')) {
          this.#newlines()
          args.push(this.#expr())
        }
      }
    } finally {
      this.#noGt = outer
    }
    // print (a, b): the parenthesised list is the argument list.
    const only = args[0]
    const list = args.length === 1 && only?.k === 'group' ? only.items : args
    if (printf && list.length === 0) this.#fail()
    const s: Stmt = { k: 'print', printf, args: list }
    if (this.#is('>') || this.#is('>>') || this.#is('|')) {
      const op = this.#next().t
      s.redir = { op, e: this.#concat() }
    }
    this.#end()
    return s
  }

  #exprList(close: string): Expr[] {
    const outer = this.#noGt
    this.#noGt = false
    const list: Expr[] = []
    this.#newlines()
    if (!this.#is(close)) {
      list.push(this.#expr())
      while (this.#accept(',')) {
        this.#newlines()
        list.push(this.#expr())
      }
    }
    this.#newlines()
    this.#expect(close)
    this.#noGt = outer
    return list
  }

  #expr(): Expr {
    const lhs = this.#ternary()
    if (ASSIGN_OPS.has(this.#tok.t) && isLvalue(lhs)) {
      const op = this.#next().t
      this.#newlines()
      return { k: 'assign', op, lv: lhs, e: this.#expr() }
    }
    // A parenthesised list is print's argument list, or the subscript before "in".
    if (lhs.k === 'group' && !this.#noGt) this.#fail()
    return lhs
  }

  #ternary(): Expr {
    const c = this.#or()
    if (!this.#accept('?')) return c
    this.#newlines()
    const a = this.#expr()
    this.#newlines()
    this.#expect(':')
    this.#newlines()
    return { k: 'cond', c, a, b: this.#expr() }
  }

  /** A left-associative level: operands joined by any of `ops` (a newline may follow && and ||). */
  #level(ops: readonly string[], operand: () => Expr, make: (op: string, a: Expr, b: Expr) => Expr): Expr {
    let a = operand()
    while (ops.includes(this.#tok.t)) {
      const op = this.#next().t
      if (op === '&&' || op === '||') this.#newlines()
      a = make(op, a, operand())
    }
    return a
  }

  #or(): Expr {
    return this.#level(
      ['||'],
      () => this.#and(),
      (_, a, b) => ({ k: 'or', a, b }),
    )
  }

  #and(): Expr {
    return this.#level(
      ['&&'],
      () => this.#in(),
      (_, a, b) => ({ k: 'and', a, b }),
    )
  }

  #in(): Expr {
    let a = this.#match()
    while (this.#is('in')) {
      this.#next()
      const name = this.#expect('name').v
      a = { k: 'in', subs: a.k === 'group' ? a.items : [a], name }
    }
    return a
  }

  #match(): Expr {
    let a = this.#compare()
    while (this.#is('~') || this.#is('!~')) {
      const neg = this.#next().t === '!~'
      a = { k: 'match', neg, a, re: this.#compare() }
    }
    return a
  }

  #compare(): Expr {
    const a = this.#concat()
    const op = this.#tok.t
    if (!COMPARE.has(op) || (op === '>' && this.#noGt)) return a
    this.#next()
    return { k: 'cmp', op, a, b: this.#concat() }
  }

  #concat(): Expr {
    let a = this.#additive()
    while (CONCAT_START.has(this.#tok.t)) {
      a = { k: 'concat', a, b: this.#additive() }
    }
    return a
  }

  #additive(): Expr {
    return this.#level(
      ['+', '-'],
      () => this.#multiplicative(),
      (op, a, b) => ({ k: 'bin', op, a, b }),
    )
  }

  #multiplicative(): Expr {
    return this.#level(
      ['*', '/', '%'],
      () => this.#unary(),
      (op, a, b) => ({ k: 'bin', op, a, b }),
    )
  }

  #unary(): Expr {
    if (this.#accept('!')) return { k: 'not', e: this.#unary() }
    if (this.#accept('-')) return { k: 'neg', e: this.#unary() }
    if (this.#accept('+')) return { k: 'pos', e: this.#unary() }
    return this.#power()
  }

  #power(): Expr {
    const a = this.#postfix()
    if (!this.#accept('^')) return a
    // Right associative, and the exponent may carry a sign: 2^-1, 2^3^2.
    return { k: 'bin', op: '^', a, b: this.#is('-') || this.#is('+') || this.#is('!') ? this.#unary() : this.#power() }
  }

  #postfix(): Expr {
    const e = this.#primary()
    if ((this.#is('++') || this.#is('--')) && isLvalue(e)) {
      return { k: 'incdec', op: this.#next().t as '++' | '--', pre: false, lv: e }
    }
    return e
  }

  #primary(): Expr {
    const t = this.#next()
    switch (t.t) {
      case 'num':
        return { k: 'num', v: Number(t.v) }
      case 'str':
        return { k: 'str', v: t.v }
      case 're':
        return { k: 're', src: t.v }
      case '$':
        return { k: 'field', e: this.#is('-') || this.#is('!') ? this.#unary() : this.#primary() }
      case '++':
      case '--': {
        const lv = this.#primary()
        if (!isLvalue(lv)) this.#fail()
        return { k: 'incdec', op: t.t, pre: true, lv }
      }
      case '(': {
        const items = this.#exprList(')')
        if (items.length === 0) this.#fail()
        return items.length === 1 ? (items[0] as Expr) : { k: 'group', items }
      }
      case 'name':
        if (this.#accept('[')) {
          const subs = this.#exprList(']')
          if (subs.length === 0) this.#fail()
          return { k: 'idx', name: t.v, subs }
        }
        return { k: 'var', name: t.v }
      case 'builtin':
        // "length" alone is length($0).
        if (t.v === 'length' && !this.#is('(')) return { k: 'call', name: t.v, args: [] }
        this.#expect('(')
        return { k: 'call', name: t.v, args: this.#exprList(')') }
      case 'ufunc':
        this.#expect('(')
        return { k: 'ucall', name: t.v, args: this.#exprList(')') }
      default:
        this.#pos--
        this.#fail()
    }
  }
}

export function parseProgram(src: string): AwkProgram {
  return new Parser(src).program()
}

// $((…)) arithmetic as busybox ash does it: 64-bit signed integers, C operators (with ** and the
// assignments), variables by name (an unset or empty one is 0, another value is itself evaluated).
// Errors carry busybox's messages ("arithmetic syntax error", "divide by zero").

export class ArithError extends Error {}

export interface ArithVars {
  get(name: string): string | undefined
  set(name: string, value: string): void
}

type Node =
  | { k: 'num'; v: bigint }
  | { k: 'var'; name: string }
  | { k: 'un'; op: string; x: Node }
  | { k: 'incdec'; op: '++' | '--'; prefix: boolean; name: string }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'assign'; op: string; name: string; x: Node }
  | { k: 'cond'; c: Node; a: Node; b: Node }

const OPS = [
  '<<=',
  '>>=',
  '**',
  '++',
  '--',
  '<<',
  '>>',
  '<=',
  '>=',
  '==',
  '!=',
  '&&',
  '||',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '^=',
  '|=',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '=',
  '!',
  '~',
  '&',
  '^',
  '|',
  '?',
  ':',
  '(',
  ')',
  ',',
]

/** Binary operators by precedence (higher binds tighter). */
const BINARY: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '|': 3,
  '^': 4,
  '&': 5,
  '==': 6,
  '!=': 6,
  '<': 7,
  '>': 7,
  '<=': 7,
  '>=': 7,
  '<<': 8,
  '>>': 8,
  '+': 9,
  '-': 9,
  '*': 10,
  '/': 10,
  '%': 10,
  '**': 11,
}
const ASSIGN = new Set(['=', '+=', '-=', '*=', '/=', '%=', '<<=', '>>=', '&=', '^=', '|='])

const SYNTAX = 'arithmetic syntax error'
const wrap = (v: bigint): bigint => BigInt.asIntN(64, v)

type Tok = { k: 'num'; v: bigint } | { k: 'name'; v: string } | { k: 'op'; v: string }

function tokenize(text: string): Tok[] {
  const toks: Tok[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === ' ' || c === '\t' || c === '\n') {
      i++
      continue
    }
    const num = /^(?:0[xX][0-9a-fA-F]+|\d+#[0-9a-zA-Z@_]+|\d+)/.exec(text.slice(i))
    if (num) {
      toks.push({ k: 'num', v: parseNumber(num[0]) })
      i += num[0].length
      if (/[A-Za-z0-9_]/.test(text[i] ?? '')) throw new ArithError(SYNTAX)
      continue
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))
    if (name) {
      toks.push({ k: 'name', v: name[0] })
      i += name[0].length
      continue
    }
    const op = OPS.find((o) => text.startsWith(o, i))
    if (op === undefined) throw new ArithError(SYNTAX)
    toks.push({ k: 'op', v: op })
    i += op.length
  }
  return toks
}

function parseNumber(text: string): bigint {
  if (/^0[xX]/.test(text)) return wrap(BigInt(text))
  const hash = text.indexOf('#')
  if (hash !== -1) {
    const base = Number(text.slice(0, hash))
    if (base < 2 || base > 64) throw new ArithError(SYNTAX)
    let v = 0n
    for (const ch of text.slice(hash + 1)) {
      const d = digitValue(ch, base)
      if (d === undefined || d >= base) throw new ArithError(SYNTAX)
      v = wrap(v * BigInt(base) + BigInt(d))
    }
    return v
  }
  if (text.length > 1 && text.startsWith('0')) {
    if (!/^[0-7]+$/.test(text)) throw new ArithError(SYNTAX)
    return wrap(BigInt(`0o${text.slice(1)}`))
  }
  return wrap(BigInt(text))
}

function digitValue(ch: string, base: number): number | undefined {
  if (ch >= '0' && ch <= '9') return ch.charCodeAt(0) - 48
  if (ch >= 'a' && ch <= 'z') return ch.charCodeAt(0) - 87
  if (ch >= 'A' && ch <= 'Z') return base <= 36 ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 29
  if (ch === '@') return 62
  if (ch === '_') return 63
  return undefined
}

class ArithParser {
  #i = 0
  constructor(readonly toks: Tok[]) {}

  parse(): Node {
    const n = this.#comma()
    if (this.#i < this.toks.length) throw new ArithError(SYNTAX)
    return n
  }

  #peekOp(): string | undefined {
    const t = this.toks[this.#i]
    return t?.k === 'op' ? t.v : undefined
  }

  #comma(): Node {
    let n = this.#assign()
    while (this.#peekOp() === ',') {
      this.#i++
      n = { k: 'bin', op: ',', a: n, b: this.#assign() }
    }
    return n
  }

  #assign(): Node {
    const t = this.toks[this.#i]
    const next = this.toks[this.#i + 1]
    if (t?.k === 'name' && next?.k === 'op' && ASSIGN.has(next.v)) {
      this.#i += 2
      return { k: 'assign', op: next.v, name: t.v, x: this.#assign() }
    }
    return this.#ternary()
  }

  #ternary(): Node {
    const c = this.#binary(1)
    if (this.#peekOp() !== '?') return c
    this.#i++
    const a = this.#comma()
    if (this.#peekOp() !== ':') throw new ArithError('malformed ?: operator')
    this.#i++
    const b = this.#assign()
    return { k: 'cond', c, a, b }
  }

  #binary(min: number): Node {
    let left = this.#unary()
    for (;;) {
      const op = this.#peekOp()
      const prec = op === undefined ? undefined : BINARY[op]
      if (op === undefined || prec === undefined || prec < min) return left
      this.#i++
      // ** is right-associative; the rest are left-associative.
      const right = this.#binary(op === '**' ? prec : prec + 1)
      left = { k: 'bin', op, a: left, b: right }
    }
  }

  #unary(): Node {
    const t = this.toks[this.#i]
    if (t === undefined) throw new ArithError(SYNTAX)
    if (t.k === 'op') {
      if (t.v === '++' || t.v === '--') {
        const name = this.toks[this.#i + 1]
        if (name?.k !== 'name') throw new ArithError(SYNTAX)
        this.#i += 2
        return { k: 'incdec', op: t.v, prefix: true, name: name.v }
      }
      if (t.v === '+' || t.v === '-' || t.v === '!' || t.v === '~') {
        this.#i++
        return { k: 'un', op: t.v, x: this.#unary() }
      }
      if (t.v === '(') {
        this.#i++
        const n = this.#comma()
        if (this.#peekOp() !== ')') throw new ArithError(SYNTAX)
        this.#i++
        return n
      }
      throw new ArithError(SYNTAX)
    }
    this.#i++
    if (t.k === 'num') return { k: 'num', v: t.v }
    const op = this.#peekOp()
    if (op === '++' || op === '--') {
      this.#i++
      return { k: 'incdec', op, prefix: false, name: t.v }
    }
    return { k: 'var', name: t.v }
  }
}

const parsed = new Map<string, Node | ArithError>()

function compile(text: string): Node {
  let n = parsed.get(text)
  if (n === undefined) {
    try {
      n = new ArithParser(tokenize(text)).parse()
    } catch (err) {
      if (!(err instanceof ArithError)) throw err
      n = err
    }
    if (parsed.size > 1000) parsed.clear()
    parsed.set(text, n)
  }
  if (n instanceof ArithError) throw n
  return n
}

/** Evaluates an expression; an empty one is 0. Throws ArithError. */
export function evaluate(text: string, vars: ArithVars): bigint {
  if (text.trim() === '') return 0n
  return run(compile(text), vars, 0)
}

function lookup(name: string, vars: ArithVars, depth: number): bigint {
  const value = vars.get(name)
  if (value === undefined || value.trim() === '') return 0n
  if (/^\s*-?\d+\s*$/.test(value)) return wrap(BigInt(value.trim()))
  if (depth > 100) throw new ArithError('expression recursion loop detected')
  return run(compile(value), vars, depth + 1)
}

function binop(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '+':
      return wrap(a + b)
    case '-':
      return wrap(a - b)
    case '*':
      return wrap(a * b)
    case '/':
    case '%':
      if (b === 0n) throw new ArithError('divide by zero')
      return wrap(op === '/' ? a / b : a % b)
    case '**':
      if (b < 0n) throw new ArithError('exponent less than 0')
      return wrap(a ** b)
    case '<<':
      return wrap(a << (b & 63n))
    case '>>':
      return wrap(a >> (b & 63n))
    case '<':
      return a < b ? 1n : 0n
    case '>':
      return a > b ? 1n : 0n
    case '<=':
      return a <= b ? 1n : 0n
    case '>=':
      return a >= b ? 1n : 0n
    case '==':
      return a === b ? 1n : 0n
    case '!=':
      return a !== b ? 1n : 0n
    case '&':
      return a & b
    case '^':
      return a ^ b
    case '|':
      return a | b
    case ',':
      return b
    default:
      throw new ArithError(SYNTAX)
  }
}

function run(n: Node, vars: ArithVars, depth: number): bigint {
  switch (n.k) {
    case 'num':
      return n.v
    case 'var':
      return lookup(n.name, vars, depth)
    case 'un': {
      const x = run(n.x, vars, depth)
      return n.op === '-' ? wrap(-x) : n.op === '+' ? x : n.op === '!' ? (x === 0n ? 1n : 0n) : ~x
    }
    case 'incdec': {
      const old = lookup(n.name, vars, depth)
      const v = wrap(n.op === '++' ? old + 1n : old - 1n)
      vars.set(n.name, String(v))
      return n.prefix ? v : old
    }
    case 'bin': {
      if (n.op === '&&') return run(n.a, vars, depth) !== 0n && run(n.b, vars, depth) !== 0n ? 1n : 0n
      if (n.op === '||') return run(n.a, vars, depth) !== 0n || run(n.b, vars, depth) !== 0n ? 1n : 0n
      return binop(n.op, run(n.a, vars, depth), run(n.b, vars, depth))
    }
    case 'assign': {
      const x = run(n.x, vars, depth)
      const v = n.op === '=' ? x : binop(n.op.slice(0, -1), lookup(n.name, vars, depth), x)
      vars.set(n.name, String(v))
      return v
    }
    case 'cond':
      return run(n.c, vars, depth) !== 0n ? run(n.a, vars, depth) : run(n.b, vars, depth)
  }
}

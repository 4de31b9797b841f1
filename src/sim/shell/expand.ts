// Word expansion, as ash does it: parameter expansion (with its operators), command substitution,
// arithmetic expansion, tilde expansion, then field splitting (src/sim/shell/fields.ts) and
// pathname expansion (globbing). Apart from the interpreter, which only asks for words to be
// expanded: what expansion needs of the shell is the narrow ExpansionHost.
import type { Fs } from '../fs/types.js'
import { ArithError, evaluate } from './arith.js'
import type { List, ParamPart, Part, Word } from './ast.js'
import { BuiltinError } from './errors.js'
import { Fields } from './fields.js'
import type { Io } from './io.js'
import { globPaths, removeAffix, substitute } from './pattern.js'
import type { ShellOpts } from './types.js'

/** What expansion reads and changes of the shell that expands. */
export interface ExpansionHost {
  /** $IFS (default blank, tab, newline). */
  readonly ifs: string
  readonly opts: Readonly<Pick<ShellOpts, 'noglob' | 'nounset'>>
  /** $1 … */
  readonly params: readonly string[]
  readonly sys: { readonly fs: Fs }
  readonly cwd: string
  getVar(name: string): string | undefined
  setVar(name: string, value: string): void
  /** A parameter's value: a variable, a positional or a special parameter ($?, $$, $#, …). */
  paramValue(name: string): string | undefined
  /** Reports an error and ends the shell (status 2). */
  fatal(message: string): never
  /** $(…): the output of the commands, trailing newlines removed. */
  commandSubstitution(body: List, io: Io): Promise<string>
}

const GLOB_CHARS = /[*?[]/

/** A word that expands to itself: one quoted or plain part without glob characters. */
function literalOf(w: Word): string | undefined {
  const only = w.length === 1 ? (w[0] as Part) : undefined
  return only?.t === 'q' || (only?.t === 'lit' && !GLOB_CHARS.test(only.v)) ? only.v : undefined
}

/** The words as arguments when every one is literal (most commands), without an async expansion. */
export function literalWords(words: Word[]): string[] | undefined {
  const out = new Array<string>(words.length)
  for (let i = 0; i < words.length; i++) {
    const literal = literalOf(words[i] as Word)
    if (literal === undefined) return undefined
    out[i] = literal
  }
  return out
}

export async function expandWords(sh: ExpansionHost, words: Word[], io: Io): Promise<string[]> {
  const out: string[] = []
  for (const w of words) {
    const literal = literalOf(w)
    if (literal !== undefined) {
      out.push(literal)
      continue
    }
    const b = new Fields(sh.ifs)
    await expandParts(sh, w, b, false, false, io)
    for (const f of b.finish()) {
      if (f.glob && !sh.opts.noglob) {
        const matches = globPaths(f.p, sh.sys.fs, sh.cwd)
        if (matches.length > 0) {
          out.push(...matches)
          continue
        }
      }
      out.push(f.v)
    }
  }
  return out
}

/** A word to one string: no splitting, no globbing (assignments, redirection targets, case). */
export async function expandString(sh: ExpansionHost, w: Word, io: Io): Promise<string> {
  const only = w.length === 1 ? (w[0] as Part) : undefined
  if (only?.t === 'q' || only?.t === 'lit') return only.v
  const b = new Fields(sh.ifs, true)
  await expandParts(sh, w, b, false, false, io)
  return b.finish()[0]?.v ?? ''
}

/** A word as a pattern: quoted characters escaped. */
export async function expandPattern(sh: ExpansionHost, w: Word, io: Io): Promise<string> {
  const b = new Fields(sh.ifs, true)
  await expandParts(sh, w, b, false, false, io)
  return b.finish()[0]?.p ?? ''
}

export async function expandHeredoc(sh: ExpansionHost, body: Part[], io: Io): Promise<string> {
  const b = new Fields(sh.ifs, true)
  await expandParts(sh, body, b, true, false, io)
  return b.finish()[0]?.v ?? ''
}

async function expandParts(sh: ExpansionHost, parts: Part[], b: Fields, quoted: boolean, inArg: boolean, io: Io): Promise<void> {
  for (const part of parts) {
    switch (part.t) {
      case 'lit':
        if (quoted) b.quoted(part.v)
        else if (inArg) b.split(part.v)
        else b.literal(part.v)
        break
      case 'q':
        b.quoted(part.v)
        break
      case 'dq': {
        const onlyAt =
          part.parts.length === 1 &&
          part.parts[0]?.t === 'param' &&
          part.parts[0].name === '@' &&
          !part.parts[0].op &&
          !part.parts[0].length
        if (!onlyAt) b.touch()
        await expandParts(sh, part.parts, b, true, inArg, io)
        break
      }
      case 'param':
        await expandParam(sh, part, b, quoted, io)
        break
      case 'cmd': {
        const text = await sh.commandSubstitution(part.body, io)
        if (quoted) b.quoted(text)
        else b.split(text)
        break
      }
      case 'arith': {
        const text = String(arith(sh, await expandArithText(sh, part.expr, io)))
        if (quoted) b.quoted(text)
        else b.split(text)
        break
      }
      case 'tilde': {
        const home = part.user === '' ? sh.getVar('HOME') : homeOf(sh, part.user)
        b.quoted(home ?? `~${part.user}`)
        break
      }
    }
  }
}

async function expandArithText(sh: ExpansionHost, parts: Part[], io: Io): Promise<string> {
  const b = new Fields(sh.ifs, true)
  await expandParts(sh, parts, b, true, false, io)
  return b.finish()[0]?.v ?? ''
}

/** Evaluates an arithmetic expression; an error ends the shell (as in ash). */
export function arith(sh: ExpansionHost, text: string): bigint {
  try {
    return evaluate(text, {
      get: (name) => sh.paramValue(name),
      set: (name, value) => sh.setVar(name, value),
    })
  } catch (err) {
    if (err instanceof ArithError) sh.fatal(err.message)
    if (err instanceof BuiltinError) sh.fatal(err.message)
    throw err
  }
}

function homeOf(sh: ExpansionHost, user: string): string | undefined {
  try {
    const passwd = sh.sys.fs.readFile('/etc/passwd').toString('utf8')
    for (const line of passwd.split('\n')) {
      const f = line.split(':')
      if (f[0] === user) return f[5]
    }
  } catch {
    // no /etc/passwd
  }
  return undefined
}

async function expandParam(sh: ExpansionHost, part: ParamPart, b: Fields, quoted: boolean, io: Io): Promise<void> {
  const name = part.name
  const emit = (s: string): void => (quoted ? b.quoted(s) : b.split(s))
  if ((name === '@' || name === '*') && !part.op && !part.length) {
    if (name === '*' && quoted) {
      const ifs = sh.getVar('IFS')
      b.quoted(sh.params.join(ifs === undefined ? ' ' : ifs.slice(0, 1)))
      return
    }
    sh.params.forEach((p, i) => {
      if (i > 0) b.brk(quoted)
      emit(p)
    })
    return
  }
  const value = sh.paramValue(name)
  if (part.length) {
    if (name === '@' || name === '*') return emit(String(sh.params.length))
    if (value === undefined && sh.opts.nounset) sh.fatal(`${name}: parameter not set`)
    return emit(String([...(value ?? '')].length))
  }
  const unset = value === undefined || (part.colon === true && value === '')
  switch (part.op) {
    case undefined:
      if (value === undefined && sh.opts.nounset && name !== '@' && name !== '*' && name !== '!') sh.fatal(`${name}: parameter not set`)
      return emit(value ?? '')
    case '-':
      if (unset) return expandParts(sh, part.arg ?? [], b, quoted, true, io)
      return emit(value)
    case '+':
      if (!unset) return expandParts(sh, part.arg ?? [], b, quoted, true, io)
      return
    case '=': {
      if (!unset) return emit(value)
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) sh.fatal(`${name}: bad variable name`)
      const v = await expandString(sh, part.arg ?? [], io)
      try {
        sh.setVar(name, v)
      } catch (err) {
        if (err instanceof BuiltinError) sh.fatal(err.message)
        throw err
      }
      return emit(v)
    }
    case '?': {
      if (!unset) return emit(value)
      const msg =
        part.arg && part.arg.length > 0
          ? await expandString(sh, part.arg, io)
          : part.colon
            ? 'parameter null or not set'
            : 'parameter not set'
      sh.fatal(`${name}: ${msg}`)
      return
    }
    case '#':
    case '##':
    case '%':
    case '%%':
      return emit(removeAffix(value ?? '', await expandPattern(sh, part.arg ?? [], io), part.op))
    case '/':
    case '//':
    case '/#':
    case '/%': {
      const pattern = await expandPattern(sh, part.arg ?? [], io)
      const replacement = await expandString(sh, part.arg2 ?? [], io)
      return emit(pattern === '' ? (value ?? '') : substitute(value ?? '', pattern, replacement, part.op))
    }
    case ':': {
      const chars = [...(value ?? '')]
      let offset = Number(arith(sh, await expandString(sh, part.arg ?? [], io)))
      if (offset < 0) offset = Math.max(0, chars.length + offset)
      let end = chars.length
      if (part.arg2) {
        const len = Number(arith(sh, await expandString(sh, part.arg2, io)))
        end = len < 0 ? chars.length + len : offset + len
      }
      return emit(chars.slice(offset, Math.max(offset, end)).join(''))
    }
  }
}

// The syntax tree of a POSIX sh script (the subset busybox ash scripts use), as src/sim/shell/parser.ts
// builds it and src/sim/shell/interpreter.ts runs it.

/** A piece of a word. Quoted text is never split or globbed; unquoted text and expansions may be. */
export type Part =
  /** Unquoted literal text (glob characters in it are active). */
  | { t: 'lit'; v: string }
  /** Quoted literal text: inside '…', "…", or a backslash escape. */
  | { t: 'q'; v: string }
  | { t: 'dq'; parts: Part[] }
  | ParamPart
  /** $(…) or `…` */
  | { t: 'cmd'; body: List }
  /** $((…)): the expression's text is expanded first, then evaluated. */
  | { t: 'arith'; expr: Part[] }
  /** ~ or ~user at the start of a word */
  | { t: 'tilde'; user: string }

export type ParamOp =
  | '-'
  | '='
  | '?'
  | '+'
  | '#'
  | '##'
  | '%'
  | '%%'
  | '/'
  | '//'
  | '/#'
  | '/%'
  /** ${x:offset:length} */
  | ':'

export interface ParamPart {
  t: 'param'
  name: string
  /** ${#x} */
  length?: boolean
  op?: ParamOp
  /** The operator with a colon (${x:-y}): an empty value counts as unset. */
  colon?: boolean
  arg?: Part[]
  /** The replacement of ${x/p/r}, or the length of ${x:o:l}. */
  arg2?: Part[]
}

export type Word = Part[]

export interface Assign {
  name: string
  value: Word
}

export type RedirOp = '<' | '>' | '>>' | '>|' | '<&' | '>&' | '<>' | '<<' | '<<-' | '&>'

export interface Redir {
  op: RedirOp
  /** The fd written before the operator (2>…); undefined for the default. */
  fd?: number
  target: Word
  /** For << and <<-: the document, read after the line the redirection is on. */
  heredoc?: { body: Word; quoted: boolean }
}

export interface SimpleCommand {
  type: 'simple'
  assigns: Assign[]
  words: Word[]
  redirs: Redir[]
  line: number
}

interface Compound {
  redirs: Redir[]
  line: number
}

export type Command =
  | SimpleCommand
  | ({ type: 'group'; body: List } & Compound)
  | ({ type: 'subshell'; body: List } & Compound)
  | ({ type: 'if'; clauses: { cond: List; body: List }[]; else?: List } & Compound)
  | ({ type: 'loop'; until: boolean; cond: List; body: List } & Compound)
  | ({ type: 'for'; name: string; items?: Word[]; body: List } & Compound)
  | ({ type: 'case'; word: Word; items: { patterns: Word[]; body: List }[] } & Compound)
  | ({ type: 'function'; name: string; body: Command } & Compound)

export interface Pipeline {
  negate: boolean
  commands: Command[]
}

export interface AndOr {
  first: Pipeline
  rest: { op: '&&' | '||'; pipeline: Pipeline }[]
}

export interface ListItem {
  andOr: AndOr
  background: boolean
}

export type List = ListItem[]

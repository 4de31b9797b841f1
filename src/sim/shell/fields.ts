// Field splitting: how the expanded pieces of one word become zero or more arguments. Quoted text is
// kept whole; the results of unquoted expansions are split on $IFS (POSIX 2.6.5); each field keeps a
// pattern form (quoted characters escaped) for pathname expansion.
import { escapeGlob } from './pattern.js'

export interface Field {
  /** The text. */
  v: string
  /** The text as a pattern: quoted characters escaped. */
  p: string
  /** Has unquoted pattern characters. */
  glob: boolean
}

const IFS_WHITE = ' \t\n'

export class Fields {
  #out: Field[] = []
  #cur: Field | undefined
  /** After a field ended: 'ws' when IFS white space ended it (a following IFS character joins that delimiter). */
  #state: 'start' | 'ws' | 'nws' = 'start'

  /** `noSplit`: one field, nothing split (assignments, redirection targets, case words, patterns). */
  constructor(
    readonly ifs: string,
    readonly noSplit = false,
  ) {}

  #ensure(): Field {
    return (this.#cur ??= { v: '', p: '', glob: false })
  }

  quoted(s: string): void {
    const f = this.#ensure()
    f.v += s
    f.p += escapeGlob(s)
  }

  /** Unquoted text that is not split: its pattern characters stay active. */
  literal(s: string): void {
    if (s === '') return
    const f = this.#ensure()
    f.v += s
    f.p += s.replace(/\\/g, '\\\\')
    if (/[*?[]/.test(s)) f.glob = true
  }

  /** The result of an unquoted expansion: split on IFS. */
  split(s: string): void {
    if (this.noSplit || this.ifs === '') return this.literal(s)
    let run = ''
    for (const ch of s) {
      if (!this.ifs.includes(ch)) {
        run += ch
        continue
      }
      if (run !== '') {
        this.literal(run)
        run = ''
      }
      const white = IFS_WHITE.includes(ch)
      if (this.#cur !== undefined) {
        this.#out.push(this.#cur)
        this.#cur = undefined
        this.#state = white ? 'ws' : 'nws'
      } else if (!white) {
        if (this.#state !== 'ws') this.#out.push({ v: '', p: '', glob: false })
        this.#state = 'nws'
      }
    }
    this.literal(run)
  }

  /** Between the values of $@: a new field (an empty one too, when quoted). */
  brk(quoted: boolean): void {
    if (this.noSplit) return this.quoted(' ')
    if (quoted) this.#out.push(this.#ensure())
    else if (this.#cur !== undefined) this.#out.push(this.#cur)
    this.#cur = undefined
    this.#state = 'start'
  }

  /** Makes sure there is a field, even an empty one ("" is one empty argument). */
  touch(): void {
    this.#ensure()
  }

  finish(): Field[] {
    if (this.#cur !== undefined) this.#out.push(this.#cur)
    this.#cur = undefined
    return this.#out
  }
}

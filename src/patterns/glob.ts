// Glob matching in linear time by construction: the pattern is a list of tokens (`*`, or a test
// of one character: a literal, `?`, a bracket expression) run as an NFA over the text, one pass,
// O(text × pattern) at worst and never exponential (a backtracking RegExp from `*a*a*a*a*b` is
// O(text^5)). The shell's patterns (sim/shell/pattern.ts) and the fault rules' globs use it.

/** `*` (any run of characters), or a test of one character. */
export type GlobToken = '*' | ((c: string) => boolean)

export class Glob {
  readonly #tokens: readonly GlobToken[]
  readonly #reversed: readonly GlobToken[]

  constructor(tokens: readonly GlobToken[]) {
    this.#tokens = tokens
    this.#reversed = [...tokens].reverse()
  }

  /** Whether text[start, end) is a match. */
  test(text: string, start = 0, end = text.length): boolean {
    let hit = false
    this.#run(text.slice(0, end), start, 1, (pos) => (hit = pos === end))
    return hit
  }

  /** The ends e of the matches text[start, e), ascending. */
  ends(text: string, start: number): number[] {
    const out: number[] = []
    this.#run(text, start, 1, (pos) => void out.push(pos))
    return out
  }

  /** The starts s of the matches text[s, end), descending. */
  starts(text: string, end: number): number[] {
    const out: number[] = []
    this.#run(text, end, -1, (pos) => void out.push(pos))
    return out
  }

  /** Runs the NFA from `from` reading forward (dir 1) or backward (-1); visit(pos) at every accepting position, true stops. */
  #run(text: string, from: number, dir: 1 | -1, visit: (pos: number) => boolean | void): void {
    const tokens = dir === 1 ? this.#tokens : this.#reversed
    const m = tokens.length
    let cur = new Uint8Array(m + 1)
    let next = new Uint8Array(m + 1)
    const close = (set: Uint8Array): void => {
      for (let k = 0; k < m; k++) if (set[k] === 1 && tokens[k] === '*') set[k + 1] = 1
    }
    cur[0] = 1
    close(cur)
    for (let pos = from; ; pos += dir) {
      if (cur[m] === 1 && visit(pos) === true) return
      const c = dir === 1 ? text[pos] : text[pos - 1]
      if (c === undefined) return
      next.fill(0)
      let alive = false
      for (let k = 0; k < m; k++) {
        if (cur[k] !== 1) continue
        const t = tokens[k] as GlobToken
        if (t === '*') next[k] = 1
        else if (t(c)) next[k + 1] = 1
        else continue
        alive = true
      }
      if (!alive) return
      close(next)
      ;[cur, next] = [next, cur]
    }
  }
}

/** A glob whose only special characters are `*` and (unless `question` is false) `?`: the fault rules', nginx's include. */
export function simpleGlob(glob: string, question = true): Glob {
  const token = (c: string): GlobToken => (c === '*' ? '*' : c === '?' && question ? () => true : (x) => x === c)
  return new Glob(glob.split('').map(token))
}

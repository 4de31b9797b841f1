// A small POSIX-sh subset for `sh -c` scripts: words with quotes and backslashes, $VAR / ${VAR} /
// $? expansion, and lists joined by `;`, `&&`, `||` and newlines. Enough for issue #2's commands;
// the full shell (pipes, redirections, control flow) is a later issue.
import { ShellExit, lookupCommand } from './commands.js'
import type { ProgramContext, Stream } from './process.js'

/** A word is literal text and variable references, expanded when its command runs. */
type Part = string | { variable: string }
type Word = Part[]
type Operator = ';' | '&&' | '||'
interface Command {
  words: Word[]
  /** How this command joins the one before it. */
  after: Operator
}

export class ShellSyntaxError extends Error {}

export function parse(script: string): Command[] {
  const commands: Command[] = []
  let words: Word[] = []
  let word: Word | undefined
  let after: Operator = ';'
  const endWord = (): void => {
    if (word !== undefined) words.push(word)
    word = undefined
  }
  const endCommand = (op: Operator): void => {
    endWord()
    if (words.length > 0) commands.push({ words, after })
    else if (op !== ';') throw new ShellSyntaxError(`unexpected "${op}"`)
    words = []
    after = op
  }
  const variable = (i: number): [Part, number] => {
    const rest = script.slice(i + 1)
    const braced = /^\{([A-Za-z_][A-Za-z0-9_]*|\?)\}/.exec(rest)
    if (braced) return [{ variable: braced[1] as string }, i + 1 + braced[0].length]
    const plain = /^([A-Za-z_][A-Za-z0-9_]*|\?)/.exec(rest)
    if (plain) return [{ variable: plain[1] as string }, i + 1 + plain[0].length]
    return ['$', i + 1]
  }
  let i = 0
  while (i < script.length) {
    const ch = script[i] as string
    if (ch === ' ' || ch === '\t') {
      endWord()
      i++
    } else if (ch === '\n' || ch === ';') {
      endCommand(';')
      i++
    } else if (script.startsWith('&&', i) || script.startsWith('||', i)) {
      endCommand(script.slice(i, i + 2) as Operator)
      i += 2
    } else if (ch === '#' && word === undefined) {
      while (i < script.length && script[i] !== '\n') i++
    } else if (ch === "'") {
      const end = script.indexOf("'", i + 1)
      if (end === -1) throw new ShellSyntaxError('unterminated quoted string')
      word = [...(word ?? []), script.slice(i + 1, end)]
      i = end + 1
    } else if (ch === '"') {
      word = word ?? []
      i++
      while (i < script.length && script[i] !== '"') {
        const c = script[i] as string
        if (c === '\\' && '$`"\\\n'.includes(script[i + 1] ?? '')) {
          word.push(script[i + 1] as string)
          i += 2
        } else if (c === '$') {
          const [part, next] = variable(i)
          word.push(part)
          i = next
        } else {
          word.push(c)
          i++
        }
      }
      if (i >= script.length) throw new ShellSyntaxError('unterminated quoted string')
      i++
    } else if (ch === '\\') {
      word = [...(word ?? []), script[i + 1] ?? '']
      i += 2
    } else if (ch === '$') {
      const [part, next] = variable(i)
      word = [...(word ?? []), part]
      i = next
    } else {
      word = [...(word ?? []), ch]
      i++
    }
  }
  endCommand(';')
  return commands
}

/** Runs a script; returns the status of the last command run (or the `exit` status). */
export async function runScript(script: string, ctx: ProgramContext): Promise<number> {
  let commands: Command[]
  try {
    commands = parse(script)
  } catch (err) {
    ctx.write('stderr', `sh: syntax error: ${(err as Error).message}\n`)
    return 2
  }
  let status = 0
  const expand = (word: Word): string =>
    word.map((p) => (typeof p === 'string' ? p : p.variable === '?' ? String(status) : (ctx.env[p.variable] ?? ''))).join('')
  for (const cmd of commands) {
    if (cmd.after === '&&' && status !== 0) continue
    if (cmd.after === '||' && status === 0) continue
    try {
      status = await runCommand(cmd.words.map(expand), ctx)
    } catch (err) {
      if (err instanceof ShellExit) return err.code
      throw err
    }
  }
  return status
}

async function runCommand(words: string[], ctx: ProgramContext): Promise<number> {
  const redirected = applyRedirections(words, ctx)
  if (typeof redirected === 'number') return redirected
  const [argv, rctx] = redirected
  if (argv.length === 0) return 0
  const name = argv[0] as string
  const command = lookupCommand(name)
  if (command === undefined) {
    rctx.write('stderr', `sh: ${name}: not found\n`)
    return 127
  }
  return command(argv, rctx)
}

/**
 * Output redirections between the two streams and to /dev/null (`>&2`, `2>&1`, `>/dev/null`).
 * Files are the filesystem simulator's business (a later issue); until then they fail loudly.
 */
function applyRedirections(words: string[], ctx: ProgramContext): [string[], ProgramContext] | number {
  const target: Record<Stream, Stream | null> = { stdout: 'stdout', stderr: 'stderr' }
  const argv: string[] = []
  for (let i = 0; i < words.length; i++) {
    const m = /^([12]?)>(&[12]|.*)$/.exec(words[i] as string)
    if (!m) {
      argv.push(words[i] as string)
      continue
    }
    const from: Stream = m[1] === '2' ? 'stderr' : 'stdout'
    let to = m[2] as string
    if (to === '') to = words[++i] ?? ''
    if (to === '&1' || to === '&2') target[from] = target[to === '&1' ? 'stdout' : 'stderr']
    else if (to === '/dev/null') target[from] = null
    else {
      ctx.write('stderr', `sh: can't create ${to}: files are not simulated yet\n`)
      return 1
    }
  }
  const write = (stream: Stream, text: string): void => {
    const to = target[stream]
    if (to) ctx.write(to, text)
  }
  return [argv, { ...ctx, write }]
}

// grep (egrep, fgrep) as busybox has it: patterns as POSIX basic or extended regular expressions
// or fixed strings, over files, stdin or (-r) directory trees in the container's Fs.
import type { Command, CommandContext } from '../context.js'
import { abs, has, last, lines, parseOptions, reason, usage } from './fs-common.js'
import { posixRegExp } from './fs-regex.js'
import { regexLiteral } from '../shell/pattern.js'
import { STDIN_NAME, err } from './text-input.js'

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

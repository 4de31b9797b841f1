// The sed command as busybox has it: its options (-n, -r/-E, -e, -f, -i with a backup suffix),
// the script from them, and its files edited in place or their output written.
import type { Command } from '../../context.js'
import { abs, has, lines, parseOptions, reason, usage } from '../fs-common.js'
import { err, open } from '../text-input.js'
import { SedError, parseSed, type SedCmd } from './parse.js'
import { runSed, type SedInput } from './run.js'

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

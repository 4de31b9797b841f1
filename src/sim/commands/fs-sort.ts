// sort and uniq as busybox has them: sorting lines (by keys, numerically, folded, reversed,
// uniquely) and dropping or counting repeated adjacent lines.
import type { Command } from '../context.js'
import { abs, has, last, lines, parseOptions, reason, usage } from './fs-common.js'
import { err, open } from './text-input.js'

// ---- sort, uniq ----

const sortSpec = { flags: 'nrufbsdgc', valued: 'ktoT', usage: '[-nrugMcszbdfiokt] [-o FILE] [-k START[,END]] [-t CHAR] [FILE]...' }

/** The leading number of a line, as sort -n reads it (none is 0). */
const leadingNumber = (s: string): number => {
  const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+))/.exec(s)
  return m ? Number(m[1]) : 0
}

const cmpBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export const sort: Command = async (args, ctx) => {
  const o = parseOptions('sort', args.slice(1), sortSpec, ctx)
  if (typeof o === 'number') return 2
  let text = ''
  for (const file of o.operands.length > 0 ? o.operands : ['-']) {
    const data = await open(ctx, 'sort', file, 'perror')
    if (data === undefined) return 2
    const t = data.toString('utf8')
    text += text !== '' && !text.endsWith('\n') ? `\n${t}` : t
  }
  const sep = last(o, 't')
  const keySpec = last(o, 'k')
  let key = (line: string): string => line
  if (keySpec !== undefined) {
    const m = /^(\d+)(?:\.\d+)?[a-z]*(?:,(\d+)(?:\.\d+)?[a-z]*)?$/.exec(keySpec)
    if (!m) {
      err(ctx, `sort: bad field specification '${keySpec}'`)
      return 2
    }
    const from = Number(m[1])
    const to = m[2] !== undefined ? Number(m[2]) : Infinity
    key = (line) => {
      const fields = sep !== undefined ? line.split(sep) : (line.match(/\s*\S+/g) ?? [])
      return fields.slice(from - 1, to === Infinity ? undefined : to).join(sep ?? '')
    }
  }
  const fold = has(o, 'f')
  const blanks = has(o, 'b')
  const compareKeys = (a: string, b: string): number => {
    let ka = key(a)
    let kb = key(b)
    if (blanks) {
      ka = ka.trimStart()
      kb = kb.trimStart()
    }
    if (has(o, 'n') || has(o, 'g')) return Math.sign(leadingNumber(ka) - leadingNumber(kb))
    return fold ? cmpBytes(ka.toUpperCase(), kb.toUpperCase()) : cmpBytes(ka, kb)
  }
  const reverse = has(o, 'r') ? -1 : 1
  const unique = has(o, 'u')
  const input = lines(text)
  if (has(o, 'c')) {
    for (let i = 1; i < input.length; i++) {
      const c = compareKeys(input[i - 1] as string, input[i] as string) * reverse
      if (c > 0 || (unique && c === 0)) {
        err(ctx, `sort: -:${i + 1}: disorder: ${input[i] as string}`)
        return 1
      }
    }
    return 0
  }
  const sorted = input
    .map((line, i) => ({ line, i }))
    .sort((a, b) => {
      const c = compareKeys(a.line, b.line)
      if (c !== 0 || unique || has(o, 's')) return c * reverse || a.i - b.i
      return cmpBytes(a.line, b.line) * reverse || a.i - b.i
    })
    .map((e) => e.line)
  const kept = unique ? sorted.filter((l, i) => i === 0 || compareKeys(sorted[i - 1] as string, l) !== 0) : sorted
  const result = kept.map((l) => `${l}\n`).join('')
  const outFile = last(o, 'o')
  if (outFile !== undefined) {
    try {
      ctx.fs.writeFile(abs(ctx, outFile), result)
    } catch (e) {
      err(ctx, `sort: can't open '${outFile}': ${reason(e)}`)
      return 2
    }
    return 0
  }
  ctx.write('stdout', result)
  return 0
}

const uniqSpec = { flags: 'cduiz', valued: 'fsw', usage: '[-cduiz] [-f,s,w N] [FILE [OUTFILE]]' }

export const uniq: Command = async (args, ctx) => {
  const o = parseOptions('uniq', args.slice(1), uniqSpec, ctx)
  if (typeof o === 'number') return o
  if (o.operands.length > 2) return usage(ctx, 'uniq', uniqSpec)
  const [input = '-', output] = o.operands
  const data = await open(ctx, 'uniq', input, 'open')
  if (data === undefined) return 1
  const skipFields = Number(last(o, 'f') ?? 0)
  const skipChars = Number(last(o, 's') ?? 0)
  const maxChars = last(o, 'w') !== undefined ? Number(last(o, 'w')) : Infinity
  const compareKey = (line: string): string => {
    let s = line
    for (let k = 0; k < skipFields; k++) s = s.replace(/^\s*\S*/, '')
    s = s.slice(skipChars).slice(0, maxChars === Infinity ? undefined : maxChars)
    return has(o, 'i') ? s.toLowerCase() : s
  }
  let out = ''
  const all = lines(data.toString('utf8'))
  for (let i = 0; i < all.length;) {
    const line = all[i] as string
    let j = i + 1
    while (j < all.length && compareKey(all[j] as string) === compareKey(line)) j++
    const dups = j - i - 1
    const show = dups > 0 ? !has(o, 'u') : !has(o, 'd')
    if (show) out += `${has(o, 'c') ? `${String(dups + 1).padStart(7)} ` : ''}${line}\n`
    i = j
  }
  if (output !== undefined && output !== '-') {
    try {
      ctx.fs.writeFile(abs(ctx, output), out)
    } catch (e) {
      err(ctx, `uniq: can't open '${output}': ${reason(e)}`)
      return 1
    }
    return 0
  }
  ctx.write('stdout', out)
  return 0
}

// cut and tr as busybox has them: selecting fields, characters or bytes of each line, and
// translating or deleting characters (with ranges, escapes and [:classes:]).
import type { Command } from '../context.js'
import { has, last, lines, parseOptions, usage } from './fs-common.js'
import { err, open } from './text-input.js'

// ---- cut ----

const cutSpec = { flags: 'sn', valued: 'dfcb', usage: '[OPTIONS] [FILE]...' }

/** "1,3-5,7-" as a test for 1-based positions; undefined when malformed. */
function positions(list: string): ((n: number) => boolean) | undefined {
  const ranges: [number, number][] = []
  for (const part of list.split(',')) {
    const m = /^(\d*)(-?)(\d*)$/.exec(part)
    if (!m || part === '' || part === '-') return undefined
    const from = m[1] ? Number(m[1]) : 1
    const to = m[2] ? (m[3] ? Number(m[3]) : Infinity) : from
    if (from < 1 || to < from) return undefined
    ranges.push([from, to])
  }
  return (n) => ranges.some(([a, b]) => n >= a && n <= b)
}

export const cut: Command = async (args, ctx) => {
  const o = parseOptions('cut', args.slice(1), cutSpec, ctx)
  if (typeof o === 'number') return o
  const fields = last(o, 'f')
  const chars = last(o, 'c') ?? last(o, 'b')
  if ((fields === undefined) === (chars === undefined)) {
    err(ctx, 'cut: expected a list of bytes, characters, or fields')
    return 1
  }
  const list = (fields ?? chars) as string
  const pick = positions(list)
  if (!pick) {
    err(ctx, `cut: invalid range '${list}'`)
    return 1
  }
  const delim = last(o, 'd') ?? '\t'
  if ([...delim].length !== 1) {
    err(ctx, 'cut: the delimiter must be a single character')
    return 1
  }
  let status = 0
  let out = ''
  for (const file of o.operands.length > 0 ? o.operands : ['-']) {
    const data = await open(ctx, 'cut', file, 'perror')
    if (data === undefined) {
      status = 1
      continue
    }
    for (const line of lines(data.toString('utf8'))) {
      if (fields === undefined) {
        out += `${[...line].filter((_c, k) => pick(k + 1)).join('')}\n`
        continue
      }
      if (!line.includes(delim)) {
        if (!has(o, 's')) out += `${line}\n`
        continue
      }
      out += `${line
        .split(delim)
        .filter((_f, k) => pick(k + 1))
        .join(delim)}\n`
    }
  }
  ctx.write('stdout', out)
  return status
}

// ---- tr ----

const trSpec = { flags: 'cCds', usage: '[-cds] STRING1 [STRING2]' }

const TR_CLASSES: Readonly<Record<string, (c: number) => boolean>> = {
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  digit: (c) => c >= 48 && c <= 57,
  alnum: (c) => TR_CLASSES.alpha!(c) || TR_CLASSES.digit!(c),
  upper: (c) => c >= 65 && c <= 90,
  lower: (c) => c >= 97 && c <= 122,
  space: (c) => c === 32 || (c >= 9 && c <= 13),
  blank: (c) => c === 32 || c === 9,
  punct: (c) => c > 32 && c < 127 && !TR_CLASSES.alnum!(c),
  print: (c) => c >= 32 && c < 127,
  graph: (c) => c > 32 && c < 127,
  cntrl: (c) => c < 32 || c === 127,
  xdigit: (c) => TR_CLASSES.digit!(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
}

/** Expands a tr set: escapes, ranges (a-z), classes ([:upper:]). */
function expandSet(set: string): string[] {
  const out: string[] = []
  const chars: string[] = []
  for (let i = 0; i < set.length; i++) {
    const c = set[i] as string
    if (c === '[' && set[i + 1] === ':') {
      const end = set.indexOf(':]', i + 2)
      const test = end === -1 ? undefined : TR_CLASSES[set.slice(i + 2, end)]
      if (test) {
        for (let k = 0; k < 128; k++) if (test(k)) chars.push(`\0class${String.fromCharCode(k)}`)
        i = end + 1
        continue
      }
    }
    if (c === '\\' && i + 1 < set.length) {
      const n = set[++i] as string
      const oct = /^[0-7]{1,3}/.exec(set.slice(i))
      if (oct) {
        chars.push(String.fromCharCode(parseInt(oct[0], 8)))
        i += oct[0].length - 1
      } else chars.push(({ n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' } as Record<string, string>)[n] ?? n)
      continue
    }
    chars.push(c)
  }
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string
    if (c.startsWith('\0class')) {
      out.push(c.slice(6))
      continue
    }
    const to = chars[i + 2]
    if (chars[i + 1] === '-' && to !== undefined && !to.startsWith('\0class')) {
      const a = c.codePointAt(0) as number
      const b = to.codePointAt(0) as number
      for (let k = a; k <= b; k++) out.push(String.fromCodePoint(k))
      i += 2
      continue
    }
    out.push(c)
  }
  return out
}

export const tr: Command = async (args, ctx) => {
  const o = parseOptions('tr', args.slice(1), trSpec, ctx)
  if (typeof o === 'number') return o
  const [s1, s2] = o.operands
  const del = has(o, 'd')
  const squeeze = has(o, 's')
  if (s1 === undefined || (!del && !squeeze && s2 === undefined)) return usage(ctx, 'tr', trSpec)
  const complement = has(o, 'c') || has(o, 'C')
  const set1 = new Set(expandSet(s1))
  const in1 = (ch: string): boolean => set1.has(ch) !== complement
  const set2 = s2 === undefined ? [] : expandSet(s2)
  const text = await ctx.stdin.readAll()
  let out = ''
  const squeezeSet = new Set(del || s2 === undefined ? (del ? set2 : [...set1]) : set2)
  const list1 = [...set1]
  for (const ch of text) {
    let c: string | undefined = ch
    if (del) {
      if (in1(ch)) c = undefined
    } else if (s2 !== undefined && in1(ch)) {
      const k = complement ? set2.length - 1 : list1.indexOf(ch)
      c = set2[Math.min(k, set2.length - 1)] ?? ch
    }
    if (c === undefined) continue
    if (squeeze && (squeezeSet.has(c) || (s2 === undefined && !del && in1(c))) && out.endsWith(c)) continue
    out += c
  }
  ctx.write('stdout', out)
  return 0
}

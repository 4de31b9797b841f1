// Text commands that count and slice files as busybox has them: wc, head, tail (with -f following
// a file on the simulated clock until the process is killed). Each reads its file operands through
// the container's Fs, or stdin when there are none (or "-"). grep, sed, cut/tr and sort/uniq have
// modules of their own (fs-grep.ts, sed/, fs-cut-tr.ts, fs-sort.ts).
import type { Command } from '../context.js'
import { FsError } from '../fs/types.js'
import { abs, chunks, has, last, parseCount, parseOptions, reason } from './fs-common.js'
import { STDIN_NAME, err, open } from './text-input.js'

/** "-5" as "-n 5" (head and tail's old syntax), "+5" as "-n +5" (tail). */
function legacyCount(args: readonly string[], plus: boolean): string[] {
  const first = args[0]
  if (first !== undefined && (/^-\d+[bkm]?$/.test(first) || (plus && /^\+\d+$/.test(first)))) {
    return ['-n', first.startsWith('+') ? first : first.slice(1), ...args.slice(1)]
  }
  return [...args]
}

// ---- wc ----

const wcSpec = { flags: 'lwcmL', usage: '[-cmlwL] [FILE]...' }

/**
 * wc's counts in one pass (the input may be large: no arrays of its lines or characters): lines,
 * words, characters, bytes, and the longest line (a tab counting as 8).
 */
function countText(text: string, bytes: number): Record<'l' | 'w' | 'm' | 'c' | 'L', number> {
  let l = 0
  let w = 0
  let m = 0
  let longest = 0
  let line = 0
  let inWord = false
  for (const ch of text) {
    m++
    if (ch === '\n') {
      l++
      longest = Math.max(longest, line)
      line = 0
    } else line += ch === '\t' ? 8 : 1
    const code = ch.charCodeAt(0)
    const space = code === 32 || (code >= 9 && code <= 13) || (code > 127 && /\s/.test(ch))
    if (!space && !inWord) w++
    inWord = !space
  }
  return { l, w, m, c: bytes, L: Math.max(longest, line) }
}

export const wc: Command = async (args, ctx) => {
  const o = parseOptions('wc', args.slice(1), wcSpec, ctx)
  if (typeof o === 'number') return o
  // Counts in busybox's order: lines, words, chars, bytes, longest line.
  const order = ['l', 'w', 'm', 'c', 'L'] as const
  const wanted = order.filter((f) => has(o, f))
  const shown = wanted.length > 0 ? wanted : (['l', 'w', 'c'] as const)
  const files = o.operands.length > 0 ? o.operands : ['-']
  const single = files.length === 1 && shown.length === 1
  const totals: Record<string, number> = { l: 0, w: 0, m: 0, c: 0, L: 0 }
  let status = 0
  let out = ''
  const print = (counts: Record<string, number>, name: string | undefined): void => {
    out += shown
      .map((f, i) => (single ? String(counts[f]) : `${i === 0 ? '' : ' '}${String(counts[f]).padStart(9)}`))
      .join(single ? ' ' : '')
    out += name === undefined ? '\n' : ` ${name}\n`
  }
  for (const file of files) {
    let data: Buffer | undefined
    let failed = false
    if (file === '-') data = Buffer.from(await ctx.stdin.readAll())
    else {
      try {
        data = ctx.fs.readFile(abs(ctx, file))
      } catch (e) {
        err(ctx, `wc: ${file}: ${reason(e)}`)
        status = 1
        if (!(e instanceof FsError && e.code === 'EISDIR')) continue
        failed = true
      }
    }
    const counts = failed ? { l: 0, w: 0, m: 0, c: 0, L: 0 } : countText(data?.toString('utf8') ?? '', data?.length ?? 0)
    for (const k of order) totals[k] = k === 'L' ? Math.max(totals.L ?? 0, counts.L) : (totals[k] ?? 0) + counts[k]
    print(counts, file === '-' && o.operands.length === 0 ? undefined : file)
  }
  if (files.length > 1) print(totals, 'total')
  ctx.write('stdout', out)
  return status
}

// ---- head, tail ----

const headSpec = { flags: 'qv', valued: 'nc', usage: '[OPTIONS] [FILE]...' }

export const head: Command = async (args, ctx) => {
  const o = parseOptions('head', legacyCount(args.slice(1), false), headSpec, ctx)
  if (typeof o === 'number') return o
  const bytesText = last(o, 'c')
  const countText = bytesText ?? last(o, 'n') ?? '10'
  const negative = countText.startsWith('-')
  const count = parseCount(countText.replace(/^[-+]/, ''))
  if (count === undefined) {
    err(ctx, `head: invalid number '${countText}'`)
    return 1
  }
  const bytes = bytesText !== undefined
  const files = o.operands.length > 0 ? o.operands : ['-']
  const headers = has(o, 'v') || (files.length > 1 && !has(o, 'q'))
  const cut = (text: string): string => {
    if (bytes) {
      const b = Buffer.from(text)
      return (negative ? b.subarray(0, Math.max(0, b.length - count)) : b.subarray(0, count)).toString('utf8')
    }
    const parts = text.split(/(?<=\n)/)
    return (negative ? parts.slice(0, Math.max(0, parts.length - count)) : parts.slice(0, count)).join('')
  }
  let status = 0
  let first = true
  for (const file of files) {
    if (file === '-' && !negative && count > 0) {
      // Stops reading once it has enough (a pipe from an endless writer ends here).
      if (headers) ctx.write('stdout', `${first ? '' : '\n'}==> ${STDIN_NAME} <==\n`)
      first = false
      let left = count
      for await (const chunk of chunks(ctx)) {
        let piece: string
        if (bytes) {
          piece = Buffer.from(chunk).subarray(0, left).toString('utf8')
          left -= Buffer.byteLength(piece)
        } else {
          let end = 0
          while (left > 0 && end < chunk.length) {
            const nl = chunk.indexOf('\n', end)
            if (nl === -1) {
              end = chunk.length
              break
            }
            end = nl + 1
            left--
          }
          piece = chunk.slice(0, end)
        }
        ctx.write('stdout', piece)
        if (left <= 0) break
      }
      continue
    }
    const data = await open(ctx, 'head', file, 'perror')
    if (data === undefined) {
      status = 1
      continue
    }
    if (headers) ctx.write('stdout', `${first ? '' : '\n'}==> ${file === '-' ? STDIN_NAME : file} <==\n`)
    first = false
    ctx.write('stdout', cut(data.toString('utf8')))
  }
  return status
}

const tailSpec = { flags: 'fFqv', valued: 'ncs', usage: '[OPTIONS] [FILE]...' }

export const tail: Command = async (args, ctx) => {
  const o = parseOptions('tail', legacyCount(args.slice(1), true), tailSpec, ctx)
  if (typeof o === 'number') return o
  const bytesText = last(o, 'c')
  const countText = bytesText ?? last(o, 'n') ?? '10'
  const fromTop = countText.startsWith('+')
  const count = parseCount(countText.replace(/^[-+]/, ''))
  if (count === undefined) {
    err(ctx, `tail: invalid number '${countText}'`)
    return 1
  }
  const bytes = bytesText !== undefined
  const sleepMs = (last(o, 's') !== undefined ? Number(last(o, 's')) : 1) * 1000
  const files = o.operands.length > 0 ? o.operands : ['-']
  const follow = (has(o, 'f') || has(o, 'F')) && !(files.length === 1 && files[0] === '-')
  const headers = has(o, 'v') || (files.length > 1 && !has(o, 'q'))
  const cut = (data: Buffer): Buffer => {
    if (bytes) return fromTop ? data.subarray(Math.max(0, count - 1)) : data.subarray(Math.max(0, data.length - count))
    const parts = data.toString('utf8').split(/(?<=\n)/)
    const kept = fromTop ? parts.slice(Math.max(0, count - 1)) : parts.slice(Math.max(0, parts.length - count))
    return Buffer.from(kept.join(''))
  }
  let status = 0
  let header = '==> %s <==\n'
  const opened: { file: string; pos: number }[] = []
  for (const file of files) {
    const data = await open(ctx, 'tail', file, 'open')
    if (data === undefined) {
      status = 1
      continue
    }
    if (headers) ctx.write('stdout', header.replace('%s', file === '-' ? STDIN_NAME : file))
    header = '\n==> %s <==\n'
    ctx.write('stdout', cut(data).toString('utf8'))
    opened.push({ file, pos: data.length })
  }
  if (opened.length === 0) {
    err(ctx, 'tail: no files')
    return 1
  }
  if (!follow) return status
  let previous = opened[opened.length - 1]
  // Follow until killed: the sleep rejects when the process ends, which ends this command.
  for (;;) {
    await ctx.clock.sleep(sleepMs, ctx.signal)
    for (const f of opened) {
      let data: Buffer
      try {
        data = ctx.fs.readFile(abs(ctx, f.file))
      } catch {
        continue
      }
      if (data.length < f.pos) f.pos = 0 // truncated: follow from its start
      if (data.length === f.pos) continue
      if (headers && previous !== f) ctx.write('stdout', `\n==> ${f.file} <==\n`)
      previous = f
      ctx.write('stdout', data.subarray(f.pos).toString('utf8'))
      f.pos = data.length
    }
  }
}

// chmod as busybox 1.37 has it, with busybox's mode parser (libbb/parse_mode.c): octal, or
// symbolic clauses such as "u+x,go-w", "a=r", "g=u", "+X". chmod(2) goes through the container's
// Fs, where ownership (CAP_FOWNER), a read-only mount and the seccomp filter can refuse it.
import type { Command } from '../context.js'
import type { FileStat } from '../fs/types.js'
import { abs, modeString, reason, statOr, usage } from './fs-common.js'

const UMASK = 0o022
const WHO: Readonly<Record<string, number>> = { a: 0o7777, u: 0o4700, g: 0o2070, o: 0o0007 }
const PERM: Readonly<Record<string, number>> = { r: 0o444, w: 0o222, x: 0o111, X: 0o111, s: 0o6000, t: 0o1000 }

/** The new mode for a mode text applied to `current` (of a directory when `dir`); undefined when it is not a mode. */
export function parseMode(text: string, current: number, dir = false): number | undefined {
  if (/^[0-7]/.test(text)) {
    if (!/^[0-7]+$/.test(text)) return undefined
    const n = parseInt(text, 8)
    return n > 0o7777 ? undefined : n
  }
  let mode = current
  let i = 0
  const at = (): string => text[i] ?? ''
  while (i < text.length) {
    if (at() === ',') {
      i++
      continue
    }
    let who = 0
    while (WHO[at()] !== undefined) {
      who |= WHO[at()] as number
      if (++i >= text.length) return undefined
    }
    do {
      const op = at()
      if (op !== '+' && op !== '-' && op !== '=') return undefined
      if (op === '=') mode &= who ? ~who : ~0o7777
      i++
      let perms = 0
      const copy = at()
      if (copy === 'u' || copy === 'g' || copy === 'o') {
        // Permission copy: the source class's rwx bits, for every class.
        const bits = (WHO[copy] as number) & 0o777 & mode
        for (const mask of [0o444, 0o222, 0o111]) if (bits & mask) perms |= mask
        i++
      } else {
        while (PERM[at()] !== undefined) {
          const c = at()
          if (c !== 'X' || dir || (mode & 0o111) !== 0) perms |= PERM[c] as number
          i++
        }
      }
      if (perms) {
        perms &= who || ~UMASK
        mode = op === '-' ? mode & ~perms : mode | perms
      }
    } while (i < text.length && at() !== ',')
  }
  return mode
}

const CHMOD_USAGE = { usage: '[-Rcvf] MODE[,MODE]... FILE...' }

export const chmod: Command = async (args, ctx) => {
  const flags = new Set<string>()
  let i = 1
  // Options come first; "-w" and the like are a mode, not an option.
  for (; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--') {
      i++
      break
    }
    if (!/^-[Rvcf]+$/.test(a)) break
    for (const c of a.slice(1)) flags.add(c)
  }
  const mode = args[i]
  const files = args.slice(i + 1)
  if (mode === undefined || files.length === 0) return usage(ctx, 'chmod', CHMOD_USAGE)
  let status = 0
  const perror = (file: string, why: string): void => {
    if (!flags.has('f')) ctx.write('stderr', `chmod: ${file}: ${why}\n`)
    status = 1
  }
  const apply = (file: string, st: FileStat): boolean => {
    const next = parseMode(mode, st.mode, st.type === 'dir')
    if (next === undefined) {
      ctx.write('stderr', `chmod: invalid mode '${mode}'\n`)
      return false
    }
    try {
      if (!ctx.fs.chmod) throw new Error('Operation not permitted')
      ctx.fs.chmod(abs(ctx, file), next)
      if (flags.has('v') || (flags.has('c') && (st.mode & 0o7777) !== next)) {
        const shown = modeString({ ...st, mode: next }).slice(1)
        ctx.write('stdout', `mode of '${file}' changed to ${next.toString(8).padStart(4, '0')} (${shown})\n`)
      }
    } catch (err) {
      perror(file, reason(err))
    }
    return true
  }
  const walk = (file: string, depth: number): boolean => {
    // The operand itself is followed if it is a link; links met while recursing are skipped.
    const st = statOr(ctx, file, depth === 0)
    if (typeof st === 'string') {
      perror(file, st)
      return true
    }
    if (st.type === 'symlink') return true
    if (!apply(file, st)) return false
    if (flags.has('R') && st.type === 'dir') {
      let names: string[] = []
      try {
        names = ctx.fs.readdir(abs(ctx, file))
      } catch (err) {
        perror(file, reason(err))
      }
      for (const name of names) if (!walk(`${file.replace(/\/+$/, '')}/${name}`, depth + 1)) return false
    }
    return true
  }
  for (const file of files) if (!walk(file, 0)) return 1
  return status
}

// The `sh` command (also ash, bash): `sh -c SCRIPT [NAME [ARG]...]`, `sh FILE [ARG]...`, or a
// script read from stdin; options -e -u -x -f -C -a and -o NAME before them.
import type { Command } from '../context.js'
import { FS_MESSAGES, FsError, resolvePath } from '../fs/types.js'
import { shellFromContext } from './start.js'

export const sh: Command = async (args, ctx) => {
  const name = args[0] ?? 'sh'
  const set: [string, boolean][] = []
  const long: [string, boolean][] = []
  let command = false
  let stdin = false
  let i = 1
  for (; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--' || a === '-') {
      i++
      break
    }
    if (!/^[-+][a-zA-Z]+$/.test(a)) break
    const on = a[0] === '-'
    for (const letter of a.slice(1)) {
      if (letter === 'c') command = true
      else if (letter === 's') stdin = true
      else if (letter === 'i' || letter === 'l' || letter === 'm') continue
      else if (letter === 'o') {
        const opt = args[++i]
        if (opt !== undefined) long.push([opt, on])
      } else if ('euxfCa'.includes(letter)) set.push([letter, on])
      else {
        ctx.write('stderr', `${name}: illegal option ${on ? '-' : '+'}${letter}\n`)
        return 2
      }
    }
  }
  const rest = args.slice(i)
  const interactive = args.slice(1, i).some((a) => /^-[a-z]*i/.test(a)) || ctx.terminal === true
  let text: string
  let shell
  if (command) {
    const script = rest[0]
    if (script === undefined) {
      ctx.write('stderr', `${name}: -c requires an argument\n`)
      return 2
    }
    text = script
    const arg0 = rest[1]
    shell = shellFromContext(ctx, { name: arg0 ?? name, ...(arg0 !== undefined ? { script: arg0 } : {}), params: rest.slice(2) })
  } else if (rest[0] !== undefined && !stdin) {
    const file = rest[0]
    try {
      text = ctx.fs.readFile(resolvePath(ctx.cwd, file)).toString('utf8')
    } catch (err) {
      if (!(err instanceof FsError)) throw err
      ctx.write('stderr', `${name}: can't open '${file}': ${FS_MESSAGES[err.code]}\n`)
      return 2
    }
    shell = shellFromContext(ctx, { name: file, script: file, params: rest.slice(1) })
  } else {
    // Commands from stdin, run as they arrive.
    shell = shellFromContext(ctx, { name, params: rest })
    text = ''
  }
  for (const [letter, on] of set) shell.setOption(letter, on)
  for (const [opt, on] of long) {
    const key = ({ errexit: 'errexit', nounset: 'nounset', xtrace: 'xtrace', noglob: 'noglob', pipefail: 'pipefail' } as const)[
      opt as 'errexit'
    ]
    if (key) shell.opts[key] = on
  }
  return command || (rest[0] !== undefined && !stdin) ? shell.main(text) : shell.mainInput(interactive)
}

// `stress` (the 1.0.x load generator images such as polinux/stress ship): hogs that allocate
// memory (--vm N --vm-bytes SIZE) charge it to the container's memory cgroup, so a container whose
// limit is too small is OOM-killed as on a node; CPU, io and disk hogs just run. --timeout ends a
// successful run. Output and exit codes as stress prints them.
import { untilEnded, type Command, type CommandContext } from '../context.js'
import { fail } from '../commands/util.js'
import type { ImageProgram } from './types.js'

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }
const TIME_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, y: 31536000 }

function amount(text: string, units: Record<string, number>): number | undefined {
  const m = /^(\d+)([a-zA-Z]?)$/.exec(text)
  const unit = m ? units[m[2]!.toLowerCase()] : undefined
  return m && unit !== undefined ? Number(m[1]) * unit : undefined
}

interface Options {
  cpu: number
  io: number
  vm: number
  hdd: number
  vmBytes: number
  timeoutS?: number
  quiet: boolean
}

const LONG: Record<string, 'cpu' | 'io' | 'vm' | 'hdd' | 'timeoutS' | 'vm-bytes' | 'ignore'> = {
  '--cpu': 'cpu',
  '-c': 'cpu',
  '--io': 'io',
  '-i': 'io',
  '--vm': 'vm',
  '-m': 'vm',
  '--hdd': 'hdd',
  '-d': 'hdd',
  '--vm-bytes': 'vm-bytes',
  '--timeout': 'timeoutS',
  '-t': 'timeoutS',
  '--vm-stride': 'ignore',
  '--vm-hang': 'ignore',
  '--hdd-bytes': 'ignore',
  '--backoff': 'ignore',
}

function parse(args: readonly string[], ctx: CommandContext): Options | number {
  const o: Options = { cpu: 0, io: 0, vm: 0, hdd: 0, vmBytes: 256 * 1024 ** 2, quiet: false }
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!
    if (a === '-q' || a === '--quiet') o.quiet = true
    else if (a === '-v' || a === '--verbose' || a === '-n' || a === '--dry-run' || a === '--vm-keep') continue
    else {
      const eq = a.indexOf('=')
      const name = eq > 0 && a.startsWith('--') ? a.slice(0, eq) : a
      const field = LONG[name]
      if (!field) return fail(args, ctx, `FAIL: [${ctx.pid ?? 1}] (244) unrecognized option: ${a}`)
      const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : args[++i]
      if (value === undefined) return fail(args, ctx, `FAIL: [${ctx.pid ?? 1}] (244) option requires an argument: ${a}`)
      if (field === 'ignore') continue
      const n = amount(value, field === 'vm-bytes' ? UNITS : field === 'timeoutS' ? TIME_UNITS : { '': 1 })
      if (n === undefined) return fail(args, ctx, `FAIL: [${ctx.pid ?? 1}] (${field === 'vm-bytes' ? 581 : 395}) invalid number: ${value}`)
      if (field === 'vm-bytes') o.vmBytes = n
      else if (field === 'timeoutS') o.timeoutS = n
      else o[field] = n
    }
  }
  return o
}

const stress: Command = async (args, ctx) => {
  const o = parse(args, ctx)
  if (typeof o === 'number') return o
  const pid = ctx.pid ?? 1
  if (o.cpu + o.io + o.vm + o.hdd === 0) {
    ctx.write('stdout', `\`stress' imposes certain types of compute stress on your system\n\nUsage: stress [OPTION [ARG]] ...\n`)
    return 1
  }
  if (!o.quiet) ctx.write('stdout', `stress: info: [${pid}] dispatching hogs: ${o.cpu} cpu, ${o.io} io, ${o.vm} vm, ${o.hdd} hdd\n`)
  // Each vm hog touches its bytes; past the container's limit the OOM killer ends the container.
  for (let i = 0; i < o.vm; i++) {
    if (ctx.memory && !ctx.memory.allocate(pid, o.vmBytes)) return untilEnded(ctx)
  }
  if (o.timeoutS === undefined) return untilEnded(ctx)
  await ctx.clock.sleep(o.timeoutS * 1000, ctx.signal)
  if (!o.quiet) ctx.write('stdout', `stress: info: [${pid}] successful run completed in ${o.timeoutS}s\n`)
  return 0
}

/** stress as the load-generator images install it (/usr/local/bin/stress, built from source). */
export const stressProgram: ImageProgram = {
  name: 'stress',
  command: stress,
  runBy: ['stress'],
  files: () => ({ '/usr/local/bin/stress': { text: '', mode: 0o755 } }),
}

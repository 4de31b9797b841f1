// Network commands that need privilege, as busybox 1.37 has them: brctl (bridges, CAP_NET_ADMIN)
// and ping (a raw ICMP socket, CAP_NET_RAW). They ask the kernel (src/sim/kernel.ts), so the
// container's capabilities and seccomp filter decide, and act on its network namespace.
//
// What answers a ping: loopback (127.0.0.0/8), the namespace's own addresses (the pod IP), and the
// IP of another running pod on the node, once a second of simulated time; any other address never
// answers (as a host that drops ICMP), so ping waits, and with -c N gives up 10 s (-W) after its
// last request, reporting 100% packet loss.
import type { Command, CommandContext } from '../context.js'
import { CAP } from '../fs/security.js'
import { ERRNO, kernelOf, strerror, syscall } from '../kernel.js'
import { usage } from './fs-common.js'
import { sleepMs } from './process.js'
import { fail, now } from './util.js'

const AF_INET = 2
const SOCK_STREAM = 1
const SOCK_RAW = 3
const IPPROTO_ICMP = 1

// ---- brctl

const BRCTL_USAGE = { usage: 'COMMAND [BRIDGE [ARGS]]' }

/** The interfaces of the namespace: lo, eth0 when it has an address, and its bridges. */
function interfaces(ctx: CommandContext): Set<string> {
  const net = kernelOf(ctx).net
  return new Set(['lo', ...(net.addresses.length > 0 ? ['eth0'] : []), ...net.bridges.keys()])
}

const brctl: Command = async (args, ctx) => {
  const [key, br, iface] = args.slice(1)
  if (key === undefined) return usage(ctx, 'brctl', BRCTL_USAGE)
  // A busybox without FEATURE_BRCTL_FANCY: the bridges' sysfs knobs are not there.
  if (!['addbr', 'delbr', 'addif', 'delif', 'show'].includes(key)) return fail(args, ctx, `invalid argument '${key}' to 'brctl'`)
  const net = kernelOf(ctx).net
  if (key === 'show') {
    const names = br === undefined ? [...net.bridges.keys()].sort() : args.slice(2)
    let status = 0
    let header = true
    for (const name of names) {
      const ports = net.bridges.get(name)
      if (!ports) {
        ctx.write('stderr', `brctl: bridge ${name} does not exist\n`)
        status = 1
        continue
      }
      if (header) ctx.write('stdout', 'bridge name\tbridge id\t\tSTP enabled\tinterfaces\n')
      header = false
      const list = [...ports].sort()
      ctx.write('stdout', `${name}\t\t8000.000000000000\tno\t\t${list.join('\n\t\t\t\t\t\t\t')}\n`)
    }
    return status
  }
  if (br === undefined || ((key === 'addif' || key === 'delif') && iface === undefined)) return usage(ctx, 'brctl', BRCTL_USAGE)
  if (key === 'addif' || key === 'delif') {
    if (!interfaces(ctx).has(iface as string)) return fail(args, ctx, `iface ${iface}: ${strerror(ERRNO.ENODEV)}`)
  }
  // socket(AF_INET, SOCK_STREAM, 0), then the bridge ioctl, which needs CAP_NET_ADMIN.
  const sock = syscall(ctx, 'socket', { args: [AF_INET, SOCK_STREAM, 0] })
  if (sock !== undefined) return fail(args, ctx, `socket: ${strerror(sock)}`)
  const denied = syscall(ctx, 'ioctl', { cap: CAP.NET_ADMIN })
  let errno = denied
  if (errno === undefined) {
    const ports = net.bridges.get(br)
    const exists = interfaces(ctx).has(br)
    if (key === 'addbr') errno = exists ? ERRNO.EEXIST : undefined
    else if (key === 'delbr') errno = ports ? undefined : exists ? ERRNO.EPERM : ERRNO.ENXIO
    else if (!ports) errno = exists ? ERRNO.EINVAL : ERRNO.ENODEV
    if (errno === undefined) {
      if (key === 'addbr') net.bridges.set(br, new Set())
      else if (key === 'delbr') net.bridges.delete(br)
      else if (key === 'addif') ports?.add(iface as string)
      else ports?.delete(iface as string)
    }
  }
  return errno === undefined ? 0 : fail(args, ctx, `bridge ${br}: ${strerror(errno)}`)
}

// ---- ping

const PING_USAGE = { usage: '[OPTIONS] HOST' }
const MAXWAIT_S = 10
const DATALEN = 56

interface PingOptions {
  count: number
  interval: number
  deadline: number
  timeout: number
  quiet: boolean
  size: number
}

function parsePing(args: readonly string[]): { o: PingOptions; host: string } | undefined {
  const o: PingOptions = { count: 0, interval: 1, deadline: 0, timeout: MAXWAIT_S, quiet: false, size: DATALEN }
  const hosts: string[] = []
  for (let i = 1; i < args.length; i++) {
    const a = args[i] as string
    if (!a.startsWith('-') || a === '-') {
      hosts.push(a)
      continue
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string
      if ('qvAn46'.includes(c)) {
        if (c === 'q') o.quiet = true
        continue
      }
      if (!'cswWtIpi'.includes(c)) return undefined
      const value = j + 1 < a.length ? a.slice(j + 1) : args[++i]
      if (value === undefined) return undefined
      const n = Number(value)
      if (c === 'c') o.count = n
      else if (c === 's') o.size = n
      else if (c === 'w') o.deadline = n
      else if (c === 'W') o.timeout = n
      else if (c === 'i') o.interval = n
      if ('cswWi'.includes(c) && !(Number.isFinite(n) && n >= 0)) return undefined
      break
    }
  }
  return hosts.length === 1 ? { o, host: hosts[0] as string } : undefined
}

/** A dotted address, or the first IPv4 address /etc/hosts gives the name. */
function resolveHost(ctx: CommandContext, host: string): string | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host.split('.').every((p) => Number(p) <= 255)) return host
  let hosts = ''
  try {
    hosts = ctx.fs.readFile('/etc/hosts').toString('utf8')
  } catch {
    hosts = ''
  }
  for (const line of hosts.split('\n')) {
    const [ip, ...names] = line.replace(/#.*/, '').trim().split(/\s+/)
    if (ip && /^\d+\.\d+\.\d+\.\d+$/.test(ip) && names.includes(host)) return ip
  }
  return undefined
}

/** Whether the address answers an echo request from this namespace, and the round trip it takes (µs). */
function answers(ctx: CommandContext, ip: string): number | undefined {
  const net = kernelOf(ctx).net
  if (ip.startsWith('127.') || net.addresses.includes(ip)) return 41
  return net.reachable?.(ip) ? 83 : undefined
}

const ms = (us: number): string => `${Math.floor(us / 1000)}.${String(us % 1000).padStart(3, '0')}`

const ping: Command = async (args, ctx) => {
  const parsed = parsePing(args)
  if (!parsed) return usage(ctx, 'ping', PING_USAGE)
  const { o, host } = parsed
  const ip = resolveHost(ctx, host)
  if (ip === undefined) return fail(args, ctx, `bad address '${host}'`)
  ctx.write('stdout', `PING ${host} (${ip}): ${o.size} data bytes\n`)
  const errno = syscall(ctx, 'socket', { cap: CAP.NET_RAW, args: [AF_INET, SOCK_RAW, IPPROTO_ICMP] })
  if (errno === ERRNO.EPERM) return fail(args, ctx, 'permission denied (are you root?)')
  if (errno !== undefined) return fail(args, ctx, `can't create raw socket: ${strerror(errno)}`)

  const rtt = answers(ctx, ip)
  let sent = 0
  let received = 0
  const stats = (): number => {
    const loss = sent === 0 ? 0 : Math.floor(((sent - received) * 100) / sent)
    let text = `\n--- ${host} ping statistics ---\n${sent} packets transmitted, ${received} packets received, ${loss}% packet loss\n`
    if (received > 0 && rtt !== undefined) text += `round-trip min/avg/max = ${ms(rtt)}/${ms(rtt)}/${ms(rtt)} ms\n`
    ctx.write('stdout', text)
    return received === 0 || (o.deadline > 0 && o.count > 0 && received < o.count) ? 1 : 0
  }
  let interrupted: (() => void) | undefined
  const stop = new Promise<void>((resolve) => (interrupted = resolve))
  // ^C prints the statistics (busybox's SIGINT handler); other signals end ping without them.
  ctx.trap(2, () => interrupted?.())
  const started = now(ctx)
  const wait = async (s: number): Promise<boolean> => {
    let limit = s * 1000
    if (o.deadline > 0) limit = Math.min(limit, started + o.deadline * 1000 - now(ctx))
    const stopped = await Promise.race([sleepMs(ctx, Math.max(0, limit)).then(() => false), stop.then(() => true)])
    return stopped || (o.deadline > 0 && now(ctx) >= started + o.deadline * 1000)
  }
  for (let seq = 0; ; seq++) {
    sent++
    if (rtt !== undefined) {
      received++
      if (!o.quiet) ctx.write('stdout', `${o.size + 8} bytes from ${ip}: seq=${seq} ttl=64 time=${ms(rtt)} ms\n`)
    }
    if (o.count > 0 && received >= o.count) break
    // After the last request, wait for a late answer (none comes) up to the timeout.
    if (o.count > 0 && sent >= o.count) {
      await wait(o.timeout)
      break
    }
    if (await wait(o.interval)) break
  }
  return stats()
}

export const netCommands: Readonly<Record<string, Command>> = { brctl, ping }

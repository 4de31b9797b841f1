// Name resolution as a container's libc does it: an address as written, else /etc/hosts, else the
// cluster's DNS (ctx.net) with /etc/resolv.conf's search domains and ndots; and the reverse
// (/etc/hosts), and service names from /etc/services (busybox images have none: numbers stay numbers).
import type { CommandContext } from '../context.js'
import { isIpv4 } from '../net.js'
import { readEntries } from './util.js'

const readLines = (ctx: CommandContext, path: string): string[][] => readEntries(ctx, path, /\s+/)

export interface ResolvConf {
  nameservers: string[]
  search: string[]
  ndots: number
}

export function readResolvConf(ctx: CommandContext): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], ndots: 1 }
  let searchSet = false
  for (const [key, ...rest] of readLines(ctx, '/etc/resolv.conf')) {
    if (key === 'nameserver' && rest[0]) conf.nameservers.push(rest[0])
    else if (key === 'search') {
      conf.search = rest
      searchSet = true
    } else if (key === 'domain' && !searchSet && rest[0]) conf.search = [rest[0]]
    else if (key === 'options') {
      for (const o of rest) if (/^ndots:\d+$/.test(o)) conf.ndots = Math.min(15, Number(o.slice(6)))
    }
  }
  return conf
}

/** The address /etc/hosts gives a name. */
export function hostsLookup(ctx: CommandContext, name: string): string | undefined {
  const n = name.toLowerCase()
  return readLines(ctx, '/etc/hosts').find((f) => isIpv4(f[0] ?? '') && f.slice(1).some((h) => h.toLowerCase() === n))?.[0]
}

/** The first name /etc/hosts gives an address. */
export function hostsReverse(ctx: CommandContext, address: string): string | undefined {
  return readLines(ctx, '/etc/hosts').find((f) => f[0] === address && f.length > 1)?.[1]
}

/** getaddrinfo() for IPv4: the address a host name has, or undefined ("bad address"). */
export function resolveHost(ctx: CommandContext, name: string): string | undefined {
  if (isIpv4(name)) return name
  if (name === '' || !/^[A-Za-z0-9._-]+$/.test(name)) return undefined
  const hosts = hostsLookup(ctx, name)
  if (hosts !== undefined) return hosts
  if (!ctx.net) return undefined
  const conf = readResolvConf(ctx)
  const bare = name.replace(/\.$/, '')
  const searched = name.endsWith('.') ? [] : conf.search.map((d) => `${bare}.${d}`)
  const dots = bare.split('.').length - 1
  const candidates = dots >= conf.ndots ? [bare, ...searched] : [...searched, bare]
  for (const candidate of candidates) {
    const answer = ctx.net.query(candidate, 'A').records.find((r) => r.type === 'A')
    if (answer) return answer.data
  }
  return undefined
}

/** A port by number or /etc/services name; undefined when it is neither. */
export function lookupPort(ctx: CommandContext, text: string, proto: 'tcp' | 'udp'): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) <= 65535 ? Number(text) : undefined
  const entry = readLines(ctx, '/etc/services').find((f) => f[0] === text && f[1]?.endsWith(`/${proto}`))
  return entry ? Number(entry[1]?.split('/')[0]) : undefined
}

/** The /etc/services name of a port, when the container has one. */
export function serviceName(ctx: CommandContext, port: number, proto: string): string | undefined {
  return readLines(ctx, '/etc/services').find((f) => f[1] === `${port}/${proto}`)?.[0]
}

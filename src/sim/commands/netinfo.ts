// busybox nslookup and netstat. nslookup asks the cluster's DNS (ctx.net) what /etc/resolv.conf's
// first nameserver would answer, with busybox's search-domain rules and output; netstat reads
// /proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix} of the container's network namespace (a host-network
// container's are the node's) as busybox does, and -p names the process holding each socket.
import type { Command, CommandContext } from '../context.js'
import { isIpv4, type DnsAnswer, type DnsType } from '../net.js'
import { has, parseOptions, usage } from './fs-common.js'
import { hostsReverse, readResolvConf, resolveHost, serviceName } from './resolve.js'

// ---- nslookup

const NSLOOKUP_USAGE =
  '[-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n\nQuery DNS about HOST\n\nQUERY_TYPE: soa,ns,a,aaaa,cname,mx,txt,ptr,srv,any'
const QTYPES = ['SOA', 'NS', 'A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'PTR', 'ANY']
const NSLOOKUP_OPTIONS = ['type', 'querytype', 'port', 'retry', 'debug', 't', 'timeout']

/** The PTR name of an address ("5.0.88.10.in-addr.arpa"), or undefined for a name. */
const ptrName = (host: string): string | undefined => (isIpv4(host) ? `${host.split('.').reverse().join('.')}.in-addr.arpa` : undefined)

function answer(ctx: CommandContext, name: string, type: string): DnsAnswer {
  const net = ctx.net as NonNullable<CommandContext['net']>
  if (type === 'A' || type === 'AAAA' || type === 'PTR') return net.query(name, type as DnsType)
  // Other types: the name exists (no such records) or it does not.
  const a = net.query(name, 'A')
  return { ...a, records: [] }
}

export const nslookup: Command = async (args, ctx) => {
  const types: string[] = []
  let debug = false
  let port = 53
  let i = 1
  for (; i < args.length && (args[i] as string).startsWith('-'); i++) {
    const a = (args[i] as string).slice(1)
    const eq = a.indexOf('=')
    const key = eq === -1 ? a : a.slice(0, eq)
    const value = eq === -1 ? '' : a.slice(eq + 1)
    const option = key === '' ? undefined : NSLOOKUP_OPTIONS.find((o) => o.startsWith(key))
    if (option === undefined) return usage(ctx, 'nslookup', { usage: NSLOOKUP_USAGE })
    if (option === 'type' || option === 'querytype') {
      const t = QTYPES.find((q) => q === value.toUpperCase())
      if (t === undefined) {
        ctx.write('stderr', `nslookup: invalid query type "${value}"\n`)
        return 1
      }
      types.push(t)
    } else if (option === 'port') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
        ctx.write('stderr', `nslookup: invalid number '${value}'\n`)
        return 1
      }
      port = Number(value)
    } else if (option === 'debug') debug = true
  }
  const host = args[i]
  if (host === undefined || args.length > i + 2) return usage(ctx, 'nslookup', { usage: NSLOOKUP_USAGE })
  const conf = readResolvConf(ctx)
  const server = args[i + 1] ?? conf.nameservers[0] ?? '127.0.0.1'
  const serverIp = resolveHost(ctx, server)
  if (serverIp === undefined) {
    ctx.write('stderr', `nslookup: bad address '${server}'\n`)
    return 1
  }
  if (!ctx.net) {
    ctx.write('stdout', ';; connection timed out; no servers could be reached\n\n')
    return 1
  }
  // busybox: a name without a dot is tried in each search domain (and only there).
  let search = conf.search
  if (search.length === 0 && ctx.hostname.includes('.')) search = [ctx.hostname.slice(ctx.hostname.indexOf('.') + 1)]
  if (search.length === 1 && search[0] === '.') search = []
  const withSearch = (name: string): string[] => (search.length === 0 || name.includes('.') ? [name] : search.map((d) => `${name}.${d}`))
  const queries: { name: string; type: string }[] = []
  const ptr = ptrName(host)
  if (types.length === 0 && ptr !== undefined) queries.push({ name: ptr, type: 'PTR' })
  else {
    for (const type of types.length === 0 ? ['A', 'AAAA'] : types) {
      for (const name of type === 'PTR' ? [host] : withSearch(host)) queries.push({ name, type })
    }
  }
  let out = `Server:\t\t${server}\nAddress:\t${serverIp}:${port}\n\n`
  let status = 0
  for (const [n, q] of queries.entries()) {
    if (debug) out += `Query #${n} completed in 0ms:\n`
    const a = answer(ctx, q.name, q.type)
    if (a.rcode !== 'NOERROR') {
      out += `** server can't find ${q.name}: ${a.rcode}\n`
      status = 1
    } else {
      if (!a.authoritative) out += 'Non-authoritative answer:\n'
      else if (debug) out += 'authoritative answer:\n'
      for (const r of a.records) {
        out += r.type === 'PTR' ? `${r.name}\tname = ${r.data}\n` : `Name:\t${r.name}\nAddress: ${r.data}\n`
      }
    }
    out += '\n'
  }
  ctx.write('stdout', out)
  return status
}

// ---- netstat

const NETSTAT_USAGE =
  "[-ral] [-tuwx] [-enWp]\n\nDisplay networking information\n\n\t-r\tRouting table\n\t-a\tAll sockets\n\t-l\tListening sockets\n\t\tElse: connected sockets\n\t-t\tTCP sockets\n\t-u\tUDP sockets\n\t-w\tRaw sockets\n\t-x\tUnix sockets\n\t\tElse: all socket types\n\t-e\tOther/more information\n\t-n\tDon't resolve names\n\t-W\tWide display\n\t-p\tShow PID/program name for sockets"

const TCP_STATES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
]

/** An address from /proc/net: 8 hex digits (IPv4) or 32 (IPv6), each 32-bit word in the kernel's byte order. */
export function procAddress(hex: string): string {
  const words = (hex.match(/.{8}/g) ?? []).map((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)))
  const bytes = words.flat()
  if (bytes.length === 4) return bytes.join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] as number) * 256 + (bytes[i + 1] as number))
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${bytes.slice(12).join('.')}`
  // The longest run of zero groups becomes "::".
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i > 1) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hexes = groups.map((g) => g.toString(16))
  if (best === -1) return hexes.join(':')
  return `${hexes.slice(0, best).join(':')}::${hexes.slice(best + bestLen).join(':')}`
}

interface NetstatFlags {
  listening: boolean
  connected: boolean
  numeric: boolean
  width: number
  programs: boolean
}

function readProc(ctx: CommandContext, file: string): string[] {
  try {
    return ctx.fs.readFile(`/proc/net/${file}`).toString('latin1').split('\n').slice(1)
  } catch {
    return []
  }
}

function program(ctx: CommandContext, inode: number): string {
  const owner = ctx.net?.owner(inode)
  if (!owner) return '-'
  const args = ctx.processes.list().find((p) => p.pid === owner.pid)?.args
  const name = args?.[0] ?? owner.name
  return `${owner.pid}/${name.slice(name.lastIndexOf('/') + 1)}`.slice(0, 20)
}

function inetLines(ctx: CommandContext, file: string, proto: 'tcp' | 'udp' | 'raw', f: NetstatFlags): string {
  let out = ''
  for (const line of readProc(ctx, file)) {
    const m =
      /^\s*\d+:\s+([0-9A-Fa-f]+):([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+):([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+)\s+([0-9A-Fa-f]+):([0-9A-Fa-f]+)\s+\S+\s+\S+\s+(\d+)\s+\d+\s+(\d+)/.exec(
        line,
      )
    if (!m) continue
    const [local, lport, remote, rport, state, txq, rxq, , inode] = m.slice(1) as string[]
    const st = parseInt(state as string, 16)
    const remoteAddress = procAddress(remote as string)
    const remotePort = parseInt(rport as string, 16)
    let stateText: string
    let connected: boolean
    if (proto === 'tcp') {
      stateText = TCP_STATES[st] ?? ''
      connected = remotePort !== 0
    } else {
      stateText = proto === 'udp' ? (st === 1 ? 'ESTABLISHED' : st === 7 ? '' : 'UNKNOWN') : String(st)
      connected = !/^(0\.0\.0\.0|::)$/.test(remoteAddress)
    }
    if (!(connected ? f.connected : f.listening)) continue
    const show = (address: string, port: number): string => {
      const host = f.numeric ? address : (hostsReverse(ctx, address) ?? address)
      const service = port === 0 ? '*' : f.numeric ? String(port) : (serviceName(ctx, port, proto) ?? String(port))
      return `${host}:${service}`
    }
    const l = show(procAddress(local as string), parseInt(lport as string, 16))
    const r = show(remoteAddress, remotePort)
    out += `${proto}   ${String(parseInt(rxq as string, 16)).padStart(6)} ${String(parseInt(txq as string, 16)).padStart(6)} ${l.padEnd(f.width)} ${r.padEnd(f.width)} ${stateText.padEnd(12)}`
    if (f.programs) out += program(ctx, Number(inode))
    out += '\n'
  }
  return out
}

function routes(ctx: CommandContext, numeric: boolean): string {
  let out = 'Kernel IP routing table\nDestination     Gateway         Genmask         Flags   MSS Window  irtt Iface\n'
  const mask = (bits: number): string =>
    [0, 1, 2, 3]
      .map((i) => Math.max(0, Math.min(8, bits - i * 8)))
      .map((b) => 256 - 2 ** (8 - b))
      .join('.')
  const net = (address: string, bits: number): string => {
    const m = mask(bits).split('.').map(Number)
    return address
      .split('.')
      .map((o, i) => Number(o) & (m[i] as number))
      .join('.')
  }
  const row = (dest: string, gw: string, genmask: string, flags: string, iface: string): string =>
    `${dest.padEnd(15)} ${gw.padEnd(15)} ${genmask.padEnd(16)}${flags.padEnd(6)}${'0'.padStart(5)} ${'0'.padEnd(5)} ${'0'.padStart(6)} ${iface}\n`
  const any = numeric ? '0.0.0.0' : 'default'
  const none = numeric ? '0.0.0.0' : '*'
  const interfaces = (ctx.net?.interfaces() ?? []).filter((i) => i.name !== 'lo')
  const first = interfaces[0]
  if (first && first.name === 'eth0') {
    const gateway = net(first.address, first.prefix).replace(/\d+$/, (d) => String(Number(d) + 1))
    out += row(any, gateway, '0.0.0.0', 'UG', first.name)
  }
  for (const i of interfaces) out += row(net(i.address, i.prefix), none, mask(i.prefix), 'U', i.name)
  return out
}

export const netstat: Command = async (args, ctx) => {
  const o = parseOptions('netstat', args.slice(1), { flags: 'laentuwxrWp', usage: NETSTAT_USAGE }, ctx)
  if (typeof o === 'number') return o
  const f: NetstatFlags = {
    listening: has(o, 'l') || has(o, 'a'),
    connected: !has(o, 'l') || has(o, 'a'),
    numeric: has(o, 'n'),
    width: has(o, 'W') ? 51 : 23,
    programs: has(o, 'p'),
  }
  if (has(o, 'r')) {
    ctx.write('stdout', routes(ctx, f.numeric))
    return 0
  }
  const chosen = ['t', 'u', 'w', 'x'].filter((p) => has(o, p))
  const protos = chosen.length === 0 ? ['t', 'u', 'w', 'x'] : chosen
  const which = f.listening && f.connected ? '(servers and established)' : f.listening ? '(only servers)' : '(w/o servers)'
  const banner = f.programs ? 'PID/Program name    ' : ''
  let out = ''
  if (protos.some((p) => p !== 'x')) {
    out += `Active Internet connections ${which}\nProto Recv-Q Send-Q ${'Local Address'.padEnd(f.width)} ${'Foreign Address'.padEnd(f.width)} State       ${banner}\n`
  }
  if (protos.includes('t')) out += inetLines(ctx, 'tcp', 'tcp', f) + inetLines(ctx, 'tcp6', 'tcp', f)
  if (protos.includes('u')) out += inetLines(ctx, 'udp', 'udp', f) + inetLines(ctx, 'udp6', 'udp', f)
  if (protos.includes('w')) out += inetLines(ctx, 'raw', 'raw', f) + inetLines(ctx, 'raw6', 'raw', f)
  if (protos.includes('x')) {
    out += `Active UNIX domain sockets ${which}\nProto RefCnt Flags       Type       State         I-Node ${banner}Path\n`
  }
  ctx.write('stdout', out)
  return 0
}

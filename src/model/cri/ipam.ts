// Pod IPs from the pod CIDR, as a CNI host-local IPAM would hand them out: the network address
// and the gateway (.1) are skipped, an address is unique while a sandbox holds it, and the lowest
// free one is used next.
import { invalidArgument } from '../errors.js'
import { toDotted, toNumber } from '../../ipv4.js'

export interface Cidr {
  base: number
  bits: number
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim())
  const octets = m ? m.slice(1, 5).map(Number) : []
  const bits = m ? Number(m[5]) : NaN
  if (!m || octets.some((o) => o > 255) || bits < 8 || bits > 30) {
    throw invalidArgument(`invalid pod CIDR ${JSON.stringify(text)}: want an IPv4 network such as 10.88.0.0/16 (prefix 8 to 30)`)
  }
  const address = octets.reduce((acc, o) => acc * 256 + o, 0)
  const size = 2 ** (32 - bits)
  const base = address - (address % size)
  // 127.0.0.0/24 holds the host's 127.0.0.1: pods given it (or a gateway on it) lose localhost, and
  // their addresses would be the host's own loopback ones.
  if (base <= LOCALHOST_NET.last && base + size - 1 >= LOCALHOST_NET.first) {
    throw invalidArgument(
      `invalid pod CIDR ${JSON.stringify(text)}: it overlaps 127.0.0.0/24, the host's localhost (127.0.0.1); ` +
        `to reach pods on loopback addresses use a range of 127/8 away from it, such as 127.77.0.0/16`,
    )
  }
  return { base, bits }
}

/** 127.0.0.0/24 as numbers. */
const LOCALHOST_NET = { first: 127 * 2 ** 24, last: 127 * 2 ** 24 + 255 }

/** Returns the lowest free address of the CIDR, or undefined when the range is exhausted. */
export function allocateIp(cidr: Cidr, inUse: Iterable<string>): string | undefined {
  const taken = new Set<number>()
  for (const ip of inUse) if (ip !== '') taken.add(toNumber(ip))
  const size = 2 ** (32 - cidr.bits)
  for (let offset = 2; offset < size - 1; offset++) {
    if (!taken.has(cidr.base + offset)) return toDotted(cidr.base + offset)
  }
  return undefined
}

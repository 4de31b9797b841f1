// Pod IPs from the pod CIDR, as a CNI host-local IPAM would hand them out: the network address,
// the gateway (.1) and the broadcast address are skipped, an address is unique while a sandbox
// holds it, and the next one is searched from after the last handed out (round-robin).
import { invalidArgument } from '../errors.js'
import { toDotted } from '../../ipv4.js'

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

/** The first address a fresh host-local range hands out (.2: the network address and the gateway .1 are skipped), given what is in use. */
export function allocateIp(cidr: Cidr, inUse: Iterable<string>): string | undefined {
  const taken = new Set<string>()
  for (const ip of inUse) if (ip !== '') taken.add(ip)
  return new IpAllocator().allocate(cidr, (ip) => taken.has(ip))
}

/**
 * Round-robin, as CNI host-local's allocator (backend/allocator GetIter): the search starts after
 * the last address it handed out and wraps around at the range's end (the broadcast address is
 * never given), so an address given back is not given again until the others have been; each
 * allocation usually tests one address however many pods hold one. The last address is kept in
 * memory (host-local keeps it in a file): a new server or a replaced state starts again from .2.
 */
export class IpAllocator {
  #cidr: Cidr | undefined
  /** The last address handed out in #cidr, as a number; undefined before the first. */
  #last: number | undefined

  /**
   * The next address of `cidr` after the last one handed out that neither `held` (long-lived
   * holders: the pods) nor `busy` (short-lived ones: pods being set up) says is taken; undefined
   * when the range is exhausted.
   */
  allocate(cidr: Cidr, held: (ip: string) => boolean, busy: (ip: string) => boolean = () => false): string | undefined {
    if (this.#cidr?.base !== cidr.base || this.#cidr.bits !== cidr.bits) {
      this.#cidr = cidr
      this.#last = undefined
    }
    const first = cidr.base + 2
    const last = cidr.base + 2 ** (32 - cidr.bits) - 2
    const count = last - first + 1
    const from = this.#last === undefined || this.#last >= last ? first : this.#last + 1
    for (let i = 0; i < count; i++) {
      const address = from + i > last ? from + i - count : from + i
      const ip = toDotted(address)
      if (held(ip) || busy(ip)) continue
      this.#last = address
      return ip
    }
    return undefined
  }

  /** Forgets the last address (the holders were replaced): the next search starts from the CIDR's .2. */
  reset(): void {
    this.#cidr = undefined
  }
}

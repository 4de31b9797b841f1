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
  const taken = new Set<string>()
  for (const ip of inUse) if (ip !== '') taken.add(ip)
  return new IpAllocator().allocate(cidr, (ip) => taken.has(ip))
}

/**
 * The lowest free address, found without testing every address held: it remembers the lowest one
 * that may be free (every address of the CIDR below it is held), so pods made one after another
 * cost the same however many there are. Told of every address given back (released()).
 */
export class IpAllocator {
  #cidr: Cidr | undefined
  /** Every address of #cidr from its .2 up to (not including) this one is held. */
  #lowest = 0

  /**
   * The lowest address of `cidr` that neither `held` (long-lived holders: the pods) nor `busy`
   * (short-lived ones: pods being set up) says is taken; undefined when the range is exhausted.
   */
  allocate(cidr: Cidr, held: (ip: string) => boolean, busy: (ip: string) => boolean = () => false): string | undefined {
    if (this.#cidr?.base !== cidr.base || this.#cidr.bits !== cidr.bits) {
      this.#cidr = cidr
      this.#lowest = cidr.base + 2
    }
    const end = cidr.base + 2 ** (32 - cidr.bits) - 1
    let advancing = true
    for (let address = Math.max(this.#lowest, cidr.base + 2); address < end; address++) {
      const ip = toDotted(address)
      if (held(ip)) {
        if (advancing) this.#lowest = address + 1
        continue
      }
      // A pod being set up may yet give its address back: the search starts at or before it next time.
      if (busy(ip)) {
        advancing = false
        continue
      }
      return ip
    }
    return undefined
  }

  /** An address a holder gave back: the next search starts at or below it. */
  released(ip: string): void {
    if (ip === '') return
    this.#lowest = Math.min(this.#lowest, toNumber(ip))
  }

  /** Forgets what it knew (the holders were replaced): the next search starts from the CIDR's .2. */
  reset(): void {
    this.#cidr = undefined
  }
}

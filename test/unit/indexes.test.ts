// The model's indexes against what a scan would answer: ids by prefix (containerd's truncindex) and
// the lowest free pod IP, through additions, removals and addresses given back.
import { describe, expect, test } from 'vitest'
import { IdIndex, resolvePrefix } from '../../src/model/ids.js'
import { IpAllocator, allocateIp, parseCidr } from '../../src/model/cri/ipam.js'

describe('IdIndex', () => {
  test('finds what resolvePrefix over every id finds, through adds and deletes', () => {
    const index = new IdIndex<{ id: string }>()
    const live = new Map<string, { id: string }>()
    // Ids of one length (as CRI's, 64 hex characters, all are), from a small alphabet so prefixes
    // are often shared; prefixes of any length up to a whole id.
    let seed = 7
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
    const word = (length: number) => Array.from({ length }, () => 'abc'[next() % 3]).join('')
    const id = () => word(4)
    const prefixOf = () => word(1 + (next() % 4))
    for (let round = 0; round < 2000; round++) {
      const r = { id: id() }
      if (next() % 3 === 0 && live.has(r.id)) {
        index.delete(live.get(r.id)!)
        live.delete(r.id)
      } else if (!live.has(r.id)) {
        index.add(r)
        live.set(r.id, r)
      }
      const prefix = prefixOf()
      let want: string | undefined | Error
      try {
        want = resolvePrefix(live.keys(), prefix)
      } catch (err) {
        want = err as Error
      }
      if (want instanceof Error) expect(() => index.find(prefix)).toThrow(want.message)
      else expect(index.find(prefix)?.id).toBe(want)
    }
    expect(index.size).toBe(live.size)
    expect([...index.values()].map((r) => r.id).sort()).toEqual([...live.keys()].sort())
  })

  test('refuses an empty prefix and one with a space, as containerd', () => {
    const index = new IdIndex<{ id: string }>()
    index.add({ id: 'abc' })
    expect(() => index.find('')).toThrow("prefix can't be empty")
    expect(() => index.find('a b')).toThrow("illegal character: ' '")
  })
})

describe('IpAllocator', () => {
  test('hands out the lowest free address, as allocateIp over every holder would', () => {
    const cidr = parseCidr('10.9.0.0/24')
    const alloc = new IpAllocator()
    const held = new Set<string>()
    const take = () => {
      const ip = alloc.allocate(cidr, (a) => held.has(a))
      expect(ip).toBe(allocateIp(cidr, held))
      if (ip) held.add(ip)
      return ip
    }
    for (let i = 0; i < 10; i++) take()
    expect(held.has('10.9.0.2') && held.has('10.9.0.11')).toBe(true)
    for (const ip of ['10.9.0.7', '10.9.0.4']) {
      held.delete(ip)
      alloc.released(ip)
    }
    expect(take()).toBe('10.9.0.4')
    expect(take()).toBe('10.9.0.7')
    expect(take()).toBe('10.9.0.12')
    // An address busy with a pod being set up is skipped, and found again once it is not.
    expect(
      alloc.allocate(
        cidr,
        (a) => held.has(a),
        (a) => a === '10.9.0.13',
      ),
    ).toBe('10.9.0.14')
    expect(alloc.allocate(cidr, (a) => held.has(a))).toBe('10.9.0.13')
    // Another CIDR starts from its own .2.
    expect(alloc.allocate(parseCidr('10.10.0.0/24'), () => false)).toBe('10.10.0.2')
  })

  test('an exhausted range has no address', () => {
    const cidr = parseCidr('10.1.2.0/30')
    const alloc = new IpAllocator()
    expect(alloc.allocate(cidr, () => false)).toBe('10.1.2.2')
    expect(alloc.allocate(cidr, (a) => a === '10.1.2.2')).toBeUndefined()
  })
})

// The model's indexes against what a scan would answer: ids by prefix (containerd's truncindex) and
// the lowest free pod IP, through additions, removals and addresses given back.
import { describe, expect, test } from 'vitest'
import { IdIndex, resolvePrefix } from '../../src/model/ids.js'
import { IpAllocator, parseCidr } from '../../src/model/cri/ipam.js'

describe('IdIndex', () => {
  // Chunks of 2 ids: the ids a prefix starts span chunks, and chunks split and empty as ids come and go.
  test.each([256, 2])('finds what resolvePrefix over every id finds, through adds and deletes (chunks of %i)', (chunk) => {
    const index = new IdIndex<{ id: string }>(chunk)
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

  test('refuses an empty prefix; one with a space matches nothing, as containerd (only Add refuses a space)', () => {
    const index = new IdIndex<{ id: string }>()
    index.add({ id: 'abc' })
    expect(() => index.find('')).toThrow("prefix can't be empty")
    expect(index.find('a b')).toBeUndefined()
    expect(index.find(' ')).toBeUndefined()
  })
})

describe('IpAllocator', () => {
  test('hands out addresses round-robin from after the last one, as CNI host-local does', () => {
    const cidr = parseCidr('10.9.0.0/28')
    const alloc = new IpAllocator()
    const held = new Set<string>()
    const take = (busy: (a: string) => boolean = () => false) => {
      const ip = alloc.allocate(cidr, (a) => held.has(a), busy)
      if (ip) held.add(ip)
      return ip
    }
    expect(take()).toBe('10.9.0.2')
    expect(take()).toBe('10.9.0.3')
    expect(take()).toBe('10.9.0.4')
    // An address given back is not the next one handed out: the search goes on after the last.
    held.delete('10.9.0.3')
    expect(take()).toBe('10.9.0.5')
    // An address busy with a pod being set up is skipped.
    expect(take((a) => a === '10.9.0.6')).toBe('10.9.0.7')
    for (let i = 8; i <= 14; i++) expect(take()).toBe(`10.9.0.${i}`)
    // .15 is the broadcast address: the search wraps around to the free ones from the start.
    expect(take()).toBe('10.9.0.3')
    expect(take()).toBe('10.9.0.6')
    expect(take()).toBeUndefined()
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

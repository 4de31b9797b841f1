import { describe, expect, test } from 'vitest'
import { allocateIp, parseCidr } from '../../src/model/cri/ipam.js'
import { parseDuration, rfc3339Nano } from '../../src/model/time.js'

describe('rfc3339Nano (Go time.RFC3339Nano)', () => {
  test('trims trailing zeros of the fraction', () => {
    expect(rfc3339Nano(1_795_320_000_123_456_789n)).toBe('2026-11-22T04:00:00.123456789Z')
    expect(rfc3339Nano(1_795_320_000_120_000_000n)).toBe('2026-11-22T04:00:00.12Z')
    expect(rfc3339Nano(1_795_320_000_000_000_000n)).toBe('2026-11-22T04:00:00Z')
  })
})

describe('parseDuration', () => {
  test.each([
    ['1.5s', 1500],
    ['300ms', 300],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['2', 2000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms))
  test.each(['', 'soon', '5 s', '1x'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeUndefined())
})

describe('pod IPs', () => {
  test('skips network and gateway addresses, reuses freed ones, and runs out', () => {
    const cidr = parseCidr('10.1.2.0/30')
    expect(allocateIp(cidr, [])).toBe('10.1.2.2')
    expect(allocateIp(cidr, ['10.1.2.2'])).toBeUndefined()
    expect(allocateIp(parseCidr('10.88.0.0/16'), ['10.88.0.2', '10.88.0.4'])).toBe('10.88.0.3')
  })
  test('rejects malformed CIDRs', () => {
    expect(() => parseCidr('10.0.0.0')).toThrow(/invalid pod CIDR/)
    expect(() => parseCidr('300.0.0.0/8')).toThrow(/invalid pod CIDR/)
  })
  test.each(['127.0.0.0/8', '127.0.0.0/16', '127.0.0.0/24', '127.0.0.64/26', '127.0.0.0/12'])(
    "refuses %s: it holds the host's localhost, and names a loopback range to use instead",
    (text) => {
      expect(() => parseCidr(text)).toThrow(
        `invalid pod CIDR "${text}": it overlaps 127.0.0.0/24, the host's localhost (127.0.0.1); to reach pods on loopback addresses use a range of 127/8 away from it, such as 127.77.0.0/16`,
      )
    },
  )
  test('a loopback range away from 127.0.0.0/24 is kept', () => {
    expect(parseCidr('127.77.0.0/16')).toEqual({ base: 127 * 2 ** 24 + 77 * 2 ** 16, bits: 16 })
    expect(parseCidr('127.0.1.0/24')).toEqual({ base: 127 * 2 ** 24 + 256, bits: 24 })
  })
})

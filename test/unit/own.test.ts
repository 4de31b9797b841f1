// The state's tables: a member of Object.prototype's name is a key like any other.
import { describe, expect, test } from 'vitest'
import { merged, own } from '../../src/model/own.js'

describe('merged', () => {
  test('copies every key, a later table winning, and leaves its inputs alone', () => {
    const labels = { app: 'web', tier: 'front' }
    const out = merged(labels, { tier: 'back', 'io.cri-containerd.kind': 'container' })
    expect(out).toEqual({ app: 'web', tier: 'back', 'io.cri-containerd.kind': 'container' })
    expect(Object.keys(out)).toEqual(['app', 'tier', 'io.cri-containerd.kind'])
    expect(labels).toEqual({ app: 'web', tier: 'front' })
  })

  test('"__proto__" and other Object.prototype names are entries, as a spread would make them', () => {
    const table = JSON.parse('{"__proto__": "x", "constructor": "y", "toString": "z"}') as Record<string, string>
    const out = merged(table, { valueOf: 'w' })
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor', 'toString', 'valueOf'])
    expect(own(out, '__proto__')).toBe('x')
    expect(JSON.stringify(out)).toBe(JSON.stringify({ ...table, valueOf: 'w' }))
  })
})

// Client patterns (src/patterns): the three regex engines agree with JS RegExp on ordinary
// patterns, POSIX syntax still means what it did, backreferences still work, pathological
// patterns end (no timings: a hang is the failure), and globs match as the old RegExp did.
import { describe, expect, test } from 'vitest'
import {
  LINEAR_WORK,
  MAX_SOURCE,
  PatternTooComplex,
  boundedForV8,
  compileRe2,
  compileRegex,
  hasBackreference,
} from '../../src/patterns/regex.js'
import { Glob, simpleGlob } from '../../src/patterns/glob.js'
import { posixMatcher } from '../../src/sim/commands/fs-regex.js'
import { matchPattern, removeAffix, substitute } from '../../src/sim/shell/pattern.js'
import { globMatch } from '../../src/faults/rule.js'
import { parseFilters } from '../../src/containerd/filters.js'
import { sh } from './sh-helpers.js'

const A = (n: number): string => 'a'.repeat(n)
const spans = (src: string, text: string, o: { ignoreCase?: boolean } = {}): [number, number, ...(string | undefined)[]][] =>
  compileRegex(src, o)
    .all(text)
    .map((m) => [m.index, m.end, ...m])

/** What String.prototype.matchAll gives: the reference. */
const jsSpans = (src: string, text: string, flags = ''): [number, number, ...(string | undefined)[]][] =>
  [...text.matchAll(new RegExp(src, `g${flags}`))].map((m) => [m.index, m.index + m[0].length, ...m])

describe('regex engines', () => {
  const TEXTS = ['', 'abc', 'aaa bbb', 'GET /index 200', 'foo-bar foo_bar foo', 'x1y22z333', 'ab ab abab', 'héllo wörld']
  const PATTERNS: [string, string][] = [
    ['served', 'bounded'],
    ['^GET', 'bounded'],
    ['[0-9]$', 'bounded'],
    ['(foo|bar)', 'bounded'],
    ['[[:alpha:]]', 'bounded'],
    ['a*', 'linear'],
    ['[0-9]+', 'linear'],
    ['(ab|a)(c|bcd)?', 'linear'],
    ['b{2,3}', 'linear'],
    ['[a-z]{2}', 'linear'],
    ['(a|b)*?c', 'linear'],
    ['\\bfoo\\b', 'bounded'],
    ['(ab) \\1', 'budgeted'],
    ['(a)(b)?\\2', 'budgeted'],
    ['([0-9])\\1', 'budgeted'],
    ['a{1001}', 'budgeted'],
  ]
  test.each(PATTERNS)('/%s/ runs on the %s engine and matches as RegExp does', (src, engine) => {
    const posix = src.replace(/\[\[:alpha:\]\]/g, '[a-zA-Z]')
    expect(compileRegex(src.replace(/\[\[:alpha:\]\]/g, '[a-zA-Z]')).engine).toBe(engine)
    for (const text of TEXTS) {
      expect(spans(posix, text), `${src} on ${JSON.stringify(text)}`).toEqual(jsSpans(posix, text))
      expect(spans(posix, text.toUpperCase(), { ignoreCase: true })).toEqual(jsSpans(posix, text.toUpperCase(), 'i'))
    }
  })

  test('exec from an index: ^ only at 0, \\b sees the character before', () => {
    expect(compileRegex('^a').exec('aa', 1)).toBeUndefined()
    expect(compileRegex('^a+').exec('aa', 1)).toBeUndefined()
    expect(compileRegex('\\ba').exec('ba a', 1)?.index).toBe(3)
    expect(compileRegex('\\ba*').exec('ba a', 1)?.index).toBe(2) // the empty match after the first a
  })

  test('grep -w and -x on each engine', () => {
    for (const src of ['foo', 'fo+', '(f)oo\\1?']) {
      const w = compileRegex(src, { word: true })
      expect(w.all('foo foobar barfoo foo_ (foo)').map((m) => [m.index, m[0]])).toEqual([
        [0, 'foo'],
        [24, 'foo'],
      ])
      expect(compileRegex(src, { line: true }).test('foo')).toBe(true)
      expect(compileRegex(src, { line: true }).test('foo ')).toBe(false)
    }
    // A match that ends in a non-word character: the following character is not part of it.
    expect(
      compileRegex('a-+', { word: true })
        .all('a- a-- ba-')
        .map((m) => m[0]),
    ).toEqual(['a-', 'a--'])
  })

  test('which patterns stay on V8: no quantifier, no backreference, at most 4 alternatives', () => {
    expect(boundedForV8('GET /index')).toBe('GET /index')
    expect(boundedForV8('a.c\\sd')).toBe('a[^\\n]c[\\t\\n\\f\\r ]d')
    expect(boundedForV8('[.*+]x')).toBe('[.*+]x')
    expect(boundedForV8('(?:a)')).toBe('(?:a)')
    expect(boundedForV8('\\(?')).toBeUndefined()
    expect(boundedForV8('a*')).toBeUndefined()
    expect(boundedForV8('a{2}')).toBeUndefined()
    expect(boundedForV8('a|b|c|d|e|f')).toBeUndefined()
    expect(boundedForV8('(a)\\1')).toBeUndefined()
    expect(hasBackreference('[\\1]')).toBe(false)
    expect(hasBackreference('\\\\1')).toBe(false)
  })

  test('pathological patterns end: linear where RE2 takes them, a clean PatternTooComplex where it cannot', () => {
    expect(compileRegex('(a+)+$').test(`${A(5000)}!`)).toBe(false)
    expect(compileRegex('(a|aa)+$').test(`${A(5000)}!`)).toBe(false)
    expect(compileRegex('^(([a-z])+.)+[A-Z]([a-z])+$').test(`${A(3000)}!`)).toBe(false)
    expect(() => compileRegex('(a*)*\\1$').test(`${A(40)}!`)).toThrow(PatternTooComplex)
    // A backreference on an ordinary line is well within the budget.
    expect(compileRegex('(.*)\\1').exec('abcdefgh'.repeat(20))?.[1]).toBe('abcdefgh'.repeat(10))
  })

  test('work RE2 cannot bound per character: a long source, a large program on a long text', () => {
    expect(() => compileRegex(`(${'a|'.repeat(MAX_SOURCE)}b)+`)).toThrow(PatternTooComplex)
    expect(compileRegex('x'.repeat(MAX_SOURCE * 2)).engine).toBe('bounded') // a literal: V8 runs it
    const big = compileRegex('[^x]{1000}')
    expect(big.test('a'.repeat(1000))).toBe(true)
    expect(() => big.test('a'.repeat(LINEAR_WORK / 1000))).toThrow(PatternTooComplex)
    expect(compileRegex('[0-9]+').test(`${'a'.repeat(50_000)}1`)).toBe(true)
    expect(() => compileRe2('a'.repeat(MAX_SOURCE + 1))).toThrow(SyntaxError)
  })

  test('a bad pattern is a SyntaxError from either engine', () => {
    expect(() => compileRegex('a(')).toThrow(SyntaxError)
    expect(() => compileRegex('(a)\\1(')).toThrow(SyntaxError)
    expect(() => compileRegex('a**')).toThrow(SyntaxError)
  })
})

describe('POSIX patterns through the matcher', () => {
  const m = (p: string, extended: boolean, text: string, ignoreCase = false) => posixMatcher(p, { extended, ignoreCase }).exec(text)?.[0]
  test('classes, anchors, alternation, intervals, -i', () => {
    expect(m('[[:digit:]][[:space:]][[:upper:]]', false, 'x1 Ay')).toBe('1 A')
    expect(m('[[:punct:]]+', true, 'ab!?,c')).toBe('!?,')
    expect(m('[^[:alnum:]]', false, 'ab_c')).toBe('_')
    expect(m('a^b$c', false, 'xa^b$c')).toBe('a^b$c') // BRE: ^ and $ mid-pattern are literal
    expect(m('^ab$', false, 'ab')).toBe('ab')
    expect(m('GET\\|POST', false, 'a POST')).toBe('POST')
    expect(m('GET|POST', true, 'a POST')).toBe('POST')
    expect(m('a\\{2,3\\}', false, 'aaaa')).toBe('aaa')
    expect(m('a{2}', true, 'aaaa')).toBe('aa')
    expect(m('a{,2}', true, 'a{,2}')).toBe('a{,2}') // not an interval in ERE: literal
    expect(m('*a', false, 'x*a')).toBe('*a') // BRE: a leading * is literal
    expect(m('get', false, 'GET /', true)).toBe('GET')
    expect(m('\\<foo\\>', false, 'a foo b')).toBe('foo')
  })
  test('backreferences still work, in BRE and ERE', () => {
    expect(posixMatcher('\\(ab\\)\\1', { extended: false }).exec('xababy')?.[0]).toBe('abab')
    expect(posixMatcher('(ab)\\1', { extended: true }).exec('xababy')?.[0]).toBe('abab')
    expect(posixMatcher('^\\(.\\).*\\1$', { extended: false }).test('abca')).toBe(true)
    expect(posixMatcher('^\\(.\\).*\\1$', { extended: false }).test('abc')).toBe(false)
    expect(posixMatcher('\\(A\\)\\1', { extended: false, ignoreCase: true }).test('aA')).toBe(true)
  })
})

describe('commands under attack end with their normal result or a clean error', () => {
  const evil = `${A(34)}!`
  test('grep, sed, awk, expr on (a+)+$', async () => {
    expect(await sh(`echo ${evil} | grep -E '(a+)+$'`)).toEqual({ code: 1, stdout: '', stderr: '' })
    expect(await sh(`echo ${evil} | grep '\\(a\\+\\)\\+$'`)).toEqual({ code: 1, stdout: '', stderr: '' })
    expect(await sh(`echo ${evil} | grep -o -E '(a+)+!'`)).toEqual({ code: 0, stdout: `${evil}\n`, stderr: '' })
    expect(await sh(`echo ${evil} | awk '/(a+)+$/ { print "hit" } END { print match($0, /(a+)+$/) }'`)).toEqual({
      code: 0,
      stdout: '0\n',
      stderr: '',
    })
    expect(await sh(`echo ${evil} | sed -E 's/(a+)+$/x/; s/(a+)+!/y/'`)).toEqual({ code: 0, stdout: 'y\n', stderr: '' })
    expect((await sh(`expr ${A(34)} : '\\(a*\\)*b'`)).stdout).toBe('\n')
  })
  test('a backreference that would backtrack for ever: grep exits 2, sed and awk 1, with a message', async () => {
    expect(await sh(`echo ${evil} | grep '\\(a*\\)*\\1$'`)).toEqual({ code: 2, stdout: '', stderr: 'grep: pattern too complex\n' })
    expect(await sh(`echo ${evil} | sed 's/\\(a*\\)*\\1$/x/'`)).toEqual({ code: 1, stdout: '', stderr: 'sed: pattern too complex\n' })
    expect((await sh(`echo ${evil} | awk '{ gsub(/(a*)*b{1001}/, "x") }'`)).code).toBe(1)
  })
  test('backreferences in grep and sed as before', async () => {
    expect((await sh(`printf 'abab\\nabba\\n' | grep '\\(ab\\)\\1'`)).stdout).toBe('abab\n')
    expect((await sh(`printf 'abba\\n' | grep -E '(.)(.)\\2\\1'`)).stdout).toBe('abba\n')
    expect((await sh(`echo 'hello hello world' | sed 's/\\(hello\\) \\1/\\1/'`)).stdout).toBe('hello world\n')
  })
  test('case and ${x//p/r} on a 200-character value', async () => {
    const r = await sh(`x=${A(200)}; case $x in *a*a*a*a*a*b) echo y;; *a*a*a*a*a) echo n;; esac; y=\${x//*a*a*a*b/}; echo \${#y}`)
    expect(r).toEqual({ code: 0, stdout: 'n\n200\n', stderr: '' })
  })
})

describe('globs', () => {
  /** The old implementation: a RegExp per pattern (the reference for ordinary patterns). */
  const oldRe = (p: string): RegExp => {
    let re = ''
    for (let i = 0; i < p.length; i++) {
      const c = p[i] as string
      if (c === '\\') re += (p[++i] ?? '\\').replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
      else if (c === '*') re += '[^]*'
      else if (c === '?') re += '[^]'
      else if (c === '[') {
        const end = p.indexOf(']', i + 2)
        re += p.slice(i, end + 1).replace('[!', '[^')
        i = end
      } else re += c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
    }
    return new RegExp(`^(?:${re})$`)
  }
  const VALUES = ['', 'a', 'abc', 'foo.tar.gz', 'a/b/c', 'aXbXc', 'path/to/file.txt', '***', 'ab?c']
  const GLOBS = ['*', '?', 'a*', '*c', '*.*', '*.gz', 'a?c', '[ab]*', '[!a]*', '*/*', '*X*', '\\**', 'a*b*c', '']
  test.each(GLOBS)('%j matches, removes and substitutes as the RegExp did', (g) => {
    const re = oldRe(g)
    for (const v of VALUES) {
      expect(matchPattern(g, v), `${g} ~ ${v}`).toBe(re.test(v))
      const n = v.length
      const prefixes = [...Array(n + 1).keys()].filter((i) => re.test(v.slice(0, i)))
      const suffixes = [...Array(n + 1).keys()].filter((i) => re.test(v.slice(i)))
      expect(removeAffix(v, g, '#')).toBe(prefixes.length ? v.slice(prefixes[0]) : v)
      expect(removeAffix(v, g, '##')).toBe(prefixes.length ? v.slice(prefixes.at(-1)) : v)
      expect(removeAffix(v, g, '%')).toBe(suffixes.length ? v.slice(0, suffixes.at(-1)) : v)
      expect(removeAffix(v, g, '%%')).toBe(suffixes.length ? v.slice(0, suffixes[0]) : v)
      expect(substitute(v, g, '<>', '/#')).toBe(prefixes.length ? `<>${v.slice(prefixes.at(-1))}` : v)
      expect(substitute(v, g, '<>', '/%')).toBe(suffixes.length ? `${v.slice(0, suffixes[0])}<>` : v)
    }
  })
  test('classes, escapes, and a pathological glob on a long value', () => {
    expect(matchPattern('[[:digit:]]*', '1abc')).toBe(true)
    expect(matchPattern('[[:digit:]]*', 'abc')).toBe(false)
    expect(matchPattern('\\*', '*')).toBe(true)
    expect(matchPattern('\\*', 'a')).toBe(false)
    expect(matchPattern('*a*a*a*a*a*a*a*a*b', A(5000))).toBe(false)
    expect(substitute(A(300), '*a*a*a*b', '', '//')).toBe(A(300))
    expect(substitute('one two one', 'one', '1', '//')).toBe('1 two 1')
    expect(substitute('one two one', 'o*e', '1', '/')).toBe('1')
  })
  test('Glob: ends and starts of matches', () => {
    const g = new Glob(['*', (c) => c === 'b'])
    expect(g.ends('abab', 0)).toEqual([2, 4])
    expect(g.starts('abab', 4)).toEqual([3, 2, 1, 0])
    expect(g.starts('abab', 3)).toEqual([])
    expect(simpleGlob('a?c').test('abc')).toBe(true)
    expect(simpleGlob('a?c', false).test('abc')).toBe(false)
    expect(simpleGlob('a?c', false).test('a?c')).toBe(true)
  })
  test('fault-rule globs', () => {
    expect(globMatch('Run*', 'RunPodSandbox')).toBe(true)
    expect(globMatch('*Pod?andbox', 'RunPodSandbox')).toBe(true)
    expect(globMatch('Run.*', 'RunPodSandbox')).toBe(false)
    expect(globMatch(`${'*a'.repeat(30)}b`, A(10_000))).toBe(false)
  })
})

describe('containerd ~= filters', () => {
  const ids = (filters: string[], all: string[]) => all.filter((id) => parseFilters(filters)((path) => (path[0] === 'id' ? id : undefined)))
  test('RE2 syntax, linear time', () => {
    expect(ids(['id~=^([0-9a-f]+)+z'], ['0123456789abcdef'.repeat(4)])).toEqual([])
    expect(ids(['id~=^web-[0-9]+$'], ['web-1', 'web-x', 'db-1'])).toEqual(['web-1'])
    expect(ids(['id~=(?i)^WEB'], ['web-1', 'db-1'])).toEqual(['web-1'])
  })
  test('what Go refuses is InvalidArgument', () => {
    expect(() => parseFilters(['id~=(?=x)'])).toThrow(/invalid regular expression/)
    expect(() => parseFilters(['id~=(a)\\1'])).toThrow(/invalid regular expression/)
  })
})

import { describe, expect, test } from 'vitest'
import { parse, parseScript, ShellSyntaxError } from '../../src/sim/shell/parser.js'
import { evaluate, ArithError } from '../../src/sim/shell/arith.js'
import { globPaths, matchPattern, removeAffix, substitute } from '../../src/sim/shell/pattern.js'
import { Fields } from '../../src/sim/shell/fields.js'
import { MemFs } from './sh-helpers.js'

const syntaxError = (s: string): string | undefined => parseScript(s).error?.message

describe('parser', () => {
  test('a simple command: assignments, words, redirections and its line', () => {
    const [item] = parse('A=1 B=x echo hi 2>/dev/null >>log')
    const cmd = item?.andOr.first.commands[0]
    expect(cmd).toMatchObject({
      type: 'simple',
      assigns: [
        { name: 'A', value: [{ t: 'lit', v: '1' }] },
        { name: 'B', value: [{ t: 'lit', v: 'x' }] },
      ],
      words: [[{ t: 'lit', v: 'echo' }], [{ t: 'lit', v: 'hi' }]],
      redirs: [
        { op: '>', fd: 2, target: [{ t: 'lit', v: '/dev/null' }] },
        { op: '>>', target: [{ t: 'lit', v: 'log' }] },
      ],
      line: 1,
    })
  })

  test('quotes, escapes and expansions become parts', () => {
    const [item] = parse(`echo 'a b'"c $X \${Y:-d}"\\ e $(true) \`false\` $((1+2)) ~/x`)
    const words = (item?.andOr.first.commands[0] as { words: unknown[] }).words
    expect(words[1]).toEqual([
      { t: 'q', v: 'a b' },
      {
        t: 'dq',
        parts: [
          { t: 'q', v: 'c ' },
          { t: 'param', name: 'X' },
          { t: 'q', v: ' ' },
          { t: 'param', name: 'Y', colon: true, op: '-', arg: [{ t: 'lit', v: 'd' }] },
        ],
      },
      { t: 'q', v: ' ' },
      { t: 'lit', v: 'e' },
    ])
    expect(words[2]).toMatchObject([{ t: 'cmd' }])
    expect(words[3]).toMatchObject([{ t: 'cmd' }])
    expect(words[4]).toEqual([{ t: 'arith', expr: [{ t: 'q', v: '1+2' }] }])
    expect(words[5]).toEqual([
      { t: 'tilde', user: '' },
      { t: 'lit', v: '/x' },
    ])
  })

  test('lists, pipelines, and-or and background', () => {
    const list = parse('a | b && ! c || d & e; f\ng')
    expect(list).toHaveLength(4)
    expect(list[0]).toMatchObject({
      background: true,
      andOr: { first: { commands: [{}, {}] }, rest: [{ op: '&&', pipeline: { negate: true } }, { op: '||' }] },
    })
    expect(list.map((i) => i.background)).toEqual([true, false, false, false])
  })

  test('compound commands and functions', () => {
    const list = parse(`if a; then b; elif c; then d; else e; fi
while x; do y; done
until x; do y; done
for i in 1 2; do echo $i; done
for i do :; done
case $x in (a|b) one;; *) two
esac
f() { echo; }
function g { :; }
( sub ) > out
{ grp; } 2>&1`)
    expect(list.map((i) => i.andOr.first.commands[0]?.type)).toEqual([
      'if',
      'loop',
      'loop',
      'for',
      'for',
      'case',
      'function',
      'function',
      'subshell',
      'group',
    ])
    expect(list[5]?.andOr.first.commands[0]).toMatchObject({
      items: [{ patterns: [[{ v: 'a' }], [{ v: 'b' }]] }, { patterns: [[{ v: '*' }]] }],
    })
    expect(list[8]?.andOr.first.commands[0]).toMatchObject({ redirs: [{ op: '>' }] })
  })

  test('here-documents: expanded unless the delimiter is quoted; <<- strips tabs', () => {
    const list = parse('cat <<EOF; cat <<-"END"\nhi $X\nEOF\n\tlit $X\n\tEND\necho after')
    const redir = (i: number) => (list[i]?.andOr.first.commands[0] as { redirs: { heredoc: unknown }[] }).redirs[0]?.heredoc
    expect(redir(0)).toEqual({
      quoted: false,
      body: [
        { t: 'q', v: 'hi ' },
        { t: 'param', name: 'X' },
        { t: 'q', v: '\n' },
      ],
    })
    expect(redir(1)).toEqual({ quoted: true, body: [{ t: 'q', v: 'lit $X\n' }] })
    expect(list).toHaveLength(3)
  })

  test('syntax errors in busybox words', () => {
    expect(syntaxError('if true; then echo')).toBe('unexpected end of file (expecting "fi")')
    expect(syntaxError('echo a; fi')).toBe('unexpected "fi"')
    expect(syntaxError('echo "abc')).toBe('unterminated quoted string')
    expect(syntaxError('while true; do done')).toBe('unexpected "done"')
    expect(syntaxError('{ echo a }')).toBe('unexpected end of file (expecting "}")')
    expect(syntaxError('echo a )')).toBe('unexpected ")"')
    expect(syntaxError('|| b')).toBe('unexpected "||"')
    expect(syntaxError('for 1 in a; do :; done')).toBe('bad for loop variable')
    expect(syntaxError('echo ${')).toBe('bad substitution')
    expect(syntaxError('echo `x')).toBe('EOF in backquote substitution')
    expect(() => parse('fi')).toThrow(ShellSyntaxError)
  })

  test('a script is parsed line by line: the lines before an error are kept', () => {
    const s = parseScript('echo one\necho two\nfi\necho three')
    expect(s.lines).toHaveLength(2)
    expect(s.error).toMatchObject({ message: 'unexpected "fi"', line: 3 })
  })

  test('results are cached by text', () => {
    expect(parseScript('echo cached')).toBe(parseScript('echo cached'))
  })

  test('comments and line continuations', () => {
    const list = parse('echo a \\\n b # comment\n# whole line\necho c#d')
    expect(list).toHaveLength(2)
    expect((list[1]?.andOr.first.commands[0] as { words: unknown[] }).words[1]).toEqual([{ t: 'lit', v: 'c#d' }])
  })
})

describe('arithmetic', () => {
  const vars = new Map<string, string>()
  const ev = (s: string) => evaluate(s, { get: (n) => vars.get(n), set: (n, v) => vars.set(n, v) })

  test('C operators and precedence, 64-bit', () => {
    expect(ev('1 + 2 * 3')).toBe(7n)
    expect(ev('(1 + 2) * 3')).toBe(9n)
    expect(ev('2 ** 10')).toBe(1024n)
    expect(ev('7 / 2')).toBe(3n)
    expect(ev('-7 % 3')).toBe(-1n)
    expect(ev('1 << 4 | 1')).toBe(17n)
    expect(ev('5 > 3 && 2 > 1')).toBe(1n)
    expect(ev('!0 + ~0')).toBe(0n)
    expect(ev('1 ? 10 : 20')).toBe(10n)
    expect(ev('0x10 + 010 + 2#101')).toBe(29n)
    expect(ev('9223372036854775807 + 1')).toBe(-9223372036854775808n)
    expect(ev('')).toBe(0n)
  })

  test('variables: unset is 0, assignment and increments', () => {
    vars.clear()
    vars.set('x', '5')
    vars.set('e', 'x * 2')
    expect(ev('x + y')).toBe(5n)
    expect(ev('e + 1')).toBe(11n)
    expect(ev('x += 2')).toBe(7n)
    expect(ev('x++')).toBe(7n)
    expect(vars.get('x')).toBe('8')
    expect(ev('--x, x')).toBe(7n)
  })

  test('errors', () => {
    expect(() => ev('1 / 0')).toThrow(new ArithError('divide by zero'))
    expect(() => ev('1 +')).toThrow(new ArithError('arithmetic syntax error'))
    expect(() => ev('2 ** -1')).toThrow(new ArithError('exponent less than 0'))
  })
})

describe('patterns', () => {
  test('matching', () => {
    expect(matchPattern('*.txt', 'a.txt')).toBe(true)
    expect(matchPattern('?b', 'ab')).toBe(true)
    expect(matchPattern('[a-c]x', 'bx')).toBe(true)
    expect(matchPattern('[!a-c]x', 'bx')).toBe(false)
    expect(matchPattern('[[:digit:]]*', '9lives')).toBe(true)
    expect(matchPattern('\\*', '*')).toBe(true)
    expect(matchPattern('\\*', 'a')).toBe(false)
    expect(matchPattern('a[', 'a[')).toBe(true)
  })

  test('prefix/suffix removal and substitution', () => {
    expect(removeAffix('a.b.c', '*.', '#')).toBe('b.c')
    expect(removeAffix('a.b.c', '*.', '##')).toBe('c')
    expect(removeAffix('a.b.c', '.*', '%')).toBe('a.b')
    expect(removeAffix('a.b.c', '.*', '%%')).toBe('a')
    expect(substitute('aXbXc', 'X', '-', '/')).toBe('a-bXc')
    expect(substitute('aXbXc', 'X', '-', '//')).toBe('a-b-c')
    expect(substitute('abc', 'a', '-', '/#')).toBe('-bc')
    expect(substitute('abc', 'c', '-', '/%')).toBe('ab-')
  })

  test('pathname expansion over an Fs: sorted, hidden files only for a leading dot', () => {
    const fs = new MemFs({ '/d/b.txt': '', '/d/a.txt': '', '/d/.h.txt': '', '/d/sub/c.txt': '', '/d/x.log': '' })
    expect(globPaths('/d/*.txt', fs, '/')).toEqual(['/d/a.txt', '/d/b.txt'])
    expect(globPaths('*.txt', fs, '/d')).toEqual(['a.txt', 'b.txt'])
    expect(globPaths('/d/.*', fs, '/')).toEqual(['/d/.h.txt'])
    expect(globPaths('/d/*/c.txt', fs, '/')).toEqual(['/d/sub/c.txt'])
    expect(globPaths('/d/?.log', fs, '/')).toEqual(['/d/x.log'])
    expect(globPaths('/d/*/', fs, '/')).toEqual(['/d/sub/'])
    expect(globPaths('/nope/*', fs, '/')).toEqual([])
  })
})

describe('field splitting', () => {
  const split = (s: string, ifs = ' \t\n') => {
    const b = new Fields(ifs)
    b.split(s)
    return b.finish().map((f) => f.v)
  }
  test('white space collapses; other IFS characters delimit empty fields', () => {
    expect(split('  a  b ')).toEqual(['a', 'b'])
    expect(split('a::b', ':')).toEqual(['a', '', 'b'])
    expect(split(':a:', ':')).toEqual(['', 'a'])
    expect(split('a : b', ': ')).toEqual(['a', 'b'])
    expect(split('a b', '')).toEqual(['a b'])
  })
})

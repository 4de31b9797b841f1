// busybox awk: invocation, patterns, fields, statements, expressions, built-in functions, output
// and errors, with the outputs busybox (and POSIX awk) print.
import { describe, expect, test } from 'vitest'
import { MemFs, sh, start } from './sh-helpers.js'

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n'
const files = (): MemFs => new MemFs({ '/etc/passwd': PASSWD, '/tmp/.keep': '', '/data': 'b 2\na 10\nc 3\n' })
const out = async (script: string, fs = files()): Promise<string> => {
  const r = await sh(script, { fs })
  expect(r.stderr).toBe('')
  return r.stdout
}

describe('awk invocation', () => {
  test('fields of stdin, -F, files, - for stdin', async () => {
    expect(await out(`echo "a b c" | awk '{print $2}'`)).toBe('b\n')
    expect(await out(`awk -F: '{print $1}' /etc/passwd`)).toBe('root\nnobody\n')
    expect(await out(`echo x | awk '{print FILENAME ":" $0}' /data -`)).toBe('/data:b 2\n/data:a 10\n/data:c 3\n-:x\n')
    expect(await out(`awk -F'\\t' '{print $2}' <<EOF\na\tb c\nEOF`)).toBe('b c\n')
    expect(await out(`echo 'a1b22c' | awk -F'[0-9]+' '{print $3, NF}'`)).toBe('c 3\n')
    expect(await out(`echo 'a|b|c' | awk -F'|' '{print $2}'`)).toBe('b\n')
  })
  test('-v and VAR=VAL operands; -f progfile', async () => {
    expect(await out(`awk -v x=5 -v 'y=a\\tb' 'BEGIN {print x + 1, y}'`)).toBe('6 a\tb\n')
    expect(await out(`echo 1 | awk '{print n, $1}' n=7 -`)).toBe('7 1\n')
    const fs = files()
    fs.writeFile('/prog.awk', '# sums the second column\n{ s += $2 }\nEND { print "sum", s }\n')
    expect(await out(`awk -f /prog.awk /data`, fs)).toBe('sum 15\n')
  })
  test('no program is a usage error; a bad option too', async () => {
    const r = await sh('awk')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Usage: awk [OPTIONS] [AWK_PROGRAM] [FILE]...')
    expect((await sh('awk -q 1')).stderr).toMatch(/^awk: invalid option -- 'q'\n/)
  })
})

describe('awk patterns', () => {
  test('expressions, regexes, negation, ranges; a rule without action prints $0', async () => {
    const lines = `printf 'a\\nbb\\nccc\\ndd\\n'`
    expect(await out(`${lines} | awk 'NR==2'`)).toBe('bb\n')
    expect(await out(`${lines} | awk 'NR>2 {print NR": "$0}'`)).toBe('3: ccc\n4: dd\n')
    expect(await out(`${lines} | awk '/c/'`)).toBe('ccc\n')
    expect(await out(`${lines} | awk '!/c|d/'`)).toBe('a\nbb\n')
    expect(await out(`${lines} | awk 'length > 2'`)).toBe('ccc\n')
    expect(await out(`${lines} | awk '$0 ~ /^b/ || $1 == "dd"'`)).toBe('bb\ndd\n')
    expect(await out(`${lines} | awk '/bb/,/ccc/'`)).toBe('bb\nccc\n')
    expect(await out(`${lines} | awk 'NR==1, NR==2 {print "r", $0}'`)).toBe('r a\nr bb\n')
    expect(await out(`awk '$2 > 2 {print $1}' /data`)).toBe('a\nc\n')
  })
  test('BEGIN alone reads no input; END sees the last record', async () => {
    expect(await out(`awk 'BEGIN {print "hi"}'`)).toBe('hi\n')
    expect(await out(`printf 'x 1\\ny 2\\n' | awk 'END {print NR, $1}'`)).toBe('2 y\n')
  })
})

describe('awk records and fields', () => {
  test('NF, $NF, $(expr), NR and FNR over files', async () => {
    expect(await out(`echo "a b  c" | awk '{print NF, $NF, $(NF-1), $(1+1)}'`)).toBe('3 c b b\n')
    expect(await out(`awk '{print NR, FNR}' /data /data | tail -n 2`)).toBe('5 2\n6 3\n')
    expect(await out(`echo "  lead  trail  " | awk '{print NF ":" $1}'`)).toBe('2:lead\n')
  })
  test('assigning a field rebuilds $0 with OFS; assigning $0 splits again; NF can be set', async () => {
    expect(await out(`echo "a b c" | awk '{$2=""; print}'`)).toBe('a  c\n')
    expect(await out(`echo "a b c" | awk -v OFS=- '{$1=$1; print}'`)).toBe('a-b-c\n')
    expect(await out(`echo "a b c" | awk '{$5="e"; print; print NF}'`)).toBe('a b c  e\n5\n')
    expect(await out(`echo "a b c" | awk '{$0="x y"; print $2, NF}'`)).toBe('y 2\n')
    expect(await out(`echo "a b c" | awk '{NF=2; print}'`)).toBe('a b\n')
  })
  test('OFS, ORS, RS of one character', async () => {
    expect(await out(`printf 'a b\\nc d\\n' | awk 'BEGIN {OFS=":"; ORS=";"} {print $1, $2}'`)).toBe('a:b;c:d;')
    expect(await out(`printf 'a;b;c' | awk 'BEGIN {RS=";"} {print NR, $0}'`)).toBe('1 a\n2 b\n3 c\n')
  })
})

describe('awk statements', () => {
  test('print with commas and concatenation; printf formats', async () => {
    expect(await out(`awk 'BEGIN {print "a" "b", 1 2; print}' </dev/null`)).toBe('ab 12\n\n')
    expect(await out(`awk 'BEGIN {printf "%5.2f|%-3s|%x\\n", 3.14159, "a", 255}'`)).toBe(' 3.14|a  |ff\n')
    expect(await out(`awk 'BEGIN {printf "%d %i %o %X %c%c %% %5s|%-5d|%05d\\n", "42abc", -3.9, 8, 255, 65, "hi", "ab", 7, 42}'`)).toBe(
      '42 -3 10 FF Ah %    ab|7    |00042\n',
    )
    expect(await out(`awk 'BEGIN {printf "%e %g %g %.3s\\n", 1234.5, 0.0001, 1e10, "abcdef"}'`)).toBe('1.234500e+03 0.0001 1e+10 abc\n')
    expect(await out(`awk 'BEGIN {printf("%s-%s\\n", "a", "b")}'`)).toBe('a-b\n')
  })
  test('print > file truncates once, >> appends, | runs a command at the end', async () => {
    const fs = files()
    expect(await out(`awk 'BEGIN {print "x" > "/tmp/o"; print "y" > "/tmp/o"; print "z" >> "/tmp/p"}'`, fs)).toBe('')
    expect(fs.readFile('/tmp/o').toString()).toBe('x\ny\n')
    expect(await out(`awk 'BEGIN {print "w" >> "/tmp/o"}'; cat /tmp/o /tmp/p`, fs)).toBe('x\ny\nw\nz\n')
    expect(await out(`awk '{print $1 | "sort"} END {print "unsorted"}' /data`)).toBe('unsorted\na\nb\nc\n')
    expect(await out(`awk '{print $1 | "sort"} END {close("sort"); print "after"}' /data`)).toBe('a\nb\nc\nafter\n')
  })
  test('if/else, while, do-while, for, break, continue', async () => {
    const prog = `BEGIN {
      for (i = 0; i < 5; i++) { if (i == 1) continue; if (i == 3) break; printf "%d ", i }
      while (n < 3) n++
      do m += 2; while (m < 5)
      if (n == 3) print "n", n; else print "no"
      if (m > 100) print "big"
      else print "m", m
    }`
    expect(await out(`awk '${prog}'`)).toBe('0 2 n 3\nm 6\n')
  })
  test('next, exit with a code, END after exit', async () => {
    expect(await out(`printf '1\\n2\\n3\\n' | awk '$1 == 2 {next} {print}'`)).toBe('1\n3\n')
    const r = await sh(`printf '1\\n2\\n3\\n' | awk '{print} $1 == 2 {exit 3} END {print "end"}'`)
    expect(r).toEqual({ stdout: '1\n2\nend\n', stderr: '', code: 3 })
    expect((await sh(`awk 'BEGIN {exit 4} END {exit}'`)).code).toBe(4)
    expect((await sh(`echo | awk '{exit} END {print "end"}'; echo $?`)).stdout).toBe('end\n0\n')
  })
  test('arrays: counting, for-in, in, delete, SUBSEP', async () => {
    expect(await out(`printf 'x\\ny\\nx\\n' | awk '{a[$1]++} END {for (k in a) print k, a[k]}' | sort`)).toBe('x 2\ny 1\n')
    expect(await out(`awk 'BEGIN {a["k"]; print ("k" in a), ("z" in a); delete a["k"]; print length(a)}'`)).toBe('1 0\n0\n')
    expect(await out(`awk 'BEGIN {a[1,2]=3; for (k in a) {split(k, p, SUBSEP); print p[1], p[2]}; print ((1,2) in a)}'`)).toBe('1 2\n1\n')
    expect(await out(`awk 'BEGIN {a[1]; a[2]; delete a; print length(a)}'`)).toBe('0\n')
  })
  test('user functions: arguments by value, arrays by reference, recursion', async () => {
    const prog = 'function fact(n) { return n <= 1 ? 1 : n * fact(n - 1) } function fill(arr, v) { arr["k"] = v; v = 0 }'
    expect(await out(`awk '${prog} BEGIN { x = 5; fill(a, x); print fact(5), a["k"], x }'`)).toBe('120 5 5\n')
  })
})

describe('awk expressions', () => {
  test('arithmetic, precedence, assignment operators, increments', async () => {
    expect(await out(`awk 'BEGIN {print 1+2*3, (1+2)*3, 2^3^2, -2^2, 7%3, -7%3, 7/2, 2**3}'`)).toBe('7 9 512 -4 1 -1 3.5 8\n')
    expect(await out(`awk 'BEGIN {x=10; x+=5; x-=3; x*=2; x/=4; x%=4; y=2; y^=3; print x, y, x++ + ++x, x--, --x}'`)).toBe('2 8 6 4 2\n')
    expect(await out(`awk 'BEGIN {print 1==1.0, 2<10, "2"<"10", "a" < "b", 1 != 2, !0, !"", !"a"}'`)).toBe('1 1 0 1 1 1 1 0\n')
    expect(await out(`awk 'BEGIN {print (1 && 0), (0 || 2), 1 ? "y" : "n", 0 ? "y" : "n"}'`)).toBe('0 1 y n\n')
  })
  test('strnum: input that looks numeric compares as a number', async () => {
    expect(await out(`echo "10 9 abc 10.0" | awk '{print ($1 > $2), ($1 == $4), ($3 > $1), ("10" > "9")}'`)).toBe('1 1 1 0\n')
    expect(await out(`echo "0x1A 3abc" | awk '{print $1 + 0, $2 + 1, "3" + "4"}'`)).toBe('0 4 7\n')
  })
  test('uninitialised variables are "" and 0', async () => {
    expect(await out(`awk 'BEGIN {print x + 0, "[" x "]", (x == 0), (x == ""), length(x)}'`)).toBe('0 [] 1 1 0\n')
  })
  test('~ and !~ with literal and dynamic regexes', async () => {
    expect(await out(`awk 'BEGIN {re = "^a.c$"; print ("abc" ~ re), ("abd" ~ re), ("x" !~ /y/), ("a+b" ~ "a\\\\+b")}'`)).toBe('1 0 1 1\n')
    expect(await out(`awk 'BEGIN {print ("ab" ~ /^[[:alpha:]]+$/), ("a1" ~ /^[[:alpha:]]+$/), ("aaa" ~ /^a{3}$/)}'`)).toBe('1 0 1\n')
  })
  test('numbers print as integers or with OFMT; concatenation uses CONVFMT', async () => {
    expect(await out(`awk 'BEGIN {print 1/3, 100000000, 0.1+0.2, 1e6, 2^31, 3.0, -0.5}'`)).toBe(
      '0.333333 100000000 0.3 1000000 2147483648 3 -0.5\n',
    )
    expect(await out(`awk 'BEGIN {OFMT="%.2f"; CONVFMT="%.1f"; x = 3.14159; print x, x ""}'`)).toBe('3.14 3.1\n')
    expect(await out(`awk 'BEGIN {print 2^53 + 1, 1e18, 1e19, -0}'`)).toBe('9007199254740992 1000000000000000000 1e+19 0\n')
  })
})

describe('awk built-in functions', () => {
  test('length, substr, index, toupper, tolower', async () => {
    expect(await out(`awk 'BEGIN { print length("abc"), substr("hello", 2, 3), index("hello","l"), toupper("x") }'`)).toBe('3 ell 3 X\n')
    expect(await out(`echo hello | awk '{print length, length(), length($0), tolower("AbC")}'`)).toBe('5 5 5 abc\n')
    expect(
      await out(`awk 'BEGIN {print substr("hello", 3), substr("hello", 0, 2), substr("hello", 4, 99) "|" substr("hello", 9) "|"}'`),
    ).toBe('llo he lo||\n')
  })
  test('sub, gsub with & and \\&, on $0 and fields', async () => {
    expect(await out(`awk 'BEGIN {s = "aaa"; n = gsub(/a/, "<&>", s); print n, s}'`)).toBe('3 <a><a><a>\n')
    expect(await out(`awk 'BEGIN {s = "hello"; sub(/l+/, "[\\\\&]", s); print s}'`)).toBe('he[&]o\n')
    expect(await out(`echo "a.b.c" | awk '{gsub(/\\./, "/"); print; print $1}'`)).toBe('a/b/c\na/b/c\n')
    expect(await out(`echo "foo bar" | awk '{sub(/o+/, "0", $1); print; print NF}'`)).toBe('f0 bar\n2\n')
    expect(await out(`awk 'BEGIN {s = "abc"; gsub(/x*/, "-", s); print s; t = "abc"; gsub(/b*/, "-", t); print t}'`)).toBe(
      '-a-b-c-\n-a-c-\n',
    )
    expect(await out(`awk 'BEGIN {s = "aXbX"; print gsub("X", "y", s), s, sub(/z/, "", s)}'`)).toBe('2 ayby 0\n')
  })
  test('match sets RSTART and RLENGTH; split with FS, a string, a regex', async () => {
    expect(await out(`awk 'BEGIN {print match("foobar", /o+b/), RSTART, RLENGTH; print match("x", /y/), RSTART, RLENGTH}'`)).toBe(
      '2 2 3\n0 0 -1\n',
    )
    expect(
      await out(
        `awk 'BEGIN {n = split("a:b:c", p, ":"); print n, p[1], p[3]; print split("  x  y ", q), q[2]; print split("a1b22c", r, /[0-9]+/), r[3]; print split("", e)}'`,
      ),
    ).toBe('3 a c\n2 y\n3 c\n0\n')
  })
  test('sprintf, int and the math functions, rand and srand', async () => {
    expect(await out(`awk 'BEGIN {s = sprintf("%03d-%s", 7, "x"); print s, int(3.9), int(-3.9), int("4x")}'`)).toBe('007-x 3 -3 4\n')
    expect(
      await out(`awk 'BEGIN {printf "%.4f %.4f %.4f %.4f %.4f %.4f\\n", sqrt(2), exp(1), log(10), sin(1), cos(0), atan2(1, 1) * 4}'`),
    ).toBe('1.4142 2.7183 2.3026 0.8415 1.0000 3.1416\n')
    expect(await out(`awk 'BEGIN {srand(1); a = rand(); srand(1); b = rand(); print (a == b), (a >= 0 && a < 1), srand(5)}'`)).toBe(
      '1 1 1\n',
    )
  })
  test('system runs a command through sh and returns its status', async () => {
    expect(await out(`awk 'BEGIN {print "before"; r = system("echo hi; exit 3"); print r}'`)).toBe('before\nhi\n3\n')
  })
})

describe('awk errors', () => {
  test('a syntax error is reported with busybox wording and exit 1', async () => {
    expect(await sh(`awk 'BEGIN { x = ; }'`)).toEqual({ stdout: '', stderr: 'awk: cmd. line:1: Unexpected token\n', code: 1 })
    expect((await sh(`awk 'BEGIN {\nprint 1\nprint (\n}'`)).stderr).toBe('awk: cmd. line:4: Unexpected token\n')
    expect((await sh(`awk 'BEGIN { print "x }'`)).stderr).toBe('awk: cmd. line:1: Unexpected end of string\n')
    expect((await sh(`awk 'BEGIN { break }'`)).stderr).toBe("awk: cmd. line:1: 'break' not in a loop\n")
    const fs = files()
    fs.writeFile('/bad.awk', '{\n  print $1 +\n}\n')
    expect((await sh('awk -f /bad.awk /data', { fs })).stderr).toBe('awk: /bad.awk:2: Unexpected end of string\n')
  })
  test('getline is not supported: it fails as a syntax error instead of doing something else', async () => {
    expect(await sh(`echo x | awk '{ getline line; print line }'`)).toEqual({
      stdout: '',
      stderr: 'awk: cmd. line:1: Unexpected token\n',
      code: 1,
    })
  })
  test('a file it cannot open; division by zero', async () => {
    expect(await sh(`awk '{print}' /nosuch`)).toEqual({
      stdout: '',
      stderr: "awk: can't open '/nosuch': No such file or directory\n",
      code: 1,
    })
    expect(await sh(`awk 'BEGIN {print "a"; print 1/0}'`)).toEqual({
      stdout: 'a\n',
      stderr: 'awk: cmd. line:1: Division by zero\n',
      code: 1,
    })
  })
})

describe('awk in a pipeline', () => {
  test('ps | awk picks columns; an applet of a synthesised image', async () => {
    expect(await out(`ps | awk 'NR == 1 {print $1, $NF}'`)).toBe('PID COMMAND\n')
    expect(await out(`echo "k=v" | awk -F= '{print $2}' | tr a-z A-Z`)).toBe('V\n')
  })
})

describe('awk cannot hold the server', () => {
  test('a loop without end lets the event loop run and ends when its process is killed', async () => {
    const r = start("awk 'BEGIN { while (1) x++ }'")
    let ticks = 0
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (++ticks === 3) {
          clearInterval(timer)
          resolve()
        }
      }, 1)
    })
    r.proc.kill(9)
    expect(await r.exited).toMatchObject({ code: 137 })
  })
  test('recursion without end stops with an error instead of growing the heap', async () => {
    expect(await sh("awk 'function f(n) { return f(n + 1) } BEGIN { f(1) }'")).toEqual({
      stdout: '',
      stderr: 'awk: cmd. line:1: Call stack overflow\n',
      code: 1,
    })
  })
})

import { describe, expect, test } from 'vitest'
import { MemFs, sh } from './sh-helpers.js'

const out = async (script: string, env?: Record<string, string>) => (await sh(script, env ? { env } : {})).stdout

describe('quoting', () => {
  test('single, double, backslash; words join', async () => {
    expect(await out(`echo 'a  b' "c  $X" d\\ e \${X}y 'it'"'"'s' "\\$X \\"q\\" \\\\"`, { X: 'x' })).toBe(
      'a  b c  x d e xy it\'s $X "q" \\\n',
    )
  })
  test('printf %s shows the argument boundaries', async () => {
    expect(await out(`X='a  b'; printf '[%s]' $X "$X" '' ""; echo`)).toBe('[a][b][a  b][][]\n')
  })
})

describe('variables', () => {
  test('assignment, use, VAR=x cmd prefix is for that command only', async () => {
    expect(await out("A=1; B=$A$A; echo $B; A=2 sh -c 'echo $A'; echo $A")).toBe('11\n2\n1\n')
  })
  test('a prefix assignment reaches the command through the environment', async () => {
    const r = await sh('FOO=bar env; echo "after:[$FOO]"', { env: {} })
    expect(r.stdout).toBe('PWD=/\nSHLVL=1\nFOO=bar\nafter:[]\n')
  })
  test('export and unset', async () => {
    expect(await out("X=1; sh -c 'echo [$X]'; export X; sh -c 'echo [$X]'; unset X; echo [$X]")).toBe('[]\n[1]\n[]\n')
  })
  test('special parameters: $? $$ $# $0 $1.. $- $!', async () => {
    const r = await sh('false; echo $?; echo $$; set -- a b c; echo $# $1 $3; echo $0; set -e; echo $-; sleep 0 & echo ${!:+bg}')
    expect(r.stdout).toBe('1\n1\n3 a c\nsh\ne\nbg\n')
  })
  test('sh -c SCRIPT NAME ARGS sets $0 and the positional parameters', async () => {
    expect(await out(`sh -c 'echo $0 $# "$@"' myname x 'y z'`)).toBe('myname 2 x y z\n')
  })
  test('$@ and $* in and out of quotes', async () => {
    const script = `set -- 'a b' c
for x in "$@"; do echo "[$x]"; done
for x in $@; do echo "<$x>"; done
for x in "$*"; do echo "{$x}"; done
IFS=:; echo "$*"
set --; for x in "$@"; do echo never; done; echo "n=$#"`
    expect(await out(script)).toBe('[a b]\n[c]\n<a>\n<b>\n<c>\n{a b c}\na b:c\nn=0\n')
  })
  test('field splitting on IFS', async () => {
    expect(await out(`X='a:b::c'; IFS=:; for f in $X; do echo "[$f]"; done`)).toBe('[a]\n[b]\n[]\n[c]\n')
    expect(await out(`X='  one   two '; for f in $X; do echo "[$f]"; done`)).toBe('[one]\n[two]\n')
  })
})

describe('parameter expansion', () => {
  test('defaults and alternatives', async () => {
    expect(
      await out('E=; echo ${U:-d1} ${E:-d2} ${E-d3} ${S:-x} ${U+set} ${S:+alt} ${E+empty-is-set}; echo ${U:=new} $U', { S: 's' }),
    ).toBe('d1 d2 s alt empty-is-set\nnew new\n')
  })
  test('${VAR:?msg} ends the shell with status 2', async () => {
    expect(await sh('echo ${NOPE:?must be set}; echo never')).toEqual({ stdout: '', stderr: 'sh: NOPE: must be set\n', code: 2 })
    expect((await sh('echo ${NOPE?}')).stderr).toBe('sh: NOPE: parameter not set\n')
  })
  test('length, prefix and suffix removal, substitution, substring', async () => {
    const script = `P=/usr/local/bin/app.tar.gz
echo \${#P} \${P##*/} \${P#*/} \${P%.*} \${P%%.*}
echo \${P/local/LOCAL} \${P//\\//:}
S=abcdef; echo \${S:2} \${S:1:3} \${S: -2}`
    expect(await out(script)).toBe(
      '25 app.tar.gz usr/local/bin/app.tar.gz /usr/local/bin/app.tar /usr/local/bin/app\n/usr/LOCAL/bin/app.tar.gz :usr:local:bin:app.tar.gz\ncdef bcd ef\n',
    )
  })
  test('a pattern from a quoted variable is literal', async () => {
    expect(await out(`X='a*b'; P='*'; echo "\${X##"$P"}" "[\${X##$P}]"`)).toBe('a*b []\n')
  })
  test('set -u: an unset variable is an error', async () => {
    expect(await sh('set -u; echo $NOPE; echo never')).toEqual({ stdout: '', stderr: 'sh: NOPE: parameter not set\n', code: 2 })
  })
  test('tilde', async () => {
    expect(await out('echo ~ ~/x "~"; X=~/y; echo $X', { HOME: '/home/me' })).toBe('/home/me /home/me/x ~\n/home/me/y\n')
  })
})

describe('command substitution', () => {
  test('$(…) and backticks, nested, trailing newlines removed', async () => {
    expect(await out('echo "[$(echo a; echo b; echo)]" `echo c` $(echo $(echo nested))')).toBe('[a\nb] c nested\n')
  })
  test('runs in a subshell: assignments and exit do not leak', async () => {
    expect(await out('X=1; Y=$(X=2; echo $X; exit 3); echo $? $X $Y')).toBe('3 1 2\n')
  })
  test('unquoted output is split', async () => {
    expect(await out('for w in $(echo "a b"); do echo "[$w]"; done')).toBe('[a]\n[b]\n')
  })
  test('stderr of the substitution is not captured', async () => {
    expect(await sh('X=$(echo out; echo err >&2); echo "$X"')).toMatchObject({ stdout: 'out\n', stderr: 'err\n' })
  })
})

describe('arithmetic expansion', () => {
  test('$((…)) with variables and assignment', async () => {
    expect(await out('i=3; echo $((i * 2 + 1)) $(( (i+1) % 3 )) $((i += 4)) $i $(( $i > 5 ))')).toBe('7 1 7 7 1\n')
  })
  test('errors end the shell with status 2', async () => {
    expect(await sh('echo $((1/0)); echo never')).toEqual({ stdout: '', stderr: 'sh: divide by zero\n', code: 2 })
    expect((await sh('echo $((1 +))')).stderr).toBe('sh: arithmetic syntax error\n')
  })
})

describe('globbing', () => {
  test('matches files on the fs, sorted; no match leaves the word', async () => {
    const fs = new MemFs({ '/app/b.conf': '', '/app/a.conf': '', '/app/c.txt': '' })
    expect((await sh('echo /app/*.conf; cd /app; echo *.conf ?.txt; echo *.none "*.conf"', { fs })).stdout).toBe(
      '/app/a.conf /app/b.conf\na.conf b.conf c.txt\n*.none *.conf\n',
    )
  })
  test('set -f turns it off', async () => {
    const fs = new MemFs({ '/a.x': '' })
    expect((await sh('cd /; echo *.x; set -f; echo *.x', { fs })).stdout).toBe('a.x\n*.x\n')
  })
})

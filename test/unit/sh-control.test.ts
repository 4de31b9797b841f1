import { describe, expect, test } from 'vitest'
import { MemFs, sh } from './sh-helpers.js'

const out = async (script: string) => (await sh(script)).stdout

describe('lists', () => {
  test('; && || and $?', async () => {
    expect(await out('false; echo $?; true && echo yes || echo no; false && echo no || echo fallback; ! false && echo negated')).toBe(
      '1\nyes\nfallback\nnegated\n',
    )
  })
  test('the status of a list is its last command', async () => {
    expect((await sh('true; false')).code).toBe(1)
    expect((await sh('false || true')).code).toBe(0)
  })
  test('{ group } runs in this shell, ( subshell ) in a copy', async () => {
    expect(await out('X=1; { X=2; }; echo $X; (X=3; echo in $X; exit 4); echo $? $X')).toBe('2\nin 3\n4 2\n')
  })
})

describe('control flow', () => {
  test('if / elif / else', async () => {
    const script = `for n in 1 2 3; do
  if [ $n -eq 1 ]; then echo one
  elif [ $n -eq 2 ]; then echo two
  else echo other; fi
done`
    expect(await out(script)).toBe('one\ntwo\nother\n')
  })
  test('if with no branch taken is status 0', async () => {
    expect(await out('if false; then :; fi; echo $?')).toBe('0\n')
  })
  test('while and until', async () => {
    expect(await out('i=0; while [ $i -lt 3 ]; do echo w$i; i=$((i+1)); done; until [ $i -eq 0 ]; do i=$((i-1)); echo u$i; done')).toBe(
      'w0\nw1\nw2\nu2\nu1\nu0\n',
    )
  })
  test('for over words, over "$@" when no list', async () => {
    expect(await out('for x in a "b c"; do echo "[$x]"; done; set -- p q; for y; do echo $y; done')).toBe('[a]\n[b c]\np\nq\n')
  })
  test('break and continue, with levels', async () => {
    const script = `for i in 1 2 3 4; do
  [ $i = 2 ] && continue
  [ $i = 4 ] && break
  echo $i
done
for a in x y; do for b in 1 2; do [ $b = 2 ] && continue 2; [ $a = y ] && break 2; echo $a$b; done; done
echo end`
    expect(await out(script)).toBe('1\n3\nx1\nend\n')
  })
  test('case: patterns, alternatives, fallthrough to *', async () => {
    const script = `for w in start stop x.tar.gz other; do
  case "$w" in
    start|begin) echo go ;;
    stop) echo halt ;;
    *.tar.gz) echo archive ;;
    *) echo "unknown $w" ;;
  esac
done
case x in y) echo no;; esac; echo "status $?"`
    expect(await out(script)).toBe('go\nhalt\narchive\nunknown other\nstatus 0\n')
  })
  test('an endless loop can be killed: it gives the event loop turns', async () => {
    const r = await sh('i=0; while :; do i=$((i+1)); [ $i -ge 5000 ] && break; done; echo $i')
    expect(r.stdout).toBe('5000\n')
  })
})

describe('functions', () => {
  test('definition, arguments, $# and $@, return status, $0 unchanged', async () => {
    const script = `greet() {
  echo "hello $1 ($#): $@ from $0"
  return 3
}
greet a b; echo "status $?"; echo "outside: $# $1"`
    expect(await out(script)).toBe('hello a (2): a b from sh\nstatus 3\noutside: 0 \n')
  })
  test('variables are global unless local; return without a value keeps $?', async () => {
    expect(await out('f() { local x=in; y=set; false; return; }; x=out; f; echo $? $x $y')).toBe('1 out set\n')
  })
  test('recursion', async () => {
    expect(await out('fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(($1 - 1))) )); fi; }; fact 5')).toBe('120\n')
  })
  test('function keyword, and a function shadows a command', async () => {
    expect(await out('function echo2 { echo "2:$*"; }; echo2 x; true() { echo shadowed; }; true')).toBe('2:x\nshadowed\n')
  })
  test('VAR=x f: the assignment lasts for the call', async () => {
    expect(await out('f() { echo "[$V]"; }; V=in f; echo "[$V]"')).toBe('[in]\n[]\n')
  })
})

describe('getopts', () => {
  test('options with and without arguments, then the operands', async () => {
    const script = `while getopts "vf:" opt; do
  case $opt in
    v) echo verbose ;;
    f) echo "file=$OPTARG" ;;
    ?) echo bad ;;
  esac
done
shift $((OPTIND - 1))
echo "rest: $*"`
    expect(await sh(`set -- -v -f conf.yml -x a b; ${script}`)).toMatchObject({
      stdout: 'verbose\nfile=conf.yml\nbad\nrest: a b\n',
      stderr: 'Illegal option -x\n',
    })
    expect((await sh(`set -- -vfx.yml c; ${script}`)).stdout).toBe('verbose\nfile=x.yml\nrest: c\n')
  })
})

describe('exit and errors', () => {
  test('exit ends the script with its code; exit without code keeps $?', async () => {
    expect(await sh('echo a; exit 5; echo b')).toEqual({ stdout: 'a\n', stderr: '', code: 5 })
    expect((await sh('false; exit')).code).toBe(1)
    expect((await sh('exit 300')).code).toBe(44)
  })
  test('exit in a function or a subshell', async () => {
    expect((await sh('f() { exit 7; }; f; echo never')).code).toBe(7)
    expect(await sh('(exit 7); echo $?')).toMatchObject({ stdout: '7\n', code: 0 })
  })
  test('unknown command: sh: X: not found, 127; not executable: 126', async () => {
    expect(await sh('frobnicate --now')).toEqual({ stdout: '', stderr: 'sh: frobnicate: not found\n', code: 127 })
    const fs = new MemFs({ '/bin/tool': { content: 'echo x', mode: 0o644 } })
    expect(await sh('/bin/tool', { fs })).toEqual({ stdout: '', stderr: 'sh: /bin/tool: Permission denied\n', code: 126 })
    expect(await sh('/nope/tool')).toEqual({ stdout: '', stderr: 'sh: /nope/tool: not found\n', code: 127 })
  })
  test('the not-found message follows the command redirections', async () => {
    expect(await sh('nope 2>/dev/null; echo $?')).toEqual({ stdout: '127\n', stderr: '', code: 0 })
  })
  test('syntax errors: status 2, after the lines before them ran', async () => {
    expect(await sh('echo first\nif true; then')).toEqual({
      stdout: 'first\n',
      stderr: 'sh: syntax error: unexpected end of file (expecting "fi")\n',
      code: 2,
    })
    expect(await sh('echo a; fi')).toEqual({ stdout: '', stderr: 'sh: syntax error: unexpected "fi"\n', code: 2 })
  })
  test('builtin errors name the builtin and the line', async () => {
    expect(await sh('\ncd /nope; echo $?')).toEqual({
      stdout: '2\n',
      stderr: "sh: cd: line 2: can't cd to /nope: No such file or directory\n",
      code: 0,
    })
  })
  test('a script file names itself and the line in messages', async () => {
    const fs = new MemFs({ '/s.sh': { content: '#!/bin/sh\necho in script\nnope\n', mode: 0o755 } })
    expect(await sh('/s.sh; echo $?', { fs })).toEqual({ stdout: 'in script\n127\n', stderr: '/s.sh: line 3: nope: not found\n', code: 0 })
  })
  test('special builtin errors end the shell', async () => {
    expect(await sh('exit abc; echo never')).toEqual({ stdout: '', stderr: 'sh: exit: line 1: Illegal number: abc\n', code: 2 })
  })
})

describe('set -e', () => {
  test('a failing command ends the script', async () => {
    expect(await sh('set -e; echo a; false; echo b')).toEqual({ stdout: 'a\n', stderr: '', code: 1 })
  })
  test('but not in conditions, on the left of && ||, or under !', async () => {
    const script = `set -e
if false; then :; fi
while false; do :; done
false || true
false && true
! true
echo survived
false`
    expect(await sh(script)).toEqual({ stdout: 'survived\n', stderr: '', code: 1 })
  })
  test('a compound command whose redirection fails, a function returning non-zero, a failing loop body', async () => {
    expect(await sh('set -e; { echo x; } > /no/such/dir/f; echo never')).toEqual({
      stdout: '',
      stderr: "sh: can't create /no/such/dir/f: nonexistent directory\n",
      code: 1,
    })
    expect(await sh('set -e; f() { return 3; }; f; echo never')).toEqual({ stdout: '', stderr: '', code: 3 })
    expect(await sh('set -e; for i in 1 2; do echo $i; false; done; echo never')).toEqual({ stdout: '1\n', stderr: '', code: 1 })
    expect(await sh('! true; echo $?; false && true; echo $?; true || false; echo $?')).toEqual({
      stdout: '1\n1\n0\n',
      stderr: '',
      code: 0,
    })
  })
  test('sh -e', async () => {
    expect((await sh('false; echo never', {})).stdout).toBe('never\n')
    const { startArgv } = await import('./sh-helpers.js')
    const r = startArgv(['sh', '-ec', 'false; echo never'])
    expect((await r.exited).code).toBe(1)
    expect(r.out.stdout).toBe('')
  })
})

describe('eval, source, exec', () => {
  test('eval', async () => {
    expect(await out('cmd="echo \\$X"; X=hi; eval "$cmd"; eval "Y=2"; echo $Y')).toBe('hi\n2\n')
  })
  test('. and source run a file in this shell, with arguments', async () => {
    const fs = new MemFs({ '/lib.sh': 'LIBVAR=loaded\nlibfn() { echo "libfn $1"; }\necho "sourced with $# args: $*"\n' })
    expect((await sh('. /lib.sh; echo $LIBVAR; libfn x; source /lib.sh a b', { fs })).stdout).toBe(
      'sourced with 0 args: \nloaded\nlibfn x\nsourced with 2 args: a b\n',
    )
  })
  test('. of a missing file ends the shell', async () => {
    const r = await sh('. /missing.sh; echo never')
    expect(r).toEqual({ stdout: '', stderr: "sh: .: line 1: can't open '/missing.sh': No such file or directory\n", code: 2 })
  })
  test('exec replaces the shell: the rest does not run, the EXIT trap neither', async () => {
    expect(await sh('trap "echo trapped" EXIT; exec echo replaced; echo never')).toEqual({ stdout: 'replaced\n', stderr: '', code: 0 })
    expect(await sh('exec nope; echo never')).toEqual({ stdout: '', stderr: 'sh: exec: line 1: nope: not found\n', code: 127 })
  })
  test('exec with only redirections applies them to the rest of the script', async () => {
    const fs = new MemFs({ '/tmp/.keep': '' })
    const r = await sh('exec >/tmp/log 2>&1; echo one; echo two >&2', { fs })
    expect(r.stdout).toBe('')
    expect(fs.text('/tmp/log')).toBe('one\ntwo\n')
  })
  test('scripts on PATH run in a new shell', async () => {
    const fs = new MemFs({ '/usr/local/bin/hello': { content: '#!/bin/sh\necho "hello $1 from $0"\nexit 3\n', mode: 0o755 } })
    expect(await sh('hello world; echo $?', { fs })).toMatchObject({ stdout: 'hello world from /usr/local/bin/hello\n3\n' })
  })
})

describe('messages inside eval and .', () => {
  test('name the builtin, or the sourced file, and the line', async () => {
    const fs = new MemFs({ '/lib.sh': 'echo lib\nnope\n' })
    const r = await sh('eval "nope"; . /lib.sh', { fs })
    expect(r.stderr).toBe('sh: eval: line 1: nope: not found\nsh: /lib.sh: line 2: nope: not found\n')
  })
})

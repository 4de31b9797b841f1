// The filesystem commands, by name, for the shell's command table.
import type { Command } from '../context.js'
import { cat, cp, ln, ls, mkdir, mv, rm, touch } from './fs-files.js'
import { readlink, stat } from './fs-stat.js'
import { df, du } from './fs-usage.js'
import { chmod } from './fs-mode.js'
import { awk } from './awk/index.js'
import { head, tail, wc } from './fs-text.js'
import { grep } from './fs-grep.js'
import { cut, tr } from './fs-cut-tr.js'
import { sort, uniq } from './fs-sort.js'
import { sed } from './sed/index.js'
import { find, mktemp } from './fs-find.js'
import { mount, umount } from './fs-mount.js'

export const fsCommands: Readonly<Record<string, Command>> = {
  awk,
  cat,
  chmod,
  cp,
  cut,
  df,
  du,
  grep,
  egrep: (args, ctx) => grep([args[0] ?? 'egrep', '-E', ...args.slice(1)], ctx),
  find,
  fgrep: (args, ctx) => grep([args[0] ?? 'fgrep', '-F', ...args.slice(1)], ctx),
  head,
  ln,
  ls,
  mkdir,
  mktemp,
  mount,
  mv,
  readlink,
  rm,
  sed,
  sort,
  stat,
  tail,
  touch,
  tr,
  umount,
  uniq,
  wc,
}

// What an image program is (the table of them is src/sim/programs/index.ts): an executable an
// image ships that the simulator has a program for (nginx, Apache httpd). Its own module so the
// programs can name the type without importing the table that imports them. Unlike the commands of
// src/sim/commands/table.ts, which every container finds by name (as busybox's applets), an image
// program runs only from a file of that name in the container's filesystem: a plain busybox
// container has no nginx, and `nginx` is "not found" there. The shell's lookup
// (src/sim/shell/lookup.ts) asks the table when it finds an executable that is not a script;
// synthesised image layers (src/sim/fs/image.ts) get a program's package files when the image's
// config runs it.
import type { Command } from '../context.js'

/** A file of a package: text (0644), or with its mode, a symlink, or a directory. */
export type PackageFile = string | { text: string; mode: number } | { link: string } | { dir: number }

export interface ImageProgram {
  /** The executable's file name. */
  name: string
  command: Command
  /** Words of an image config's entrypoint or cmd (base names) that mean the image ships this program. */
  runBy: readonly string[]
  /** The files its package installs, by path, for the image named (its executable among them). */
  files(image: string): Readonly<Record<string, PackageFile>>
}

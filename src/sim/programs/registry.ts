// Image programs: executables an image ships that the simulator has a program for (nginx, Apache
// httpd). Unlike the commands of src/sim/commands/table.ts, which every container finds by name
// (as busybox's applets), an image program runs only from a file of that name in the container's
// filesystem: a plain busybox container has no nginx, and `nginx` is "not found" there. The shell's
// lookup (src/sim/shell/lookup.ts) asks here when it finds an executable that is not a script;
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

const programs = new Map<string, ImageProgram>()

export function registerImageProgram(program: ImageProgram): void {
  programs.set(program.name, program)
}

/** The program for an executable file of this name, if the simulator has one. */
export function imageProgram(name: string): ImageProgram | undefined {
  return programs.get(name)
}

/** The programs an image ships, judged by the words its config runs. */
export function programsRunBy(words: readonly string[]): ImageProgram[] {
  const names = new Set(words.filter((w) => !w.startsWith('-')).map((w) => w.slice(w.lastIndexOf('/') + 1)))
  return [...programs.values()].filter((p) => p.runBy.some((w) => names.has(w)))
}

// The image programs the simulator knows (see types.ts): nginx, Apache httpd, stress, nnp, and
// docker-init (tini, which `docker run --init` bind-mounts from the host). A constant table: what
// it holds is what this file lists, nothing registers itself on import.
import { apacheProgram } from './apache.js'
import { nginxProgram } from './nginx.js'
import { nnpProgram } from './nnp.js'
import { stressProgram } from './stress.js'
import { tiniProgram } from './tini.js'
import type { ImageProgram } from './types.js'

export type { ImageProgram, PackageFile } from './types.js'

/** By executable file name, in the order programsRunBy lists them. */
export const IMAGE_PROGRAMS: ReadonlyMap<string, ImageProgram> = new Map(
  [nginxProgram, apacheProgram, stressProgram, nnpProgram, tiniProgram].map((p) => [p.name, p]),
)

/** The program for an executable file of this name, if the simulator has one. */
export function imageProgram(name: string): ImageProgram | undefined {
  return IMAGE_PROGRAMS.get(name)
}

/** The programs an image ships, judged by the words its config runs. */
export function programsRunBy(words: readonly string[]): ImageProgram[] {
  const names = new Set(words.filter((w) => !w.startsWith('-')).map((w) => w.slice(w.lastIndexOf('/') + 1)))
  return [...IMAGE_PROGRAMS.values()].filter((p) => p.runBy.some((w) => names.has(w)))
}

// What an executable file's bytes say it runs. A file of an image can name a program the simulator
// registers for images (src/sim/programs/): its bytes begin as an ELF file
// does, then name the program. Copying the file copies the program, as with a real binary.

const MAGIC = '\x7fELF\x02\x01\x01\0'
const TAG = 'fake-containerd program: '

/** The bytes of a file that runs the registered program `name`. */
export function programFile(name: string): Buffer {
  return Buffer.from(`${MAGIC}${TAG}${name}\n`, 'latin1')
}

/** The program a file's first bytes (latin1) name, if they are such a file. */
export function programOf(head: string): string | undefined {
  if (!head.startsWith(MAGIC + TAG)) return undefined
  const end = head.indexOf('\n', MAGIC.length + TAG.length)
  return end === -1 ? undefined : head.slice(MAGIC.length + TAG.length, end)
}

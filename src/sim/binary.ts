// What an executable file's bytes say it runs. A file of an image can name a program the simulator
// registers for images (src/sim/programs/): its bytes begin as an ELF file
// does, then name the program. Copying the file copies the program, as with a real binary. A real
// busybox binary (an imported image's /bin/busybox) is known by its banner, and any other ELF file
// by its header: the machine it is for and the loader it needs.

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

/** What an executable file's bytes say about it, read once per file (see inspectCached). */
export interface BinaryInfo {
  /** The first 256 bytes (latin1): a `#!` line, a script's text, an ELF header, a registered program's name. */
  head: string
  /** A busybox binary: its applet is argv[0]'s basename, as busybox picks it. */
  busybox: boolean
  /** An ELF file: its machine (62 x86-64, 183 aarch64, …) and the loader it asks for (PT_INTERP), if any. */
  elf?: { machine: number; interpreter?: string }
}

/** EM_X86_64: the machine the simulated node is (linux/amd64). */
export const NODE_MACHINE = 62

/** The ELF header and program headers: e_machine and the PT_INTERP path, or undefined when they do not parse. */
function parseElf(b: Buffer): BinaryInfo['elf'] {
  if (b.length < 52 || b.readUInt32BE(0) !== 0x7f454c46) return undefined
  const is64 = b[4] === 2
  const le = b[5] !== 2
  const u16 = (o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o))
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o))
  const word = (o: number): number => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(o))
  const machine = u16(18)
  if (is64 && b.length < 64) return { machine }
  const phoff = word(is64 ? 0x20 : 0x1c)
  const phentsize = u16(is64 ? 0x36 : 0x2a)
  const phnum = u16(is64 ? 0x38 : 0x2c)
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize
    if (at + (is64 ? 56 : 32) > b.length) break
    if (u32(at) !== 3) continue // PT_INTERP
    const offset = word(at + (is64 ? 8 : 4))
    const size = word(at + (is64 ? 32 : 16))
    if (offset + size > b.length) break
    const interpreter = b
      .subarray(offset, offset + size)
      .toString('latin1')
      .replace(/\0.*$/s, '')
    return { machine, interpreter }
  }
  return { machine }
}

/** A busybox binary is a few MiB; a larger file is not searched for its banner (only its headers are read). */
export const BUSYBOX_MAX_BYTES = 16 * 1024 * 1024

/** How much of a file larger than that is read for its ELF headers. */
export const HEADERS_BYTES = 64 * 1024

/**
 * Inspects a file's bytes (all of them, or for a file over BUSYBOX_MAX_BYTES its first
 * HEADERS_BYTES: `whole` false). busybox is known by the banner its binary holds
 * ("BusyBox v1.36.1 (…) multi-call binary").
 */
export function inspectBinary(bytes: Buffer, whole = true): BinaryInfo {
  const head = bytes.subarray(0, 256).toString('latin1')
  const elf = programOf(head) === undefined ? parseElf(bytes) : undefined
  const busybox = whole && elf !== undefined && bytes.includes('BusyBox v') && bytes.includes('multi-call binary')
  return { head, busybox, ...(elf ? { elf } : {}) }
}

const inspected = new WeakMap<object, BinaryInfo>()

/**
 * inspectBinary, remembered by `key` (the file's bytes, or where a lower layer reads them from),
 * so a large binary run over and over is read once.
 */
export function inspectCached(key: object, read: () => Buffer, whole = true): BinaryInfo {
  let info = inspected.get(key)
  if (!info) inspected.set(key, (info = inspectBinary(read(), whole)))
  return info
}

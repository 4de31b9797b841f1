// The layer tar reader (src/model/metadata/layers.ts readTar) against hostile headers: what Go's archive/tar
// refuses is refused with its text, and no header makes the reader step backwards (it would loop forever).
import { describe, expect, test } from 'vitest'
import { readTar } from '../../src/model/metadata/layers.js'

/** A ustar header block with a valid checksum. */
function header(name: string, typeflag: string, size: number): Buffer {
  const b = Buffer.alloc(512)
  b.write(name, 0, 'latin1')
  b.write('0000644\0', 100, 'latin1')
  b.write('0000000\0', 108, 'latin1')
  b.write('0000000\0', 116, 'latin1')
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1')
  b.write('00000000000\0', 136, 'latin1')
  b.write(typeflag, 156, 'latin1')
  b.write('ustar\0', 257, 'latin1')
  b.write('00', 263, 'latin1')
  b.fill(0x20, 148, 156)
  let sum = 0
  for (const x of b) sum += x
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  return b
}

const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)])

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let n = body.length + 1
  while (`${n}${body}`.length !== n) n++
  return `${n}${body}`
}

/** A pax header with the records, then a regular file 'f' of two blocks, then the end of the archive. */
function tarWithPax(records: Record<string, string>): Buffer {
  const pax = Buffer.from(
    Object.entries(records)
      .map(([k, v]) => paxRecord(k, v))
      .join(''),
    'utf8',
  )
  return Buffer.concat([header('pax', 'x', pax.length), pad(pax), header('f', '0', 1024), Buffer.alloc(1024, 1), Buffer.alloc(1024)])
}

describe('readTar pax records', () => {
  test('a decimal size is taken', () => {
    const entries = readTar(tarWithPax({ size: '1024' }))
    expect(entries.map((e) => [e.path, e.size])).toEqual([['/f', 1024]])
  })

  test.each(['-1024', '-2048', 'abc', '', '1e3', '0x10', '12.5', ' 1024', '99999999999999999999'])(
    'size %j is an invalid header, not a loop',
    (size) => {
      expect(() => readTar(tarWithPax({ size }))).toThrow('archive/tar: invalid tar header')
    },
  )

  test('a negative size that steps back to the pax header is refused, not looped on (a 2 KiB tar)', () => {
    // pax header {size: -1536}, its records, a file header: the file's size takes the reader back to the pax header,
    // whose records apply to the file again, and so on forever (each pass adding an entry).
    const records = Buffer.from(paxRecord('size', '-1536'), 'utf8')
    const tar = Buffer.concat([header('pax', 'x', records.length), pad(records), header('f', '0', 0), Buffer.alloc(512)])
    expect(tar.length).toBe(2048)
    expect(() => readTar(tar)).toThrow('archive/tar: invalid tar header')
  })

  test.each(['x', '1.5', '99999999999999999999'])('uid %j is an invalid header', (uid) => {
    expect(() => readTar(tarWithPax({ uid }))).toThrow('archive/tar: invalid tar header')
    expect(() => readTar(tarWithPax({ gid: uid }))).toThrow('archive/tar: invalid tar header')
  })
})

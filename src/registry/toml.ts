// The part of TOML that containerd's hosts.toml uses: top-level keys, [host."url"] tables (and
// [host."url".header]), strings, booleans and arrays of strings. Anything else is refused with the
// line, so a hosts file this reader cannot follow is an error rather than silently ignored.

export type TomlValue = string | boolean | TomlValue[] | TomlTable
export interface TomlTable {
  [key: string]: TomlValue
}

/** A table that inherits nothing: a key such as __proto__ from the file is only a key. */
const table = (): TomlTable => Object.create(null) as TomlTable

/** The keys of a table header or dotted key: bare or quoted parts joined by dots. */
function keyPath(text: string, line: number): string[] {
  const parts: string[] = []
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y
  let at = 0
  while (at < text.length) {
    re.lastIndex = at
    const m = re.exec(text)
    if (!m) throw new Error(`line ${line}: cannot read the key ${JSON.stringify(text)}`)
    parts.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : (m[2] ?? (m[3] as string)))
    at = re.lastIndex
  }
  return parts
}

/**
 * One value from text[at]: a basic or literal string, a boolean, or an array of values (nested
 * arrays, as `client = [["cert", "key"]]`, included; a comma inside a string is part of it).
 */
function valueAt(text: string, at: number, line: number): [TomlValue, number] {
  const ws = /\s*/y
  ws.lastIndex = at
  ws.exec(text)
  let i = ws.lastIndex
  const basic = /"((?:[^"\\]|\\.)*)"/y
  basic.lastIndex = i
  const b = basic.exec(text)
  if (b) return [JSON.parse(b[0]) as string, basic.lastIndex]
  const literal = /'([^']*)'/y
  literal.lastIndex = i
  const l = literal.exec(text)
  if (l) return [l[1] as string, literal.lastIndex]
  for (const word of ['true', 'false']) if (text.startsWith(word, i)) return [word === 'true', i + word.length]
  if (text[i] === '[') {
    const items: TomlValue[] = []
    i++
    for (;;) {
      ws.lastIndex = i
      ws.exec(text)
      i = ws.lastIndex
      if (text[i] === ']') return [items, i + 1]
      const [item, next] = valueAt(text, i, line)
      items.push(item)
      ws.lastIndex = next
      ws.exec(text)
      i = ws.lastIndex
      if (text[i] === ',') i++
      else if (text[i] !== ']') throw new Error(`line ${line}: expected , or ] in the array ${JSON.stringify(text.trim())}`)
    }
  }
  throw new Error(`line ${line}: cannot read the value ${JSON.stringify(text.slice(i).trim())} (strings, booleans and arrays are read)`)
}

function value(text: string, line: number): TomlValue {
  const [v, end] = valueAt(text, 0, line)
  if (text.slice(end).trim() !== '') throw new Error(`line ${line}: unexpected ${JSON.stringify(text.slice(end).trim())} after the value`)
  return v
}

/** Drops a trailing comment that is not inside a string. */
function stripComment(line: string): string {
  let quote = ''
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quote) {
      if (c === '\\' && quote === '"') i++
      else if (c === quote) quote = ''
    } else if (c === '"' || c === "'") quote = c
    else if (c === '#') return line.slice(0, i)
  }
  return line
}

/** Parses the text; tables keep the order they appear in (containerd tries hosts in file order). */
export function parseToml(text: string): TomlTable {
  const root = table()
  let current = root
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = stripComment(raw).trim()
    const n = i + 1
    if (line === '') return
    if (line.startsWith('[')) {
      if (!line.endsWith(']') || line.startsWith('[[')) throw new Error(`line ${n}: cannot read the table header ${JSON.stringify(line)}`)
      current = root
      for (const key of keyPath(line.slice(1, -1), n)) {
        const next = (current[key] ??= table())
        if (typeof next !== 'object' || Array.isArray(next)) throw new Error(`line ${n}: ${key} is already a value`)
        current = next
      }
      return
    }
    const eq = line.indexOf('=')
    if (eq < 0) throw new Error(`line ${n}: expected key = value`)
    const keys = keyPath(line.slice(0, eq), n)
    let into = current
    for (const key of keys.slice(0, -1)) {
      const next = (into[key] ??= table())
      if (typeof next !== 'object' || Array.isArray(next)) throw new Error(`line ${n}: ${key} is already a value`)
      into = next
    }
    into[keys[keys.length - 1] as string] = value(line.slice(eq + 1), n)
  })
  return root
}

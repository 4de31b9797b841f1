// The part of TOML that containerd's hosts.toml uses: top-level keys, [host."url"] tables (and
// [host."url".header]), strings, booleans and arrays of strings. Anything else is refused with the
// line, so a hosts file this reader cannot follow is an error rather than silently ignored.

export type TomlValue = string | boolean | string[] | TomlTable
export interface TomlTable {
  [key: string]: TomlValue
}

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

function value(text: string, line: number): string | boolean | string[] {
  const t = text.trim()
  if (t === 'true' || t === 'false') return t === 'true'
  if (t.startsWith('"')) return JSON.parse(t) as string
  if (t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1)
  if (t.startsWith('[') && t.endsWith(']')) {
    const inner = t.slice(1, -1).trim()
    if (inner === '') return []
    return inner
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => {
        const v = value(s, line)
        if (typeof v !== 'string') throw new Error(`line ${line}: only arrays of strings are read here`)
        return v
      })
  }
  throw new Error(`line ${line}: cannot read the value ${JSON.stringify(t)} (strings, booleans and arrays of strings are read)`)
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
  const root: TomlTable = {}
  let current = root
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = stripComment(raw).trim()
    const n = i + 1
    if (line === '') return
    if (line.startsWith('[')) {
      if (!line.endsWith(']') || line.startsWith('[[')) throw new Error(`line ${n}: cannot read the table header ${JSON.stringify(line)}`)
      current = root
      for (const key of keyPath(line.slice(1, -1), n)) {
        const next = (current[key] ??= {})
        if (typeof next !== 'object' || Array.isArray(next)) throw new Error(`line ${n}: ${key} is already a value`)
        current = next
      }
      return
    }
    const eq = line.indexOf('=')
    if (eq < 0) throw new Error(`line ${n}: expected key = value`)
    const keys = keyPath(line.slice(0, eq), n)
    let table = current
    for (const key of keys.slice(0, -1)) table = (table[key] ??= {}) as TomlTable
    table[keys[keys.length - 1] as string] = value(line.slice(eq + 1), n)
  })
  return root
}

// The layers stay layers: no module of src/ imports itself back through others (type imports
// count too, since they tie the files together for a reader just the same). Generated code aside.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'generated' ? [] : sources(path)
    return /\.c?ts$/.test(e.name) ? [path] : []
  })
}

/** The src files a file imports or re-exports from (relative specifiers, .js/.cjs naming the .ts/.cts). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const base = normalize(join(dirname(file), m[1] as string)).replace(/\.c?js$/, '')
    const found = ['.ts', '.cts', '/index.ts'].map((ext) => base + ext).find((p) => existsSync(p))
    if (found) out.push(found)
  }
  return out
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    let w: string
    do {
      w = stack.pop()!
      onStack.delete(w)
      component.push(relative(SRC, w))
    } while (w !== v)
    if (component.length > 1) found.push(component.sort())
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

test('no import cycle in src/', () => {
  const graph = new Map(sources(SRC).map((f) => [f, importsOf(f)]))
  expect(graph.size).toBeGreaterThan(100)
  expect(cycles(graph)).toEqual([])
})

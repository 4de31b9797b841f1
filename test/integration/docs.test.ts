// Docs that run: every fenced code block in README.md and docs/*.md is executed here, or carries a
// marker on the line before its fence that says why not. Markers:
//
//   <!-- not run: REASON -->                  skipped (shown as a skipped test with the reason)
//   <!-- fragment: … -->                      ts/js lines that need a server: wrapped in a prelude that
//                                             starts `fake` and imports the library, type-checked, run
//   <!-- fragment, type-check only: REASON --> the same, type-checked but not run
//
// Unmarked blocks:
//   ts/typescript/js/mjs/cjs  written into a temp dir inside the package (so `fake-containerd` resolves
//                             to this package by its own name, through package.json "exports": dist/,
//                             so build first), type-checked together with tsc (strict), then run:
//                             a test file (it imports fake-containerd/vitest) with vitest, a program
//                             with node (tsc's output for TypeScript; a block with require() as .cjs).
//   sh/bash/shell             run with `sh -e` against a fresh server the test starts: `/tmp/c.sock` is
//                             replaced by its socket and the line that starts the server
//                             (`npx fake-containerd … &`) is dropped, since the test's server stands in
//                             for it; in a directory where node_modules/fake-containerd is this
//                             package (its bin linked, so other `npx fake-containerd` lines run it).
//                             A block that calls crictl runs once per binary CRICTL names
//                             (comma-separated), and is skipped when CRICTL is unset.
// Any other unmarked block fails the test.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startFakeContainerd } from '../../src/server.js'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..', '..')
const CRICTLS = (process.env.CRICTL ?? '').split(',').filter(Boolean)
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]

interface Block {
  /** e.g. README.md:237 (the fence's line). */
  id: string
  lang: string
  code: string
  /** The marker comment's text, without `<!--` and `-->`. */
  marker: string | undefined
}

export function extractBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\S*)\s*$/.exec(lines[i]!)
    if (!open) continue
    const fence = open[1]!
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && lines[i]!.trimEnd() !== fence; i++) body.push(lines[i]!)
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: the fence is never closed`)
    const before = /^<!--\s*(.*?)\s*-->$/.exec(lines[start - 1]?.trim() ?? '')
    blocks.push({ id: `${file}:${start + 1}`, lang: open[2]!.toLowerCase(), code: body.join('\n') + '\n', marker: before?.[1] })
  }
  return blocks
}

type Plan =
  | { kind: 'skip'; reason: string }
  | { kind: 'fail'; reason: string }
  | { kind: 'code'; file: string; run: 'node' | 'vitest' | 'none' }
  | { kind: 'shell'; crictl: boolean }

const SCRIPT_LANGS = new Set(['ts', 'typescript', 'js', 'mjs', 'cjs', 'javascript'])
const SHELL_LANGS = new Set(['sh', 'bash', 'shell'])

const FRAGMENT_PRELUDE = `import { startFakeContainerd, criClients, containerdClients, controlClient, presets, collect } from 'fake-containerd'
import { expect } from 'vitest'
const fake = await startFakeContainerd()
try {
`
const FRAGMENT_END = `} finally {
  await fake.close()
}
`

function plan(block: Block, index: number): Plan {
  const m = block.marker
  const notRun = m && /^not run:\s*(\S.*)$/.exec(m)
  if (notRun) return { kind: 'skip', reason: notRun[1]! }
  if (m && /^not run\b/.test(m)) return { kind: 'fail', reason: 'a "not run" marker needs a reason: <!-- not run: REASON -->' }
  const fragment = m && /^fragment(?:, type-check only: (\S.*)|:.*)?$/.exec(m)
  if (SCRIPT_LANGS.has(block.lang)) {
    const ts = block.lang === 'ts' || block.lang === 'typescript'
    const base = `block${index}`
    if (fragment) {
      if (!ts) return { kind: 'fail', reason: 'fragments are TypeScript (```ts)' }
      return { kind: 'code', file: `${base}.ts`, run: fragment[1] ? 'none' : 'node' }
    }
    if (/from 'fake-containerd\/vitest'/.test(block.code)) return { kind: 'code', file: `${base}.test.ts`, run: 'vitest' }
    if (ts) return { kind: 'code', file: `${base}.ts`, run: 'node' }
    return { kind: 'code', file: `${base}.${/\brequire\(/.test(block.code) ? 'cjs' : 'mjs'}`, run: 'node' }
  }
  if (SHELL_LANGS.has(block.lang) && !m) {
    if (!/\bfake-containerd\b|crictl|\bctr\b|\/tmp\/c\.sock/.test(block.code))
      return { kind: 'fail', reason: 'a shell block that talks to no server: mark it <!-- not run: REASON -->' }
    return { kind: 'shell', crictl: /\bcrictl\b/.test(block.code) }
  }
  return {
    kind: 'fail',
    reason: `the test cannot run a \`\`\`${block.lang || '(no language)'} block: mark it with <!-- not run: REASON --> on the line before its fence`,
  }
}

const blocks = DOCS.flatMap((file) => extractBlocks(file, readFileSync(join(ROOT, file), 'utf8')))
const plans = blocks.map((b, i) => ({ block: b, plan: plan(b, i) }))

// Code blocks, written into one directory and type-checked at once.
let dir = ''
const diagnostics = new Map<string, string[]>()

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/index.js')))
    throw new Error('dist/ is missing: `npm run build` first (the docs import the package by name)')
  dir = mkdtempSync(join(ROOT, 'test/.tmp-docs-'))
  const files: string[] = []
  for (const { block, plan: p } of plans) {
    if (p.kind !== 'code') continue
    const code = p.file.endsWith('.test.ts') || !block.marker ? block.code : FRAGMENT_PRELUDE + block.code + FRAGMENT_END
    writeFileSync(join(dir, p.file), code)
    files.push(p.file)
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
        strict: true,
        allowJs: true,
        checkJs: true,
        skipLibCheck: true,
        outDir: 'out',
        rootDir: '.',
      },
      files,
    }),
  )
  const tsc = await run(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'],
    {
      cwd: dir,
    },
  ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? String(err) }))
  // A diagnostic's first line names its file; indented lines continue it; anything else concerns all.
  let current = '*'
  for (const line of tsc.stdout.split('\n')) {
    if (!line.trim()) continue
    const file = /^(block\d+\.[a-z.]+)\(/.exec(line)?.[1]
    current = file ?? (/^\s/.test(line) ? current : '*')
    diagnostics.set(current, [...(diagnostics.get(current) ?? []), line])
  }
}, 120_000)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Output of a run, for the failure message. */
async function runOrShow(
  file: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(file, args, { ...options, timeout: 60_000 })
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${e.message}\n--- stdout\n${e.stdout ?? ''}\n--- stderr\n${e.stderr ?? ''}`)
  }
}

describe.each(DOCS)('code blocks in %s', (doc) => {
  for (const { block, plan: p } of plans.filter((x) => x.block.id.startsWith(`${doc}:`))) {
    const name = `${block.id} (${block.lang || 'no language'})`
    if (p.kind === 'skip') {
      test.skip(`${name}: not run: ${p.reason}`, () => {})
    } else if (p.kind === 'fail') {
      test(name, () => {
        throw new Error(`${block.id}: ${p.reason}`)
      })
    } else if (p.kind === 'code') {
      test(`${name}: type-checked${p.run === 'none' ? ' only' : `, run with ${p.run}`}`, async () => {
        expect([...(diagnostics.get(p.file) ?? []), ...(diagnostics.get('*') ?? [])].join('\n')).toBe('')
        if (p.run === 'node') {
          const program = p.file.endsWith('.ts') ? join(dir, 'out', p.file.replace(/\.ts$/, '.js')) : join(dir, p.file)
          await runOrShow(process.execPath, [program], { cwd: dir })
        } else if (p.run === 'vitest') {
          const config = join(dir, `${p.file}.config.mjs`)
          writeFileSync(config, `export default { test: { include: [${JSON.stringify(join(dir, p.file))}] } }\n`)
          const { stdout, stderr } = await runOrShow(
            process.execPath,
            [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', config, '--root', dir],
            {
              cwd: dir,
            },
          )
          expect(stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+\d+ passed/)
          expect(stderr, 'vitest warned').not.toMatch(/deprecated/i)
        }
      }, 90_000)
    } else {
      const each = p.crictl ? CRICTLS : ['']
      if (p.crictl && CRICTLS.length === 0) test.skip(`${name}: needs crictl, and CRICTL names none (comma-separated paths)`, () => {})
      for (const crictl of each) {
        test(`${name}: run against a fresh server${crictl ? ` with ${crictl}` : ''}`, async () => {
          const work = mkdtempSync(join(tmpdir(), 'fc-docs-'))
          const fake = await startFakeContainerd({ socket: join(work, 'c.sock') })
          try {
            mkdirSync(join(work, 'cwd/node_modules'), { recursive: true })
            symlinkSync(ROOT, join(work, 'cwd/node_modules/fake-containerd'))
            // As npm installs it: its bin linked, so that `npx fake-containerd` runs this package's.
            mkdirSync(join(work, 'cwd/node_modules/.bin'))
            // (a wrapper, not a link to dist/cli.js: tsc does not make that file executable; npm would)
            writeFileSync(
              join(work, 'cwd/node_modules/.bin/fake-containerd'),
              `#!/bin/sh\nexec node ${JSON.stringify(join(ROOT, 'dist/cli.js'))} "$@"\n`,
              {
                mode: 0o755,
              },
            )
            mkdirSync(join(work, 'bin'))
            if (crictl) symlinkSync(crictl, join(work, 'bin/crictl'))
            const script = block.code
              .split('\n')
              .filter((line) => !/^npx fake-containerd\b.*&\s*(#.*)?$/.test(line))
              .join('\n')
              .replaceAll('/tmp/c.sock', fake.socketPath)
            writeFileSync(join(work, 'block.sh'), script)
            await runOrShow('sh', ['-e', join(work, 'block.sh')], {
              cwd: join(work, 'cwd'),
              env: { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH ?? ''}` },
            })
          } finally {
            await fake.close()
            rmSync(work, { recursive: true, force: true })
          }
        }, 90_000)
      }
    }
  }
})

test('every document has code blocks found (the extractor works)', () => {
  expect(blocks.length).toBeGreaterThan(10)
  expect(extractBlocks('x.md', '<!-- not run: why -->\n```json\n{}\n```\n')).toEqual([
    { id: 'x.md:2', lang: 'json', code: '{}\n', marker: 'not run: why' },
  ])
})

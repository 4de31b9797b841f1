// Regenerates the TypeScript types for every proto this server loads, into src/generated/.
// `--check` regenerates into a temp dir and fails if the committed types differ, so CI catches a
// proto edit whose types were not regenerated.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
// Keep these options equal to the loader options in src/proto/load.ts.
const protos = ['cri/runtime/v1/api.proto']
const check = process.argv.includes('--check')
const outDir = check ? mkdtempSync(join(tmpdir(), 'fc-gen-')) : join(root, 'src/generated')
if (!check) rmSync(outDir, { recursive: true, force: true })

execFileSync(
  process.execPath,
  [
    join(root, 'node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js'),
    '--keepCase',
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    '-I',
    join(root, 'proto'),
    '-O',
    outDir,
    ...protos,
  ],
  { stdio: 'inherit' },
)

// The generator writes extensionless relative imports; NodeNext ESM resolution needs `.js`.
for (const f of readdirSync(outDir, { recursive: true }).map(String)) {
  const path = join(outDir, f)
  if (!f.endsWith('.ts') || !statSync(path).isFile()) continue
  const text = readFileSync(path, 'utf8')
  writeFileSync(path, text.replace(/from '(\.{1,2}\/[^']+)'/g, "from '$1.js'"))
}

if (check) {
  const files = (dir) =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => statSync(join(dir, f)).isFile())
      .sort()
  const committed = join(root, 'src/generated')
  const want = files(outDir)
  const have = files(committed)
  const differing = [...new Set([...want, ...have])].filter(
    (f) => !want.includes(f) || !have.includes(f) || readFileSync(join(outDir, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'),
  )
  rmSync(outDir, { recursive: true, force: true })
  if (differing.length > 0) {
    console.error(
      `src/generated is stale (${differing.length} files differ, e.g. ${relative(root, join(committed, differing[0]))}); run: npm run gen`,
    )
    process.exit(1)
  }
}

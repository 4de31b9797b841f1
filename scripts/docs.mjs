// Writes the README's flag table from the table of flags (src/flags.ts, as built to dist/).
// test/unit/flags.test.ts fails when the README and the table differ.
import { readFileSync, writeFileSync } from 'node:fs'
import { withFlagsTable } from '../dist/flags.js'

const README = new URL('../README.md', import.meta.url)
const before = readFileSync(README, 'utf8')
const after = withFlagsTable(before)
if (after !== before) writeFileSync(README, after)
console.log(after === before ? 'README.md: flag table up to date' : 'README.md: flag table written')

// Programs only some images hold, run where a file of the image names them (src/sim/binary.ts; a
// catalog entry's `files` gives the file: { "program": "nnp" }). They are not busybox applets: a
// name on PATH or in the table does not find them.
import type { Command } from '../context.js'

/**
 * registry.k8s.io/e2e-test-images/nonewprivs's /usr/local/bin/nnp, a set-user-ID root program:
 * it prints its effective uid, 0 when the exec gave it root, the caller's uid under no_new_privs.
 */
const nnp: Command = async (_args, ctx) => {
  ctx.write('stdout', `Effective uid: ${ctx.identity.euid ?? ctx.identity.uid}\n`)
  return 0
}

export const programs: Readonly<Record<string, Command>> = { nnp }

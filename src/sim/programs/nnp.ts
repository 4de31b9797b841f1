// registry.k8s.io/e2e-test-images/nonewprivs's /usr/local/bin/nnp, a set-user-ID root program: it
// prints its effective uid, 0 when the exec gave it root, the caller's uid under no_new_privs. The
// image's catalog entry gives the file (its `files`: { "program": "nnp" } with the set-user-ID mode).
import type { Command } from '../context.js'
import type { ImageProgram } from './types.js'

const nnp: Command = async (_args, ctx) => {
  ctx.write('stdout', `Effective uid: ${ctx.identity.euid ?? ctx.identity.uid}\n`)
  return 0
}

export const nnpProgram: ImageProgram = { name: 'nnp', command: nnp, runBy: [], files: () => ({}) }

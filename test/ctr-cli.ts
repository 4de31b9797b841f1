// Runs a real ctr binary against a fake's socket, for the ctr e2e suites (1.6 and 2.1).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface CtrCli {
  /** Runs ctr with the arguments; resolves to its stdout, rejects when it fails. */
  ctr(...args: string[]): Promise<string>
  /** Runs ctr expecting it to fail; resolves to its stderr. */
  ctrFails(...args: string[]): Promise<string>
}

/** ctr at `binary` against the socket `socket()` names (read at each call: the server starts later). */
export function ctrCli(binary: string, socket: () => string): CtrCli {
  const ctr = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(binary, ['-a', socket(), ...args], { timeout: 30_000 })
    return stdout
  }
  const ctrFails = async (...args: string[]): Promise<string> => {
    try {
      await ctr(...args)
    } catch (err) {
      return (err as { stderr: string }).stderr
    }
    throw new Error(`ctr ${args.join(' ')} succeeded`)
  }
  return { ctr, ctrFails }
}

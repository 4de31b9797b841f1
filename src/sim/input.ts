// Text a simulated process reads: a pipe, a file, a task's stdin FIFO or a terminal. Its own module
// because both a process (src/sim/process.ts) and a command's context (src/sim/context.ts) need it,
// and the context already depends on the process for ProgramContext.
/** Text a command reads (a pipe, a file, or the process's stdin). */
export interface Input {
  /** The next chunk, or undefined at end of input. */
  read(): Promise<string | undefined>
  /** Everything up to end of input. */
  readAll(): Promise<string>
}

export const emptyInput: Input = { read: async () => undefined, readAll: async () => '' }

export function textInput(text: string): Input {
  let done = false
  return {
    read: async () => (done ? undefined : ((done = true), text)),
    readAll: async () => (done ? '' : ((done = true), text)),
  }
}

/**
 * Input that arrives over time (a task's stdin FIFO, a terminal): `push` adds text, `end` is end of
 * input (the client closed it); a read waits for either.
 */
export class StreamInput implements Input {
  #chunks: string[] = []
  #ended = false
  #wake: (() => void) | undefined

  push(text: string): void {
    if (this.#ended || text === '') return
    this.#chunks.push(text)
    this.#wakeReader()
  }

  end(): void {
    this.#ended = true
    this.#wakeReader()
  }

  async read(): Promise<string | undefined> {
    while (this.#chunks.length === 0 && !this.#ended) await new Promise<void>((resolve) => (this.#wake = resolve))
    return this.#chunks.length > 0 ? this.#chunks.splice(0).join('') : undefined
  }

  async readAll(): Promise<string> {
    let out = ''
    for (let c = await this.read(); c !== undefined; c = await this.read()) out += c
    return out
  }

  #wakeReader(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }
}

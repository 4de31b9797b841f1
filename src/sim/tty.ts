// A terminal's line discipline in canonical mode, as the kernel runs it between a client's terminal
// (ctr run -t, exec -t) and the process: input is echoed, edited (backspace, ^U) and handed to the
// process a line at a time; ^C and ^\ signal the process, ^D at the start of a line is end of input.
import type { StreamInput } from './context.js'
import { SIGINT, SIGQUIT } from './signals.js'

export class LineDiscipline {
  #line = ''

  constructor(
    private readonly input: StreamInput,
    /** Writes the echo back to the terminal (the process's stdout). */
    private readonly echo: (text: string) => void,
    /** Delivers a signal to the process. */
    private readonly signal: (signo: number) => void,
  ) {}

  receive(data: string): void {
    for (const ch of data) {
      switch (ch) {
        case '\r': // ICRNL: a terminal's Enter sends CR
        case '\n':
          this.echo('\r\n')
          this.input.push(`${this.#line}\n`)
          this.#line = ''
          break
        case '\x7f':
        case '\b':
          if (this.#line !== '') {
            this.#line = [...this.#line].slice(0, -1).join('')
            this.echo('\b \b')
          }
          break
        case '\x15': // ^U: erase the line
          this.echo('\b \b'.repeat([...this.#line].length))
          this.#line = ''
          break
        case '\x03':
          this.echo('^C\r\n')
          this.#line = ''
          this.signal(SIGINT)
          break
        case '\x1c':
          this.echo('^\\\r\n')
          this.#line = ''
          this.signal(SIGQUIT)
          break
        case '\x04': // ^D: hands over the line so far; on an empty line, that is end of input
          if (this.#line === '') this.input.end()
          else this.input.push(this.#line)
          this.#line = ''
          break
        default:
          this.#line += ch
          this.echo(ch)
      }
    }
  }
}

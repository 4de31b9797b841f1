// How the interpreter unwinds: exit, errors that end a non-interactive shell, break/continue/return.

/** `exit`, or the end of the shell for another reason: unwinds to the top with the exit status. */
export class ShellExit {
  constructor(readonly code: number) {}
}

/** An error that ends a non-interactive shell; its message has been printed. */
export class ShellFatal {
  constructor(readonly status = 2) {}
}

export class LoopControl {
  constructor(
    public n: number,
    readonly kind: 'break' | 'continue',
  ) {}
}

export class FunctionReturn {
  constructor(readonly code: number) {}
}

/** A builtin's failure: the shell prints "sh: name: line N: message". */
export class BuiltinError extends Error {
  constructor(
    message: string,
    readonly status = 2,
  ) {
    super(message)
  }
}

export class RedirError extends Error {}

/** More output than a command substitution may hold (MAX_SHELL_STRING): the shell is out of memory. */
export class OutOfMemory extends Error {
  constructor() {
    super('out of memory')
  }
}

/** ^C at an interactive shell: what runs for the current input line stops, the shell prompts again. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted')
  }
}

/** A write to a pipe nobody reads, by a process that ignores SIGPIPE. */
export class EpipeError extends Error {
  constructor() {
    super('write error: Broken pipe')
  }
}

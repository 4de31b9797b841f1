// Linux signal numbers, and parsing of the names images and clients use ("SIGTERM", "TERM", "15").

export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
}

export const SIGINT = 2
export const SIGQUIT = 3
export const SIGKILL = 9
export const SIGTERM = 15

/** Returns the signal number for a name or number, or undefined when it is not a Linux signal. */
export function parseSignal(text: string): number | undefined {
  const t = text.trim().toUpperCase()
  if (/^\d+$/.test(t)) {
    const n = Number(t)
    return n >= 1 && n <= 64 ? n : undefined
  }
  return SIGNALS[t.startsWith('SIG') ? t : `SIG${t}`]
}

export function signalName(signo: number): string {
  return Object.keys(SIGNALS).find((k) => SIGNALS[k] === signo) ?? `SIG${signo}`
}

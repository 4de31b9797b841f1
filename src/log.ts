// A small leveled logger writing one line per message to stderr, in containerd's logfmt style:
//   time="…" level=info msg="…"
import type { LogLevel } from './config.js'

export interface Logger {
  error(msg: string): void
  warn(msg: string): void
  info(msg: string): void
  debug(msg: string): void
  readonly level: LogLevel
}

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const at = (l: LogLevel) => (msg: string) => {
    if (ORDER[l] <= ORDER[level])
      write(`time="${new Date().toISOString()}" level=${l === 'warn' ? 'warning' : l} msg=${JSON.stringify(msg)}\n`)
  }
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), level }
}

export const silentLogger: Logger = createLogger('error', () => {})

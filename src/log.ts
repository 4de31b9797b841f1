// A small leveled logger writing one line per message to stderr, in containerd's formats (logrus's):
//   text: time="…" level=info msg="…"
//   json: {"level":"info","msg":"…","time":"…"}

export interface Logger {
  error(msg: string): void
  warn(msg: string): void
  info(msg: string): void
  debug(msg: string): void
  readonly level: LogLevel
}

/** How much the server says, and how (a row each in FLAGS: --log-level, --log-format). */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug'
export type LogFormat = 'text' | 'json'

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 }

const FORMATS: Record<LogFormat, (time: string, level: string, msg: string) => string> = {
  text: (time, level, msg) => `time="${time}" level=${level} msg=${JSON.stringify(msg)}`,
  json: (time, level, msg) => JSON.stringify({ level, msg, time }),
}

export function createLogger(
  level: LogLevel,
  format: LogFormat = 'text',
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const line = FORMATS[format]
  const at = (l: LogLevel) => (msg: string) => {
    if (ORDER[l] <= ORDER[level]) write(line(new Date().toISOString(), l === 'warn' ? 'warning' : l, msg) + '\n')
  }
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), level }
}

export const silentLogger: Logger = createLogger('error', 'text', () => {})

// Time as CRI reports it: int64 Unix nanoseconds. Kept as decimal strings because a JS number
// loses precision past 2^53, and strings survive the JSON state file unchanged.

const originNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint()

/** The current time in Unix nanoseconds (monotonic within this process). */
export function nowNs(): bigint {
  return originNs + process.hrtime.bigint()
}

export const nsString = (ns: bigint): string => ns.toString()
export const nowString = (): string => nowNs().toString()

/** Unix nanoseconds (decimal string) → google.protobuf.Timestamp fields; null when unset. */
export function protoTimestamp(ns: string | undefined): { seconds: string; nanos: number } | null {
  if (!ns) return null
  const n = BigInt(ns)
  return { seconds: (n / 1_000_000_000n).toString(), nanos: Number(n % 1_000_000_000n) }
}

/** Go's time.RFC3339Nano in UTC: fractional seconds with trailing zeros trimmed, "Z" suffix. */
export function rfc3339Nano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n)
  const base = new Date(ms).toISOString().slice(0, 19)
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '')
  return `${base}${frac ? '.' + frac : ''}Z`
}

/** Parses a Go-style duration ("1.5s", "300ms", "2m", "1h30m", or a bare number of seconds) to milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy
  let total = 0
  let consumed = 0
  for (let m = re.exec(trimmed); m; m = re.exec(trimmed)) {
    total += Number(m[1]) * (units[m[2] as string] ?? 0)
    consumed = re.lastIndex
  }
  return consumed === trimmed.length && consumed > 0 ? total : undefined
}

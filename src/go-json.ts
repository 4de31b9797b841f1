// Go's encoding/json wording for bytes JSON.parse refused, so that an error quoting a decode
// (a seccomp profile, an image config) reads as containerd's does.

/** Go's json.SyntaxError text for `text`, which JSON.parse refused with `err`. */
export function goJsonSyntaxError(text: string, err: Error): string {
  if (text.trim() === '') return 'unexpected end of JSON input'
  const m = err.message
  const token = /^Unexpected token '(.)'/.exec(m)
  if (token) return `invalid character '${token[1]}' looking for beginning of value`
  const at = /position (\d+)/.exec(m)
  if (!at) return 'unexpected end of JSON input'
  const ch = text[Number(at[1])] ?? ''
  const context = m.includes('after JSON')
    ? 'after top-level value'
    : m.includes('after property value')
      ? 'after object key:value pair'
      : m.includes('after array element')
        ? 'after array element'
        : m.includes("Expected ':'")
          ? 'after object key'
          : m.includes('property name')
            ? 'looking for beginning of object key string'
            : 'looking for beginning of value'
  return `invalid character '${ch}' ${context}`
}

/** encoding/json's name for a JSON value's kind in an UnmarshalTypeError. */
export function goJsonKind(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'boolean') return 'bool'
  return typeof value
}

/**
 * The first field of an image config that containerd's unpacker (core/unpack unpackConfig: the
 * platform's fields and rootfs) cannot decode into its Go type, as encoding/json words it; undefined
 * when every field it reads fits. null fits any field (Go leaves it zero), fields it does not read are
 * not looked at.
 */
export function unpackConfigTypeError(config: Record<string, unknown>): string | undefined {
  const wrong = (struct: string, field: string, value: unknown, type: string): string =>
    `json: cannot unmarshal ${goJsonKind(value)} into Go struct field ${struct}.${field} of type ${type}`
  const isString = (v: unknown): boolean => v === null || typeof v === 'string'
  for (const [key, value] of Object.entries(config)) {
    if (value === null) continue
    if ((key === 'architecture' || key === 'os' || key === 'os.version' || key === 'variant') && !isString(value))
      return wrong('unpackConfig', key, value, 'string')
    if (key === 'os.features') {
      if (!Array.isArray(value)) return wrong('unpackConfig', key, value, '[]string')
      const bad = value.find((v) => !isString(v))
      if (bad !== undefined) return wrong('unpackConfig', key, bad, 'string')
    }
    if (key !== 'rootfs') continue
    if (typeof value !== 'object' || Array.isArray(value)) return wrong('unpackConfig', 'rootfs', value, 'v1.RootFS')
    for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === null) continue
      if (field === 'type' && !isString(v)) return wrong('RootFS', 'rootfs.type', v, 'string')
      if (field !== 'diff_ids') continue
      if (!Array.isArray(v)) return wrong('RootFS', 'rootfs.diff_ids', v, '[]digest.Digest')
      const bad = v.find((d) => !isString(d))
      if (bad !== undefined) return wrong('RootFS', 'rootfs.diff_ids', bad, 'digest.Digest')
    }
  }
  return undefined
}

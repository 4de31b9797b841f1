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

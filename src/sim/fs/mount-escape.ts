// The kernel's escaping of fields in /proc/mounts and /proc/self/mountinfo: space, tab, newline and
// backslash as three octal digits (\040 is a space), so that a line still splits on spaces.

export const escapeMountField = (s: string): string => s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`)

export const unescapeMountField = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)))

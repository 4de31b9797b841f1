// /etc/passwd and /etc/group: parsing, the entries a runtime adds for ids an image does not know
// (as CRI-O does for RunAsUser; kubelet-style: the process can then be named), and the names of
// an identity as `id` and `ls -l` show them.
import type { Identity } from '../context.js'
import type { Fs } from './types.js'

export interface PasswdEntry {
  name: string
  uid: number
  gid: number
  gecos: string
  home: string
  shell: string
}

export interface GroupEntry {
  name: string
  gid: number
  members: string[]
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = []
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < 7 || line.startsWith('#') || !/^\d+$/.test(f[2] ?? '') || !/^\d+$/.test(f[3] ?? '')) continue
    out.push({ name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), gecos: f[4] ?? '', home: f[5] ?? '', shell: f[6] ?? '' })
  }
  return out
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = []
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < 4 || line.startsWith('#') || !/^\d+$/.test(f[2] ?? '')) continue
    out.push({ name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') })
  }
  return out
}

/** The user a container's processes run as, with the groups the security context adds. */
export interface ContainerUser {
  uid: number
  gid: number
  /** A name from the image's USER or RunAsUsername, when it named one. */
  username?: string
  /** SupplementalGroups of the pod and container security contexts. */
  supplementalGroups?: readonly number[]
  /**
   * SupplementalGroupsPolicy Strict: the groups are exactly the primary and supplemental ones, the
   * image's /etc/group memberships of the user are not added (Merge, the default, adds them).
   */
  strictGroups?: boolean
}

const withNewline = (text: string): string => (text === '' || text.endsWith('\n') ? text : `${text}\n`)

/**
 * The passwd and group files with entries added for the ids the image does not name: the user
 * ("<uid>:x:<uid>:<gid>:<uid> user:/:/sbin/nologin", or the username it was given), its group and
 * every supplemental group ("<gid>:x:<gid>:").
 */
export function addMissingIds(passwd: string, group: string, user: ContainerUser): { passwd: string; group: string } {
  const users = parsePasswd(passwd)
  const groups = parseGroup(group)
  let p = withNewline(passwd)
  let g = withNewline(group)
  if (!users.some((u) => u.uid === user.uid)) {
    const name = user.username && !users.some((u) => u.name === user.username) ? user.username : String(user.uid)
    p += `${name}:x:${user.uid}:${user.gid}:${name} user:/:/sbin/nologin\n`
  }
  const wanted = [user.gid, ...(user.supplementalGroups ?? [])]
  const added = new Set<number>()
  for (const gid of wanted) {
    if (groups.some((e) => e.gid === gid) || added.has(gid)) continue
    added.add(gid)
    g += `${gid}:x:${gid}:\n`
  }
  return { passwd: p, group: g }
}

/**
 * The groups of a container's processes, as containerd sets additionalGids: the primary group,
 * the groups /etc/group lists the user as a member of (not the one named as the user), and the
 * supplemental groups, in the order the kernel keeps them (sorted; containerd sorts them too).
 * With the Strict policy /etc/group is not read.
 */
export function containerGroups(groupText: string, user: ContainerUser, username: string | undefined): number[] {
  const out = [user.gid]
  if (username && user.strictGroups !== true)
    for (const g of parseGroup(groupText)) if (g.name !== username && g.members.includes(username)) out.push(g.gid)
  out.push(...(user.supplementalGroups ?? []))
  return [...new Set(out)].sort((a, b) => a - b)
}

const readText = (fs: Fs, path: string): string => {
  try {
    return fs.readFile(path).toString('utf8')
  } catch {
    return ''
  }
}

/** Names for uids and gids, read from a container's /etc/passwd and /etc/group. */
export class NameCache {
  #users: PasswdEntry[] | undefined
  #groups: GroupEntry[] | undefined

  constructor(private readonly fs: Fs) {}

  user(uid: number): string | undefined {
    this.#users ??= parsePasswd(readText(this.fs, '/etc/passwd'))
    return this.#users.find((u) => u.uid === uid)?.name
  }

  group(gid: number): string | undefined {
    this.#groups ??= parseGroup(readText(this.fs, '/etc/group'))
    return this.#groups.find((g) => g.gid === gid)?.name
  }

  userByName(name: string): PasswdEntry | undefined {
    this.#users ??= parsePasswd(readText(this.fs, '/etc/passwd'))
    return this.#users.find((u) => u.name === name)
  }
}

/** The identity of a container's processes with names from its files (for the shell's `id`, `whoami`). */
export function containerIdentity(fs: Fs, user: ContainerUser): Identity {
  const names = new NameCache(fs)
  const userName = names.user(user.uid) ?? user.username
  const groups = containerGroups(readText(fs, '/etc/group'), user, userName)
  const groupName = names.group(user.gid)
  return { uid: user.uid, gid: user.gid, groups, ...(userName ? { user: userName } : {}), ...(groupName ? { group: groupName } : {}) }
}

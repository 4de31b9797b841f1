// The read-only lower layer of a container: its image's files. An image imported through
// containerd's API brings its own tree (ImageInput.files: an ImageFiles, e.g. the layers Diff.Apply
// indexed, src/model/metadata/layer-tree.ts, their bytes read when a file is read). A catalog image has no layer bytes; it
// gets a synthesised busybox-like tree: /bin with an entry for each command the simulator knows
// (symlinks to /bin/busybox), /etc with passwd, group and os-release (alpine or busybox), /tmp, and
// the usual top-level directories, and the package of an image program its config runs (nginx,
// Apache httpd: src/sim/programs/). A pause image is just /pause. A catalog entry can add files of
// its own on top (ImageFile: text, a directory, a symlink, or a program the simulator registers).
import type { ImageConfig } from '../../store/schema.js'
import { programFile } from '../binary.js'
import { programsRunBy } from '../programs/index.js'
import { MemLayer, dirNode, fileNode, linkNode, type LowerLayer } from './mem.js'

/**
 * Where an image's files come from: a tree shared by every container of the image (read only;
 * writes go to each container's upper layer). The layers Diff.Apply indexed are one source
 * (src/model/metadata/layer-tree.ts); a host directory named as a rootfs can be another. Its tree
 * reads its owner's bytes (a node's layer store), so its owner keeps it (model/runtime/views.ts),
 * not this module's process-wide cache: nodes of one process neither evict each other's trees nor
 * keep a closed node's reachable.
 */
export interface ImageFiles {
  /** The same key, the same files (its owner's cache key). */
  readonly key: string
  /** The tree, built on first use and the same one after. */
  tree(): LowerLayer
}

/** A file a catalog image adds to its synthesised tree (see fixtures/images/README.md). */
export type ImageFile = { mode?: number; uid?: number; gid?: number } & (
  | { text: string }
  /** An image program (src/sim/programs/): its bytes name it. */
  | { program: string }
  | { dir: true }
  | { symlink: string }
)

/** What a container's image is, for its filesystem. */
export interface ImageInput {
  /** A name of the image ("docker.io/library/alpine:3.20"): picks the synthesised tree's flavour. */
  name: string
  /** The config fields that shape the tree (entrypoint, cmd, working dir). */
  config?: Partial<Pick<ImageConfig, 'entrypoint' | 'cmd' | 'workingDir' | 'user'>>
  /** The image's own files (its unpacked layers); undefined when it has none (catalog images get a synthesised tree). */
  files?: ImageFiles
  /** Files a catalog image adds to the synthesised tree, by absolute path. */
  extraFiles?: Readonly<Record<string, ImageFile>>
}

/** When the synthesised files were "built" (their mtime). */
export const IMAGE_TIME = Date.UTC(2024, 8, 26, 21, 31, 42)

/** Commands the simulator runs (the shell's and these filesystem commands); pass the real table as `applets`. */
export const DEFAULT_APPLETS: readonly string[] = [
  '[',
  'ash',
  'awk',
  'base64',
  'basename',
  'brctl',
  'cat',
  'chmod',
  'cp',
  'cut',
  'date',
  'dd',
  'df',
  'dirname',
  'du',
  'echo',
  'egrep',
  'env',
  'expr',
  'false',
  'fgrep',
  'find',
  'free',
  'grep',
  'head',
  'hostname',
  'httpd',
  'id',
  'ipcs',
  'kill',
  'ln',
  'ls',
  'md5sum',
  'mkdir',
  'mktemp',
  'mount',
  'mv',
  'nc',
  'netstat',
  'nohup',
  'nproc',
  'nslookup',
  'pgrep',
  'pidof',
  'ping',
  'printf',
  'ps',
  'pwd',
  'readlink',
  'rm',
  'sed',
  'seq',
  'sh',
  'sha1sum',
  'sha256sum',
  'sha512sum',
  'sleep',
  'sort',
  'stat',
  'tail',
  'tee',
  'test',
  'timeout',
  'top',
  'touch',
  'tr',
  'true',
  'umount',
  'uname',
  'uniq',
  'usleep',
  'wc',
  'wget',
  'which',
  'whoami',
  'xargs',
  'yes',
]

/** Applets alpine installs in /usr/bin rather than /bin. */
const ALPINE_USR_BIN = new Set([
  '[',
  'awk',
  'base64',
  'basename',
  'cut',
  'dirname',
  'du',
  'env',
  'expr',
  'find',
  'free',
  'head',
  'id',
  'ipcs',
  'md5sum',
  'nc',
  'nohup',
  'nproc',
  'nslookup',
  'pgrep',
  'printf',
  'readlink',
  'seq',
  'sha1sum',
  'sha256sum',
  'sha512sum',
  'sort',
  'tail',
  'tee',
  'test',
  'timeout',
  'top',
  'tr',
  'uniq',
  'wc',
  'wget',
  'which',
  'whoami',
  'xargs',
  'yes',
])

const BUSYBOX_PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`

const BUSYBOX_GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
`

const ALPINE_PASSWD = `root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin
cron:x:16:16:cron:/var/spool/cron:/sbin/nologin
ftp:x:21:21::/var/lib/ftp:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
games:x:35:35:games:/usr/games:/sbin/nologin
ntp:x:123:123:NTP:/var/empty:/sbin/nologin
guest:x:405:100:guest:/dev/null:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
`

const ALPINE_GROUP = `root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
sys:x:3:root,bin
adm:x:4:root,daemon
tty:x:5:
disk:x:6:root
lp:x:7:lp
kmem:x:9:
wheel:x:10:root
floppy:x:11:root
mail:x:12:mail
news:x:13:news
uucp:x:14:uucp
cron:x:16:cron
audio:x:18:
cdrom:x:19:
dialout:x:20:root
ftp:x:21:
sshd:x:22:
input:x:23:
tape:x:26:root
video:x:27:root
netdev:x:28:
kvm:x:34:kvm
games:x:35:
shadow:x:42:
www-data:x:82:
users:x:100:games
ntp:x:123:
abuild:x:300:
utmp:x:406:
ping:x:999:
nogroup:x:65533:
nobody:x:65534:
`

export type ImageFlavour = 'alpine' | 'busybox' | 'pause'

export function imageFlavour(name: string): ImageFlavour {
  const repo = name.replace(/[:@].*$/, '')
  if (/(^|\/)pause$/.test(repo)) return 'pause'
  if (/alpine/.test(name)) return 'alpine'
  return 'busybox'
}

function alpineVersion(name: string): string {
  const tag = /:(\d+)\.(\d+)(?:\.(\d+))?/.exec(name)
  return tag ? `${tag[1]}.${tag[2]}.${tag[3] ?? '0'}` : '3.22.0'
}

/** The lower layer for an image. */
export function imageLayer(image: ImageInput, applets: readonly string[] = DEFAULT_APPLETS): LowerLayer {
  // A lower layer is only ever read (writes go to each container's upper layer), so containers of
  // one image share it: a thousand busybox containers hold one tree, not a thousand. An image's own
  // files are kept by their owner (ImageFiles); a synthesised tree depends on nothing but what the
  // key names, so every node of the process shares it.
  if (image.files !== undefined) return image.files.tree()
  const key = JSON.stringify([
    image.name,
    image.config?.entrypoint,
    image.config?.cmd,
    image.config?.workingDir,
    image.config?.user,
    applets,
    image.extraFiles,
  ])
  let layer = layers.get(key)
  if (!layer) {
    layer = synthesisedLayer(image, applets)
    if (layers.size >= 256) layers.delete(layers.keys().next().value as string)
    layers.set(key, layer)
  }
  return layer
}

const layers = new Map<string, LowerLayer>()

/** Puts a catalog image's own files into its layer (parent directories made as needed). */
function addFiles(layer: MemLayer, files: Readonly<Record<string, ImageFile>> | undefined): void {
  const t = IMAGE_TIME
  for (const [p, f] of Object.entries(files ?? {})) {
    const uid = f.uid ?? 0
    const gid = f.gid ?? 0
    if ('symlink' in f) layer.set(p, linkNode(f.symlink, t, uid, gid))
    else if ('dir' in f) layer.set(p, dirNode(f.mode ?? 0o755, t, uid, gid))
    else if ('program' in f) layer.set(p, fileNode(programFile(f.program), f.mode ?? 0o755, t, uid, gid))
    else layer.set(p, fileNode(f.text, f.mode ?? 0o644, t, uid, gid))
  }
}

function synthesisedLayer(image: ImageInput, applets: readonly string[]): MemLayer {
  const t = IMAGE_TIME
  const layer = new MemLayer(dirNode(0o755, t))
  const flavour = imageFlavour(image.name)
  const dir = (p: string, mode = 0o755): void => layer.set(p, dirNode(mode, t))
  const file = (p: string, text: string, mode = 0o644): void => layer.set(p, fileNode(text, mode, t))
  if (flavour === 'pause') {
    file('/pause', '', 0o755)
    addFiles(layer, image.extraFiles)
    return layer
  }
  for (const d of ['/bin', '/dev', '/etc', '/home', '/lib', '/proc', '/sbin', '/sys', '/usr', '/usr/bin', '/usr/sbin', '/var']) dir(d)
  dir('/root', 0o700)
  dir('/tmp', 0o1777)
  file('/bin/busybox', '', 0o755)
  const alpine = flavour === 'alpine'
  for (const name of applets) {
    if (name === 'busybox' || name.includes('/')) continue
    const at = alpine && ALPINE_USR_BIN.has(name) ? '/usr/bin' : '/bin'
    layer.set(`${at}/${name}`, linkNode('/bin/busybox', t))
  }
  if (!applets.includes('sh')) layer.set('/bin/sh', linkNode('/bin/busybox', t))
  if (alpine) {
    const version = alpineVersion(image.name)
    for (const d of [
      '/media',
      '/mnt',
      '/opt',
      '/run',
      '/srv',
      '/usr/lib',
      '/usr/local',
      '/usr/local/bin',
      '/usr/share',
      '/var/cache',
      '/var/log',
    ])
      dir(d)
    dir('/var/tmp', 0o1777)
    file('/etc/passwd', ALPINE_PASSWD)
    file('/etc/group', ALPINE_GROUP)
    file('/etc/shadow', 'root:*::0:::::\n', 0o640)
    file('/etc/alpine-release', `${version}\n`)
    file(
      '/usr/lib/os-release',
      `NAME="Alpine Linux"\nID=alpine\nVERSION_ID=${version}\nPRETTY_NAME="Alpine Linux v${version.split('.').slice(0, 2).join('.')}"\n` +
        `HOME_URL="https://alpinelinux.org/"\nBUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"\n`,
    )
    layer.set('/etc/os-release', linkNode('../usr/lib/os-release', t))
    file('/etc/shells', '# valid login shells\n/bin/sh\n/bin/ash\n')
    file('/etc/motd', 'Welcome to Alpine!\n')
    file('/etc/profile', 'export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n')
  } else {
    for (const d of ['/var/spool', '/var/spool/mail', '/var/www']) dir(d)
    file('/etc/passwd', BUSYBOX_PASSWD)
    file('/etc/group', BUSYBOX_GROUP)
    file('/etc/shadow', 'root:*::0:99999:7:::\n', 0o600)
    file('/etc/os-release', 'NAME="BusyBox"\nID=busybox\nVERSION_ID=1.37.0\nPRETTY_NAME="BusyBox v1.37.0"\n')
    file('/etc/nsswitch.conf', 'hosts:\t\tfiles dns\nnetworks:\tfiles\n')
  }
  // An image whose config runs a program the simulator knows ships that program's package.
  for (const program of programsRunBy([...(image.config?.entrypoint ?? []), ...(image.config?.cmd ?? [])])) {
    for (const [path, f] of Object.entries(program.files(image.name))) {
      if (typeof f === 'string') file(path, f)
      else if ('link' in f) layer.set(path, linkNode(f.link, t))
      else if ('dir' in f) dir(path, f.dir)
      else file(path, f.text, f.mode)
    }
  }
  addFiles(layer, image.extraFiles)
  // What the image's config says runs there exists, and where it runs.
  const argv0 = image.config?.entrypoint?.[0] ?? image.config?.cmd?.[0]
  if (argv0 && !applets.includes(argv0)) {
    const path = argv0.startsWith('/') ? argv0 : `/usr/local/bin/${argv0}`
    if (!layer.has(path) && !path.split('/').includes('..')) file(path, '', 0o755)
  }
  const cwd = image.config?.workingDir
  if (cwd && cwd.startsWith('/') && !layer.has(cwd) && !cwd.split('/').includes('..')) dir(cwd.replace(/\/+$/, '') || '/')
  return layer
}

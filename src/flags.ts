// The one table of command-line flags. The argument parser, --help, the environment variables, the
// defaults (DEFAULTS) and the README's flag table (npm run docs) are all made from FLAGS below.
//
// To add a flag: add its option to FakeContainerdOptions (options.ts; a cluster's to ClusterOnly there), a row here, then `npm run docs`.
// The compiler refuses an option without a row, and a row whose parser does not give its option's type.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { CONTAINERD_VERSIONS, DEFAULT_CONTAINERD_VERSION, type ContainerdVersion } from './containerd/profiles.js'
import type { CommandLineOptions, LogFormat, LogLevel } from './options.js'
import { parseFaultSpec, readFaultFile } from './faults/spec.js'
import { parseCidr } from './model/cri/ipam.js'
import type { PullPolicy } from './model/metadata/images.js'
import { parseReference } from './model/reference.js'
import { readSeedState } from './seed-state.js'
import { parseWebAddress } from './listen-address.js'
import { JOURNAL_BUDGET } from './journal/journal.js'
import { CLUSTER_JOURNAL_FLOOR } from './cluster/journal-share.js'

type Options = Required<CommandLineOptions>
type OptionKey = keyof Options
/** Options that hold a list, so that a flag for them may be repeated. */
type ListKey = { [K in OptionKey]: Options[K] extends readonly unknown[] ? K : never }[OptionKey]
/** Options that are on or off, so that their flag takes no value. */
type SwitchKey = { [K in OptionKey]: Options[K] extends boolean ? K : never }[OptionKey]

interface Described {
  /** The spelling without the leading "--". */
  readonly name: string
  /** One line for --help and the README. */
  readonly help: string
  /** More --help lines (examples). */
  readonly more?: readonly string[]
}

interface ValueFlag<K extends OptionKey> extends Described {
  /** The option the flag sets. Several flags may set one list option: their values add up, in table order. */
  readonly key: K
  /** What the value is called in --help and the README ("PATH"). */
  readonly arg: string
  /** The environment variable read when the flag is not given (an empty one counts as unset). */
  readonly env: string
  /** The value when neither the flag nor its variable is given (the library's default may differ). */
  readonly default?: Options[K]
  /** How the default reads in --help and the README, when not the value itself. */
  readonly shownDefault?: string
}

/** A flag given once (the last one counts): its text parsed into the option. */
interface SingleFlag<K extends OptionKey> extends ValueFlag<K> {
  readonly repeatable?: false
  /** The option from the flag's text; throws the message the user sees (exit code 2). */
  readonly parse: (text: string, flag: string) => Options[K]
}

/** A flag that may be given more than once; each value is one item of a list option. */
interface RepeatableFlag<K extends ListKey> extends ValueFlag<K> {
  readonly repeatable: true
  /** What separates the items in the environment variable (each is trimmed; empty ones are dropped). */
  readonly separator: ',' | ';'
  /** One item of the option from one value; throws the message the user sees (exit code 2). */
  readonly parse: (text: string, flag: string) => Options[K][number]
}

/**
 * A flag without a value: --NAME turns its option on, --no-NAME off; its environment variable is
 * 1/true/yes or 0/false/no.
 */
interface SwitchFlag<K extends SwitchKey> extends Described {
  readonly key: K
  readonly switch: true
  readonly env: string
  readonly default: boolean
  readonly repeatable?: false
  readonly shownDefault?: string
}

/** A flag that does something instead of starting the server. */
interface ActionFlag extends Described {
  readonly action: 'help' | 'version' | 'print-config'
  readonly short?: string
}

/**
 * A flag naming a config file (config-file.ts) that gives options under the flags and their variables:
 * its keys are the option names (the rows' keys), its values parsed as the flags' values are.
 */
interface ConfigFlag extends Described {
  readonly config: true
  readonly arg: string
  readonly env: string
}

type ValueOptionFlag = { [K in OptionKey]: SingleFlag<K> }[OptionKey] | { [K in ListKey]: RepeatableFlag<K> }[ListKey]
type OptionFlag = ValueOptionFlag | { [K in SwitchKey]: SwitchFlag<K> }[SwitchKey]
export type Flag = OptionFlag | ActionFlag | ConfigFlag

/** A bad flag or value: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {}

const text = (value: string): string => value

const oneOf =
  <T extends string>(...choices: readonly T[]) =>
  (value: string, flag: string): T => {
    if ((choices as readonly string[]).includes(value)) return value as T
    throw new Error(
      choices.length === 2
        ? `${flag} must be "${choices[0]}" or "${choices[1]}", got "${value}"`
        : `${flag} must be one of ${choices.join(', ')}; got "${value}"`,
    )
  }

const wholeNumber = (value: string, flag: string): number => {
  if (!/^\d+$/.test(value)) throw new Error(`${flag} must be a whole number, got "${value}"`)
  if (!Number.isSafeInteger(Number(value)))
    throw new Error(
      `${flag} must be a whole number of at most ${Number.MAX_SAFE_INTEGER} (a larger one cannot be kept exactly), got "${value}"`,
    )
  return Number(value)
}

/** What `read` makes of a text value (it throws the reason, which follows the flag's name). */
const readBy =
  <T>(read: (value: string) => T) =>
  (value: string, flag: string): T => {
    try {
      return read(value)
    } catch (err) {
      throw new Error(`${flag}: ${(err as Error).message}`)
    }
  }

/** A text value that `check` accepts (it throws the reason, which follows the flag's name). */
const checked =
  (check: (value: string) => unknown) =>
  (value: string, flag: string): string => {
    readBy(check)(value, flag)
    return value
  }

/** A Go duration ("1m30s", "500ms", "0") in milliseconds, as containerd's image_pull_progress_timeout is written. */
const goDuration = (value: string, flag: string): number => {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  if (value === '0') return 0
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new Error(`${flag} must be a duration such as 30s, 5m or 1m30s (0: never), got "${value}"`)
  }
  const ms = Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (unit[p[2] as string] as number), 0))
  // A timer holds at most 2^31-1 ms (about 24.8 days); Node turns a longer one into 1 ms.
  if (ms > MAX_TIMER_MS) throw new Error(`${flag} must be at most 596h (a timer's limit), or 0 for never; got "${value}"`)
  return ms
}

const MAX_TIMER_MS = 2 ** 31 - 1

/** Milliseconds as the Go duration text goDuration reads back ("5m0s", "1m30s", "1.5s", "0s"), as Go prints one. */
export function goDurationText(ms: number): string {
  if (ms === 0) return '0s'
  const h = Math.floor(ms / 3_600_000)
  const m = Math.floor((ms % 3_600_000) / 60_000)
  const s = (ms % 60_000) / 1000
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`
}

const handlerName = (value: string, flag: string): string => {
  if (!/^[A-Za-z0-9._-]+$/.test(value)) throw new Error(`${flag} names may hold only letters, digits, ".", "_" and "-"`)
  return value
}

// Rows are checked in this order, so when several values are bad the first row's message is the one shown.
export const FLAGS = [
  {
    name: 'config',
    config: true,
    arg: 'FILE',
    env: 'FAKE_CONTAINERD_CONFIG',
    help: 'more options from a YAML file, keyed by option name (podCidr: …); a flag or variable wins over it',
  },
  {
    name: 'socket',
    key: 'socket',
    arg: 'PATH',
    env: 'FAKE_CONTAINERD_SOCKET',
    default: '/tmp/fake-containerd/containerd.sock',
    help: 'unix socket to serve on',
    parse: text,
  },
  {
    name: 'state',
    key: 'state',
    arg: 'FILE',
    env: 'FAKE_CONTAINERD_STATE',
    shownDefault: 'in memory only',
    help: "persist the node's state to FILE (with --nodes, FILE is a directory of node-<i>.json)",
    parse: text,
  },
  {
    name: 'state-sync',
    key: 'stateSync',
    switch: true,
    env: 'FAKE_CONTAINERD_STATE_SYNC',
    default: false,
    help: 'with --state, answer a change only once it is on disk (fsynced; concurrent calls share a write)',
  },
  {
    name: 'seed-state',
    key: 'seedState',
    arg: 'FILE',
    env: 'FAKE_CONTAINERD_SEED_STATE',
    help: 'start from this node state (a snapshot or scenario) when there is no --state file yet',
    // The file is read (and checked) here, once: the server takes the state it gives.
    parse: readBy(readSeedState),
  },
  {
    name: 'sandbox-image',
    key: 'sandboxImage',
    arg: 'REF',
    env: 'FAKE_CONTAINERD_SANDBOX_IMAGE',
    default: 'registry.k8s.io/pause:3.10',
    help: 'pause image for pod sandboxes',
    parse: checked(parseReference),
  },
  {
    name: 'stream-address',
    key: 'streamAddress',
    arg: 'HOST:PORT',
    env: 'FAKE_CONTAINERD_STREAM_ADDRESS',
    default: '127.0.0.1:0',
    shownDefault: '127.0.0.1, a free port',
    help: 'where the streaming server for exec, attach and port-forward listens',
    parse: text,
  },
  {
    name: 'web',
    key: 'web',
    arg: 'HOST:PORT',
    env: 'FAKE_CONTAINERD_WEB',
    shownDefault: 'off',
    help: 'serve a live web view of the node (pods, processes, images, calls, faults) at http://HOST:PORT/',
    parse: checked(parseWebAddress),
  },
  {
    name: 'pod-cidr',
    key: 'podCidr',
    arg: 'CIDR',
    env: 'FAKE_CONTAINERD_POD_CIDR',
    default: '10.88.0.0/16',
    help: 'pod IP range',
    parse: checked(parseCidr),
  },
  {
    name: 'pull-policy',
    key: 'pullPolicy',
    arg: 'any|catalog|registry',
    env: 'FAKE_CONTAINERD_PULL_POLICY',
    default: 'any',
    help: 'any: unknown images are synthesised; catalog: only shipped images pull; registry: the rest, and shipped images of registries configured in --registry-config-path, from their registries',
    parse: oneOf<PullPolicy>('any', 'catalog', 'registry'),
  },
  {
    name: 'registry-config-path',
    key: 'registryConfigPath',
    arg: 'DIR',
    env: 'FAKE_CONTAINERD_REGISTRY_CONFIG_PATH',
    shownDefault: 'no hosts directory',
    help: "registry hosts directory in containerd's format (DIR/<host>/hosts.toml: mirrors, server, capabilities, headers, ca, client, skip_verify; or certs.d files); loopback registries are plain HTTP under every --containerd-version, as in containerd 1.6",
    parse: text,
  },
  {
    name: 'image-pull-progress-timeout',
    key: 'imagePullProgressTimeoutMs',
    arg: 'DURATION',
    env: 'FAKE_CONTAINERD_IMAGE_PULL_PROGRESS_TIMEOUT',
    default: 5 * 60_000,
    shownDefault: '5m',
    help: 'a registry pull that receives no bytes for this long is cut off (Go duration: 30s, 5m; 0 never)',
    parse: (value, flag) => goDuration(value, flag),
  },
  {
    name: 'log-level',
    key: 'logLevel',
    arg: 'error|warn|info|debug',
    env: 'FAKE_CONTAINERD_LOG_LEVEL',
    default: 'info',
    help: 'what the server logs to stderr (debug: every call)',
    parse: oneOf<LogLevel>('error', 'warn', 'info', 'debug'),
  },
  {
    name: 'log-format',
    key: 'logFormat',
    arg: 'text|json',
    env: 'FAKE_CONTAINERD_LOG_FORMAT',
    default: 'text',
    help: "how log lines are written: text (containerd's logfmt) or json (one object a line)",
    parse: oneOf<LogFormat>('text', 'json'),
  },
  {
    name: 'runtime-handler',
    key: 'runtimeHandlers',
    arg: 'NAME',
    env: 'FAKE_CONTAINERD_RUNTIME_HANDLERS',
    repeatable: true,
    separator: ',',
    default: ['runc'],
    help: 'accepted runtime handler; the first is the default',
    parse: handlerName,
  },
  {
    name: 'containerd-version',
    key: 'containerdVersion',
    arg: 'V',
    env: 'FAKE_CONTAINERD_CONTAINERD_VERSION',
    default: DEFAULT_CONTAINERD_VERSION,
    help: 'containerd generation to pose as (1.6, 1.7 or 2.1): the version reported, the plugins listed, the services served',
    parse: oneOf<ContainerdVersion>(...CONTAINERD_VERSIONS),
  },
  {
    name: 'runtime-name',
    key: 'runtimeName',
    arg: 'NAME',
    env: 'FAKE_CONTAINERD_RUNTIME_NAME',
    default: 'containerd',
    help: 'runtime_name reported by Version',
    parse: text,
  },
  {
    name: 'runtime-version',
    key: 'runtimeVersion',
    arg: 'V',
    env: 'FAKE_CONTAINERD_RUNTIME_VERSION',
    shownDefault: "the profile's release: v2.1.0-fake-containerd-<version>",
    help: 'runtime_version reported by Version',
    parse: text,
  },
  {
    name: 'seed',
    key: 'seed',
    arg: 'N',
    env: 'FAKE_CONTAINERD_SEED',
    default: 1,
    help: 'seed for fault probabilities: the same seed, the same run',
    parse: wholeNumber,
  },
  {
    name: 'journal-size',
    key: 'journalSize',
    arg: 'N',
    env: 'FAKE_CONTAINERD_JOURNAL_SIZE',
    shownDefault: `${JOURNAL_BUDGET.size}; with --nodes N, a 1/N share each, at least ${CLUSTER_JOURNAL_FLOOR.size}`,
    help: 'calls the journal keeps',
    parse: wholeNumber,
  },
  {
    name: 'journal-bytes',
    key: 'journalBytes',
    arg: 'N',
    env: 'FAKE_CONTAINERD_JOURNAL_BYTES',
    shownDefault: `${JOURNAL_BUDGET.bytes}; with --nodes N, a 1/N share each, at least ${CLUSTER_JOURNAL_FLOOR.bytes}`,
    help: 'bytes the journal may hold: each call counts its request and response as kept (up to 8 KiB as the bytes sent, larger as a summary) and a small overhead; past it the oldest calls go',
    parse: wholeNumber,
  },
  {
    name: 'nodes',
    key: 'nodes',
    arg: 'N',
    env: 'FAKE_CONTAINERD_NODES',
    shownDefault: 'one node on --socket',
    help: 'serve N nodes (node-0 …) from one process, each on DIR/node-<i>.sock with its own state, /24 of --pod-cidr and loopback address',
    parse: (value, flag) => {
      const n = wholeNumber(value, flag)
      if (n < 1) throw new Error(`${flag} must be at least 1, got ${value}`)
      return n
    },
  },
  {
    name: 'socket-dir',
    key: 'socketDir',
    arg: 'DIR',
    env: 'FAKE_CONTAINERD_SOCKET_DIR',
    shownDefault: "--socket's directory",
    help: "with --nodes, the directory of the nodes' sockets (node-0.sock, node-1.sock, …)",
    parse: text,
  },
  {
    // Before --fault: a file's rules come first.
    name: 'faults',
    key: 'faults',
    arg: 'FILE',
    env: 'FAKE_CONTAINERD_FAULTS',
    help: 'fault rules from a YAML or JSON file',
    parse: (file) => (file ? readFaultFile(file) : []),
  },
  {
    name: 'fault',
    key: 'faults',
    arg: 'RULE',
    env: 'FAKE_CONTAINERD_FAULT',
    repeatable: true,
    separator: ';',
    help: 'a fault rule',
    more: [
      "e.g. 'RunPodSandbox:error=UNAVAILABLE,times=2', 'method=List*,delay=200ms',",
      "'kind=crash,name=web,exit-code=3,after=1s', 'kind=pullFailure,pull=unavailable'",
    ],
    parse: (spec) => parseFaultSpec(spec),
  },
  {
    name: 'print-config',
    action: 'print-config',
    help: 'print the options in effect as a YAML file --config takes, and exit',
  },
  { name: 'help', short: 'h', action: 'help', help: 'print this help and exit' },
  { name: 'version', action: 'version', help: 'print the version and exit' },
] as const satisfies readonly Flag[]

type Row = (typeof FLAGS)[number]
type OptionRow = Extract<Row, { key: OptionKey }>
type DefaultedRow = Extract<OptionRow, { default: unknown }>

/** Compiles only while every option has a row in FLAGS (else it names the options without one). */
export type EveryOptionHasAFlag = [Exclude<OptionKey, OptionRow['key']>] extends [never] ? true : Exclude<OptionKey, OptionRow['key']>
true satisfies EveryOptionHasAFlag

/** The rows as the code below reads them. */
const ROWS: readonly Flag[] = FLAGS
const isOption = (f: Flag): f is OptionFlag => 'key' in f
const isSwitch = (f: Flag): f is Extract<OptionFlag, { switch: true }> => 'switch' in f
const isConfig = (f: Flag): f is ConfigFlag => 'config' in f
const isAction = (f: Flag): f is ActionFlag => 'action' in f
/** The rows that set an option, in table order (config-file.ts reads a file's keys by them too). */
export const OPTION_FLAGS: readonly OptionFlag[] = ROWS.filter(isOption)
const ACTION_FLAGS = ROWS.filter(isAction)
const CONFIG_FLAG = ROWS.find(isConfig)!

/** The CLI's value of each option that has a default (the library falls back to these too, except socket and logLevel). */
export type Defaults = { -readonly [F in DefaultedRow as F['key']]: Options[F['key']] }
export const DEFAULTS = Object.fromEntries(
  OPTION_FLAGS.filter((f) => f.default !== undefined).map((f) => [f.key, f.default]),
) as unknown as Defaults

/** The environment variable of each flag, by the flag's name. */
export const ENV = Object.fromEntries(OPTION_FLAGS.map((f) => [f.name, f.env])) as { readonly [F in OptionRow as F['name']]: F['env'] }

const PARSE_ARGS_OPTIONS: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
  ROWS.flatMap((f): [string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }][] =>
    isSwitch(f)
      ? [
          [f.name, { type: 'boolean' }],
          [`no-${f.name}`, { type: 'boolean' }],
        ]
      : isOption(f) || isConfig(f)
        ? [[f.name, { type: 'string', multiple: isOption(f) && f.repeatable === true }]]
        : [[f.name, { type: 'boolean', ...(f.short ? { short: f.short } : {}) }]],
  ),
)

/** A switch's value: its flag (the last of --NAME and --no-NAME), else its environment variable's. */
function switchOf(f: Extract<OptionFlag, { switch: true }>, argv: readonly string[], fromEnv: string | undefined): boolean | undefined {
  const last = argv.findLast((a) => a === `--${f.name}` || a === `--no-${f.name}`)
  if (last !== undefined) return last === `--${f.name}`
  if (!fromEnv) return undefined
  if (/^(1|true|yes|on)$/i.test(fromEnv)) return true
  if (/^(0|false|no|off)$/i.test(fromEnv)) return false
  throw new UsageError(`${f.env} must be 1, true, yes, on or 0, false, no, off; got "${fromEnv}"`)
}

/**
 * The texts a flag is given: its command-line values, else its environment variable's; undefined
 * when neither (a variable that is empty, or holds only separators, is not set).
 */
function textsOf(flag: ValueOptionFlag, given: unknown, fromEnv: string | undefined): string[] | undefined {
  if (given !== undefined) return Array.isArray(given) ? given.map(String) : [String(given)]
  if (!fromEnv) return undefined
  if (!flag.repeatable) return [fromEnv]
  const texts = fromEnv
    .split(flag.separator)
    .map((s) => s.trim())
    .filter(Boolean)
  return texts.length > 0 ? texts : undefined
}

/** --print-config: the options in effect, to print rather than serve. */
export interface PrintConfig {
  print: CommandLineOptions
}

/** Reads a --config file: the options it gives; throws a UsageError naming the file and key. */
export type ConfigReader = (file: string) => CommandLineOptions

/**
 * The server options the command line, the environment and a --config file (read by `readConfig`)
 * ask for, each option from the first of them that gives it, else its default; or the action a flag
 * asks for.
 */
export function parseFlags(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  readConfig?: ConfigReader,
): CommandLineOptions | PrintConfig | 'help' | 'version' {
  let values: Record<string, unknown>
  try {
    ;({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: PARSE_ARGS_OPTIONS }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  for (const f of ACTION_FLAGS) if (f.action !== 'print-config' && values[f.name]) return f.action
  const given: Record<string, unknown> = {}
  for (const f of OPTION_FLAGS) {
    if (isSwitch(f)) {
      const on = switchOf(f, argv, env[f.env])
      if (on !== undefined) given[f.key] = on
      continue
    }
    const texts = textsOf(f, values[f.name], env[f.env])
    if (texts === undefined) continue
    const flag = `--${f.name}`
    let value: unknown
    try {
      value = f.repeatable ? texts.map((t) => f.parse(t, flag)) : f.parse(texts[texts.length - 1]!, flag)
    } catch (err) {
      throw new UsageError((err as Error).message)
    }
    const before = given[f.key]
    given[f.key] = Array.isArray(before) && Array.isArray(value) ? [...before, ...value] : value
  }
  // A list a flag or variable gave stays even when empty (--faults empty.yaml): it wins over the file's.
  const configFile = (values[CONFIG_FLAG.name] as string | undefined) || env[CONFIG_FLAG.env]
  if (configFile && !readConfig) throw new UsageError(`--${CONFIG_FLAG.name} is not read here`)
  const fromFile = configFile ? readConfig!(configFile) : {}
  const options = { ...DEFAULTS, ...fromFile, ...given }
  return values['print-config'] ? { print: options } : options
}

const shownDefault = (f: OptionFlag | ConfigFlag): string | undefined =>
  isConfig(f)
    ? undefined
    : (f.shownDefault ?? (f.default === undefined ? undefined : Array.isArray(f.default) ? f.default.join(',') : String(f.default)))

const usage = (f: Flag): string =>
  isSwitch(f) ? `--${f.name}` : isAction(f) ? `${f.short ? `-${f.short}, ` : ''}--${f.name}` : `--${f.name} ${f.arg}`

/** The text of --help. */
export function helpText(): string {
  const width = Math.max(...ROWS.map((f) => usage(f).length)) + 2
  const indent = ' '.repeat(2 + width)
  const lines = [
    'Usage: fake-containerd [flags]',
    '',
    "A fake Kubernetes node container runtime: CRI runtime.v1 and containerd's API on a unix socket, every process simulated.",
    '',
    'Flags (each also read from the environment variable shown, then from the --config file):',
  ]
  for (const f of ROWS) {
    lines.push(`  ${usage(f).padEnd(width)}${f.help}${isOption(f) && f.repeatable ? '; repeat for more' : ''}`)
    for (const more of f.more ?? []) lines.push(indent + more)
    if (isAction(f)) continue
    const list = !isOption(f) ? '' : f.repeatable ? `, separated by "${f.separator}"` : isSwitch(f) ? ': 1 or 0' : ''
    const shown = shownDefault(f)
    lines.push(`${indent}[${f.env}${list}]${shown === undefined ? '' : ` (default ${shown})`}`)
  }
  lines.push(
    '',
    'An option comes from its flag, else its environment variable, else the --config file, else its default.',
    "A config file's keys are the option names (podCidr: for --pod-cidr, runtimeHandlers: a list, faults: a",
    'list of rules as in a --faults file, seedState: a file, a scenario name or the state inline).',
  )
  return lines.join('\n') + '\n'
}

const cell = (s: string): string => s.replace(/\|/g, '\\|')
const code = (s: string): string => '`' + cell(s) + '`'

/** The README's flag table (Markdown). */
export function flagsMarkdown(): string {
  const rows = ['| flag | environment | default | what |', '|---|---|---|---|']
  for (const f of ROWS) {
    if (isAction(f)) {
      rows.push(`| ${code(usage(f))} | | | ${cell(f.help)} |`)
      continue
    }
    const repeatable = isOption(f) && f.repeatable ? f.separator : undefined
    const flag = code(usage(f)) + (repeatable ? ' (repeatable)' : '')
    const env = code(f.env) + (repeatable ? ` (${code(repeatable)}-separated)` : '')
    const shown = shownDefault(f)
    const dflt = shown === undefined ? '' : /\s/.test(shown) ? cell(shown) : code(shown)
    rows.push(`| ${flag} | ${env} | ${dflt} | ${cell(f.help)} |`)
  }
  return rows.join('\n') + '\n'
}

const TABLE_START = '<!-- flags: made from src/flags.ts by `npm run docs`; edit the table there -->\n'
const TABLE_END = '<!-- /flags -->'

/** `readme` with the flag table between its markers made afresh from FLAGS. */
export function withFlagsTable(readme: string): string {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END, start)
  if (start === -1 || end === -1) throw new Error(`the README has no flag table markers (${TABLE_START.trim()} … ${TABLE_END})`)
  return `${readme.slice(0, start + TABLE_START.length)}\n${flagsMarkdown()}\n${readme.slice(end)}`
}

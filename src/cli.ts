#!/usr/bin/env node
// fake-containerd's command line: flags (or environment variables) → one server on a socket.
import { parseArgs } from 'node:util'
import { DEFAULTS, ENV, PACKAGE_VERSION, type FakeContainerdOptions, type LogLevel } from './config.js'
import { parseFaultSpec, readFaultFile } from './faults/spec.js'
import { startFakeContainerd } from './server.js'

const HELP = `Usage: fake-containerd [flags]

A fake Kubernetes node container runtime: CRI runtime.v1 on a unix socket, every process simulated.

Flags (each also read from the environment variable shown):
  --socket PATH            unix socket to serve on            [${ENV.socket}] (default ${DEFAULTS.socket})
  --state FILE             persist the node's state to FILE   [${ENV.state}] (default: in memory)
  --sandbox-image REF      pause image for pod sandboxes      [${ENV.sandboxImage}] (default ${DEFAULTS.sandboxImage})
  --pod-cidr CIDR          pod IP range                       [${ENV.podCidr}] (default ${DEFAULTS.podCidr})
  --runtime-handler NAME   accepted runtime handler; repeat for more, the first is the default
                                                              [${ENV.runtimeHandlers}, comma-separated] (default runc)
  --pull-policy any|catalog  any: unknown images are synthesised; catalog: only shipped images pull
                                                              [${ENV.pullPolicy}] (default any)
  --runtime-name NAME      runtime_name reported by Version   [${ENV.runtimeName}] (default containerd)
  --runtime-version V      runtime_version reported by Version [${ENV.runtimeVersion}]
  --log-level LEVEL        error, warn, info or debug         [${ENV.logLevel}] (default info)
  --fault RULE             a fault rule; repeat for more      [${ENV.fault}, separated by ";"]
                           e.g. 'RunPodSandbox:error=UNAVAILABLE,times=2', 'method=List*,delay=200ms',
                           'kind=crash,name=web,exit-code=3,after=1s', 'kind=pullFailure,pull=unavailable'
  --faults FILE            fault rules from a YAML or JSON file [${ENV.faults}]
  --seed N                 seed for fault probabilities       [${ENV.seed}] (default 1)
  --seed-state FILE        start from this node state (a snapshot or scenario) when there is no --state file yet
                                                              [${ENV.seedState}]
  --journal-size N         calls the journal keeps            [${ENV.journalSize}] (default 10000)
  --version                print the version and exit
  --help                   print this help and exit
`

class UsageError extends Error {}

function parse(argv: string[], env: NodeJS.ProcessEnv): FakeContainerdOptions | 'help' | 'version' {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        socket: { type: 'string' },
        state: { type: 'string' },
        'sandbox-image': { type: 'string' },
        'pod-cidr': { type: 'string' },
        'runtime-handler': { type: 'string', multiple: true },
        'pull-policy': { type: 'string' },
        'runtime-name': { type: 'string' },
        'runtime-version': { type: 'string' },
        'log-level': { type: 'string' },
        fault: { type: 'string', multiple: true },
        faults: { type: 'string' },
        seed: { type: 'string' },
        'seed-state': { type: 'string' },
        'journal-size': { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) return 'help'
  if (values.version) return 'version'
  const pick = (flag: string | undefined, name: keyof typeof ENV): string | undefined => flag ?? (env[ENV[name]] || undefined)
  const pullPolicy = pick(values['pull-policy'], 'pullPolicy')
  if (pullPolicy !== undefined && pullPolicy !== 'any' && pullPolicy !== 'catalog') {
    throw new UsageError(`--pull-policy must be "any" or "catalog", got "${pullPolicy}"`)
  }
  const logLevel = pick(values['log-level'], 'logLevel')
  if (logLevel !== undefined && !['error', 'warn', 'info', 'debug'].includes(logLevel)) {
    throw new UsageError(`--log-level must be one of error, warn, info, debug; got "${logLevel}"`)
  }
  const handlers =
    values['runtime-handler'] ??
    env[ENV.runtimeHandlers]
      ?.split(',')
      .map((h) => h.trim())
      .filter(Boolean)
  if (handlers?.some((h) => !/^[A-Za-z0-9._-]+$/.test(h)))
    throw new UsageError(`--runtime-handler names may hold only letters, digits, ".", "_" and "-"`)
  const options: FakeContainerdOptions = {
    socket: pick(values.socket, 'socket') ?? DEFAULTS.socket,
    logLevel: DEFAULTS.logLevel,
  }
  const set = <K extends keyof FakeContainerdOptions>(key: K, value: FakeContainerdOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value
  }
  set('state', pick(values.state, 'state'))
  set('sandboxImage', pick(values['sandbox-image'], 'sandboxImage'))
  set('podCidr', pick(values['pod-cidr'], 'podCidr'))
  set('runtimeHandlers', handlers?.length ? handlers : undefined)
  set('pullPolicy', pullPolicy as FakeContainerdOptions['pullPolicy'])
  set('runtimeName', pick(values['runtime-name'], 'runtimeName'))
  set('runtimeVersion', pick(values['runtime-version'], 'runtimeVersion'))
  set('logLevel', logLevel as LogLevel | undefined)
  const wholeNumber = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined
    if (!/^\d+$/.test(text)) throw new UsageError(`--${flag} must be a whole number, got "${text}"`)
    return Number(text)
  }
  set('seed', wholeNumber('seed', pick(values.seed, 'seed')))
  set('journalSize', wholeNumber('journal-size', pick(values['journal-size'], 'journalSize')))
  set('seedState', pick(values['seed-state'], 'seedState'))
  try {
    const specs = values.fault ?? env[ENV.fault]?.split(';').filter((s) => s.trim() !== '') ?? []
    const file = pick(values.faults, 'faults')
    const rules = [...(file ? readFaultFile(file) : []), ...specs.map(parseFaultSpec)]
    if (rules.length > 0) options.faults = rules
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  return options
}

async function main(): Promise<void> {
  let parsed
  try {
    parsed = parse(process.argv.slice(2), process.env)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`fake-containerd: ${err.message}\nRun 'fake-containerd --help' for the flags.\n`)
    process.exit(2)
  }
  if (parsed === 'help') return void process.stdout.write(HELP)
  if (parsed === 'version') return void process.stdout.write(`fake-containerd ${PACKAGE_VERSION}\n`)
  let server
  try {
    server = await startFakeContainerd(parsed)
  } catch (err) {
    process.stderr.write(`fake-containerd: ${(err as Error).message}\n`)
    process.exit(1)
  }
  const stop = (): void => {
    const forced = setTimeout(() => process.exit(1), 2000)
    forced.unref()
    void server.close().then(() => process.exit(0))
  }
  // Handlers first: a client may signal the moment it reads the ready line.
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  process.stdout.write(`listening on ${server.address}\n`)
}

void main()

// The library's configuration in one place: the options type (options.ts), the defaults the flag
// table gives them (flags.ts) and the package version.
export type { CommandLineOptions, FakeClusterOptions, FakeContainerdOptions, LogFormat, LogLevel } from './options.js'
export { PACKAGE_VERSION } from './version.js'
export { DEFAULTS } from './flags.js'

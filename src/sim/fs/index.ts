// The container filesystem: createContainerFs builds the Fs of one container (see container-fs.ts).
export { createContainerFs, followingView, ContainerFs, DEVICE_READ_BYTES } from './container-fs.js'
export type { ContainerFsInput, FsCaller, MountEntry, MountInput, SharedView } from './container-fs.js'
export { DEFAULT_RESOLV_CONF, etcHosts, resolvConf, sandboxFiles } from './etc.js'
export type { DnsInput, SandboxFilesInput } from './etc.js'
export { DEFAULT_APPLETS, IMAGE_TIME, imageFlavour, imageLayer } from './image.js'
export type { ImageInput } from './image.js'
export { MemLayer, Overlay, Tmpfs } from './mem.js'
export { mountTarget } from './mount-table.js'
export { mountsMiss } from './shared.js'
export type { ReadPaths } from './shared.js'
export type { Change } from './mem.js'
export { DEFAULT_SYSCTLS, KERNEL_RELEASE, sysctlPath } from './procfs.js'
export type { ProcessEntry } from './procfs.js'
export {
  CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  capabilityMask,
  capabilitySets,
  hexMask,
  processCapabilities,
  seccompMode,
} from './security.js'
export type { CapabilitySets, SecurityContextInput } from './security.js'
export { addMissingIds, containerGroups, containerIdentity, NameCache, parseGroup, parsePasswd } from './users.js'
export type { ContainerUser } from './users.js'
export { FsError, FS_MESSAGES, resolvePath } from './types.js'
export type { FileStat, FileType, Fs, FsErrorCode } from './types.js'

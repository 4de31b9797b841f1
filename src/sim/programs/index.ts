// The image programs the simulator knows (see registry.ts): nginx and Apache httpd.
import { apacheProgram } from './apache.js'
import { nginxProgram } from './nginx.js'
import { registerImageProgram } from './registry.js'

registerImageProgram(nginxProgram)
registerImageProgram(apacheProgram)

export { imageProgram, programsRunBy, registerImageProgram, type ImageProgram, type PackageFile } from './registry.js'

// The image programs the simulator knows (see registry.ts): nginx, Apache httpd, stress.
import { apacheProgram } from './apache.js'
import { nginxProgram } from './nginx.js'
import { registerImageProgram } from './registry.js'
import { stressProgram } from './stress.js'

registerImageProgram(nginxProgram)
registerImageProgram(apacheProgram)
registerImageProgram(stressProgram)

export { imageProgram, programsRunBy, registerImageProgram, type ImageProgram, type PackageFile } from './registry.js'

// The image programs the simulator knows (see registry.ts): nginx, Apache httpd, stress, nnp.
import { apacheProgram } from './apache.js'
import { nginxProgram } from './nginx.js'
import { registerImageProgram } from './registry.js'
import { stressProgram } from './stress.js'
import { nnpProgram } from './nnp.js'

registerImageProgram(nginxProgram)
registerImageProgram(apacheProgram)
registerImageProgram(stressProgram)
registerImageProgram(nnpProgram)

export { imageProgram, programsRunBy, registerImageProgram, type ImageProgram, type PackageFile } from './registry.js'

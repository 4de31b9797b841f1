// The image programs the simulator knows (see registry.ts): nginx, Apache httpd, stress, nnp, and
// docker-init (tini, which `docker run --init` bind-mounts from the host).
import { apacheProgram } from './apache.js'
import { nginxProgram } from './nginx.js'
import { registerImageProgram } from './registry.js'
import { stressProgram } from './stress.js'
import { nnpProgram } from './nnp.js'
import { tiniProgram } from './tini.js'

registerImageProgram(nginxProgram)
registerImageProgram(apacheProgram)
registerImageProgram(stressProgram)
registerImageProgram(nnpProgram)
registerImageProgram(tiniProgram)

export { imageProgram, programsRunBy, registerImageProgram, type ImageProgram, type PackageFile } from './registry.js'

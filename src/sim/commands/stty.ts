// busybox stty, as far as a terminal the client sizes goes: `stty size` prints rows and columns
// (what the client's last resize message or ResizePty set; 0 0 before any), other settings are
// taken; without a terminal, stdin is "Not a tty" as on Linux.
import type { Command } from '../context.js'

export const stty: Command = async (args, ctx) => {
  if (!ctx.winsize) {
    ctx.write('stderr', 'stty: standard input: Not a tty\n')
    return 1
  }
  const size = ctx.winsize() ?? { width: 0, height: 0 }
  if (args[1] === 'size') ctx.write('stdout', `${size.height} ${size.width}\n`)
  else if (args.length === 1 || args[1] === '-a')
    ctx.write('stdout', `speed 38400 baud; rows ${size.height}; columns ${size.width}; line = 0;\n`)
  return 0
}

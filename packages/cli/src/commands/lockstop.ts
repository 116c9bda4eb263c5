/** `leasehold lockstop LS [--wait]`: leave a lockspace (refused while leases are held in it). */
import type { CommandModule } from 'yargs';
import { printLine } from '../output.js';
import { connectDaemon, withSocketOption, type SocketArgs } from './daemon-connect.js';

interface LockstopArgs extends SocketArgs {
  lockspace: string;
  wait: boolean;
}

export const lockstopCommand: CommandModule<object, LockstopArgs> = {
  command: 'lockstop <lockspace>',
  describe: 'leave a lockspace (release our host_id lease)',
  builder: (y) =>
    withSocketOption(y)
      .positional('lockspace', { type: 'string', demandOption: true })
      .option('wait', { type: 'boolean', default: false, describe: 'return only when the lease is released' }),
  handler: async (argv) => {
    const client = await connectDaemon(argv);
    try {
      const result = await client.lockstop(argv.lockspace, { wait: argv.wait });
      printLine(`lockspace ${result.lockspace} ${result.state}`);
    } finally {
      client.close();
    }
  },
};

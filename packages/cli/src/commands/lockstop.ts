/** `leasehold lockstop LS [--wait]`: leave a lockspace (refused while leases are held in it). */
import type { CommandModule } from 'yargs';
import { printLine } from '../output.js';
import { connectDaemon, withSocketOption, type SocketArgs } from './daemon-connect.js';
import { SOCKET_ENV } from '@leasehold/client';
import { sessionWords } from './lockstart.js';
import { COMMON_OPTIONS, parseLvmArgs } from './lvm/getopt.js';
import { runLvmCommand } from './lvm/run.js';
import { openSession } from './lvm/session.js';
import { lockstopVgs } from './lvm/shared-start.js';

interface LockstopArgs extends SocketArgs {
  lockspace: string[] | undefined;
  wait: boolean;
  config: string | undefined;
  devices: string[] | undefined;
}

export const lockstopCommand: CommandModule<object, LockstopArgs> = {
  command: 'lockstop [lockspace..]',
  describe: 'leave a lockspace (release our host_id lease)',
  builder: (y) =>
    withSocketOption(y)
      .positional('lockspace', {
        type: 'string',
        array: true,
        describe: 'lockspaces or shared VG names (none: every shared VG started here)',
      })
      .option('config', { type: 'string', describe: 'leasehold.conf for the VG forms (devices)' })
      .option('devices', { type: 'string', array: true, describe: 'devices to scan for shared VGs' })
      .option('wait', { type: 'boolean', default: false, describe: 'return only when the lease is released' }),
  handler: async (argv) => {
    const names = argv.lockspace ?? [];
    const client = await connectDaemon(argv);
    let vgNames: string[];
    try {
      // A name the daemon knows as a lockspace is stopped as such; other names are shared VGs.
      const known = new Set((await client.status()).lockspaces.map((ls) => ls.lockspace));
      for (const name of names.filter((n) => known.has(n))) {
        const result = await client.lockstop(name, { wait: argv.wait });
        printLine(`lockspace ${result.lockspace} ${result.state}`);
      }
      vgNames = names.filter((n) => !known.has(n));
    } finally {
      client.close();
    }
    if (names.length > 0 && vgNames.length === 0) return;
    if (argv.socket !== undefined) process.env[SOCKET_ENV] = argv.socket;
    await runLvmCommand(async () => {
      const words = sessionWords(argv);
      const session = openSession('lockstop', words, parseLvmArgs('lockstop', words, COMMON_OPTIONS));
      await lockstopVgs(session, vgNames, argv.wait);
    });
  },
};

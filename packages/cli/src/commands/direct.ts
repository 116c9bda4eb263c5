/** `leasehold direct ...`: sanlock-style direct access to lease areas, without a daemon. */
import type { Argv, CommandModule } from 'yargs';
import { directDumpCommand } from './direct-dump.js';
import { directHostsCommand } from './direct-hosts.js';
import { directInitCommand } from './direct-init.js';
import { directJoinCommand } from './direct-join.js';
import { directReadLeaderCommand } from './direct-read-leader.js';
import { directRequestCommand } from './direct-request.js';
import { directRunCommand } from './direct-run.js';

/** The `direct` subcommands; each lives in its own module. */
export const directSubcommands: CommandModule<object, never>[] = [
  directInitCommand as unknown as CommandModule<object, never>,
  directDumpCommand as unknown as CommandModule<object, never>,
  directReadLeaderCommand as unknown as CommandModule<object, never>,
  directJoinCommand as unknown as CommandModule<object, never>,
  directHostsCommand as unknown as CommandModule<object, never>,
  directRunCommand as unknown as CommandModule<object, never>,
  directRequestCommand as unknown as CommandModule<object, never>,
];

export const directCommand: CommandModule = {
  command: 'direct <command>',
  describe: 'read and write lease areas directly (no daemon), like `sanlock direct`',
  builder: (y: Argv) => {
    let built = y;
    for (const sub of directSubcommands) built = built.command(sub);
    return built.demandCommand(1);
  },
  handler: () => undefined,
};

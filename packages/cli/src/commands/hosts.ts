/** `leasehold hosts LS [--json]`: the hosts of a lockspace as this daemon sees them (FREE/LIVE/UNKNOWN/FAIL/DEAD). */
import type { CommandModule } from 'yargs';
import { printJson, printLine } from '../output.js';
import { connectDaemon, withSocketOption, type SocketArgs } from './daemon-connect.js';
import { formatTable, seconds } from './daemon-table.js';

interface HostsArgs extends SocketArgs {
  lockspace: string;
  json: boolean;
}

export const hostsCommand: CommandModule<object, HostsArgs> = {
  command: 'hosts <lockspace>',
  describe: 'show the hosts of a lockspace and their liveness',
  builder: (y) =>
    withSocketOption(y)
      .positional('lockspace', { type: 'string', demandOption: true })
      .option('json', { type: 'boolean', default: false }),
  handler: async (argv) => {
    const client = await connectDaemon(argv);
    try {
      const result = await client.hostStatus(argv.lockspace);
      if (argv.json) {
        printJson(result);
        return;
      }
      for (const line of formatTable(
        ['HOST_ID', 'STATE', 'GEN', 'TIMESTAMP', 'LAST_LIVE', 'IO_TIMEOUT', 'HOST_NAME'],
        result.hosts.map((host) => [
          `${host.hostId}${host.self ? '*' : ''}`,
          host.state,
          host.generation,
          host.timestamp,
          host.lastLiveSecondsAgo === null ? '-' : `${seconds(host.lastLiveSecondsAgo)} ago`,
          String(host.ioTimeoutSeconds),
          host.hostName,
        ]),
      )) {
        printLine(line);
      }
    } finally {
      client.close();
    }
  },
};

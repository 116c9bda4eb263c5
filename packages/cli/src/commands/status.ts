/** `leasehold status [--json]`: the daemon, its lockspaces, the leases held and the clients. */
import type { CommandModule } from 'yargs';
import { printJson, printLine } from '../output.js';
import { connectDaemon, withSocketOption, type SocketArgs } from './daemon-connect.js';
import { formatTable, seconds } from './daemon-table.js';

interface StatusArgs extends SocketArgs {
  json: boolean;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: "show the daemon's lockspaces, leases and clients",
  builder: (y) => withSocketOption(y).option('json', { type: 'boolean', default: false }),
  handler: async (argv) => {
    const client = await connectDaemon(argv);
    try {
      const status = await client.status();
      if (argv.json) {
        printJson(status);
        return;
      }
      const d = status.daemon;
      printLine(
        `daemon pid ${d.pid} host_name ${d.hostName} io_timeout ${d.ioTimeoutSeconds} watchdog_fire_timeout ${d.watchdogFireTimeoutSeconds} ` +
          `kill_grace ${d.killGraceSeconds} watchdog ${d.watchdog} uptime ${d.uptimeSeconds}s`,
      );
      printLine();
      for (const line of formatTable(
        ['LOCKSPACE', 'STATE', 'HOST_ID', 'GEN', 'RENEWED', 'EXPIRES', 'LEASES', 'LOCATION', 'ERROR'],
        status.lockspaces.map((ls) => [
          ls.lockspace,
          ls.state,
          ls.hostId === null ? '-' : String(ls.hostId),
          ls.generation ?? '-',
          ls.renewedSecondsAgo === null ? '-' : `${seconds(ls.renewedSecondsAgo)} ago`,
          seconds(ls.expiresInSeconds),
          String(ls.leaseCount),
          `${ls.path}:${ls.offsetBytes}`,
          ls.error === undefined ? '' : `${ls.error.code}: ${ls.error.message}`,
        ]),
      )) {
        printLine(line);
      }
      printLine();
      for (const line of formatTable(
        ['LOCKSPACE', 'RESOURCE', 'MODE', 'LVER', 'HOLDER', 'LOCATION'],
        status.leases.map((lease) => [
          lease.lockspace,
          lease.resource,
          lease.mode,
          lease.lver,
          lease.holder === 'persistent' ? 'persistent' : `pid ${lease.pid}`,
          `${lease.path}:${lease.offsetBytes}`,
        ]),
      )) {
        printLine(line);
      }
      const activations = status.activations ?? [];
      if (activations.length === 0) return;
      printLine();
      // What became of each LV whose lockspace was lost is shown here (issue 13: status shows it).
      for (const line of formatTable(
        ['LV', 'MODE', 'DEVICE', 'ORIGIN', 'STATE'],
        activations.map((a) => [
          `${a.vgName}/${a.lvName}`,
          a.mode,
          a.device.devicePath ?? `(${a.device.backend})`,
          a.origin,
          a.loss === undefined ? 'active' : `lease lost ${a.loss.at}: ${a.loss.phase}: ${a.loss.message}`,
        ]),
      )) {
        printLine(line);
      }
    } finally {
      client.close();
    }
  },
};

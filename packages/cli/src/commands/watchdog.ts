/**
 * `leasehold watchdog`: the watchdog companion in the foreground (systemd runs it as
 * leasehold-watchdog.service, Type=notify). Also the operator's tools around it:
 *   --probe          check the device (and the marker) and exit, like `wdmd --probe`
 *   --clear-marker   remove the marker a crashed companion left (see docs/watchdog.md first)
 *   --status         show a running companion's registrations and device state
 * The companion's code is loaded only when this command runs.
 */
import type { CommandModule } from 'yargs';
import { CliError, EXIT_USAGE } from '../cli-error.js';
import { printJson, printLine } from '../output.js';
import { formatTable } from './daemon-table.js';

interface WatchdogArgs {
  device?: string;
  socket?: string;
  marker?: string;
  'fire-timeout'?: number;
  interval?: number;
  'log-level': string;
  'log-format'?: 'pretty' | 'json';
  probe: boolean;
  'clear-marker': boolean;
  status: boolean;
  json: boolean;
}

export const watchdogCommand: CommandModule<object, WatchdogArgs> = {
  command: 'watchdog',
  describe:
    'run the watchdog companion in the foreground (pets the watchdog while every lockspace is within its deadline)',
  builder: (y) =>
    y
      .option('device', {
        type: 'string',
        describe: 'watchdog device (default /dev/watchdog; a test device socket also works)',
      })
      .option('socket', {
        type: 'string',
        describe: 'socket the daemon registers on (default /run/leasehold/watchdog.sock)',
      })
      .option('marker', {
        type: 'string',
        describe: 'unclean-exit marker on a tmpfs (default /dev/shm/leasehold-watchdog)',
      })
      .option('fire-timeout', {
        type: 'number',
        describe: 'watchdog fire timeout W in seconds, the same as the daemons use (default 60)',
      })
      .option('interval', {
        type: 'number',
        describe: 'test/keepalive interval in seconds (default from W, as wdmd: 10 s for W >= 60)',
      })
      .option('log-level', { type: 'string', default: 'info', describe: 'trace|debug|info|warn|error' })
      .option('log-format', {
        type: 'string',
        choices: ['pretty', 'json'] as const,
        describe: 'pretty (default on a terminal) | json (default otherwise)',
      })
      .option('probe', {
        type: 'boolean',
        default: false,
        describe: 'check the marker and the device (open, timeout, disarm), then exit',
      })
      .option('clear-marker', {
        type: 'boolean',
        default: false,
        describe: "remove a crashed companion's marker, then exit",
      })
      .option('status', {
        type: 'boolean',
        default: false,
        describe: "show the running companion's registrations, then exit",
      })
      .option('json', { type: 'boolean', default: false, describe: 'with --status: JSON' }),
  handler: async (argv) => {
    const watchdog = await import('@leasehold/watchdog');
    if (!(watchdog.LOG_LEVELS as readonly string[]).includes(argv['log-level'])) {
      throw new CliError('BAD_ARGUMENT', `--log-level must be one of ${watchdog.LOG_LEVELS.join(', ')}`, EXIT_USAGE);
    }
    if ([argv.probe, argv['clear-marker'], argv.status].filter(Boolean).length > 1) {
      throw new CliError('BAD_ARGUMENT', '--probe, --clear-marker and --status exclude each other', EXIT_USAGE);
    }
    const options = {
      devicePath: argv.device,
      socketPath: argv.socket,
      markerPath: argv.marker,
      fireTimeoutSeconds: argv['fire-timeout'],
      intervalSeconds: argv.interval,
    };
    if (argv['clear-marker']) {
      const path = watchdog.resolveCompanionOptions(options).markerPath;
      const found = watchdog.clearMarker(path);
      printLine(
        found.status === 'absent'
          ? `no marker at ${path}`
          : `removed ${path}${found.content === undefined ? '' : ` (companion pid ${found.content.pid}, started ${found.content.startedAt})`}`,
      );
      return;
    }
    if (argv.probe) {
      const probe = await watchdog.probeOnly(options);
      printLine(
        `${probe.device} (${probe.kind}): timeout ${probe.previousTimeoutSeconds} s -> ${probe.fireTimeoutSeconds} s, disarmed`,
      );
      return;
    }
    if (argv.status) {
      const status = await watchdog.companionStatus(watchdog.resolveCompanionOptions(options).socketPath);
      if (argv.json) {
        printJson(status);
        return;
      }
      const sinceKeepalive =
        status.lastKeepaliveSeconds === null
          ? '-'
          : `${(status.nowSeconds - status.lastKeepaliveSeconds).toFixed(1)}s ago`;
      printLine(
        `companion pid ${status.pid} device ${status.device} ${status.deviceState} fire_timeout ${status.fireTimeoutSeconds} interval ${status.intervalSeconds} last_keepalive ${sinceKeepalive}`,
      );
      printLine();
      for (const line of formatTable(
        ['LOCKSPACE', 'EXPIRES_IN', 'LOST', 'DAEMON_PID'],
        status.registrations.map((r) => [
          r.lockspace,
          `${r.expiresInSeconds.toFixed(1)}s`,
          r.lost ? 'yes' : 'no',
          String(r.daemonPid),
        ]),
      )) {
        printLine(line);
      }
      return;
    }
    const logger = watchdog.createLogger('leasehold-watchdog', argv['log-level'], argv['log-format']);
    const running = await watchdog.runCompanion({ ...options, logger, handleSignals: true });
    await running.stopped;
  },
};

/**
 * `leasehold daemon`: the per-host lock daemon, in the foreground (systemd runs it as
 * leasehold.service, Type=notify). The daemon's code is loaded only when this command runs.
 */
import type { CommandModule } from 'yargs';

interface DaemonArgs {
  socket?: string;
  'state-dir'?: string;
  config?: string;
  'host-id-file'?: string;
  'io-timeout'?: number;
  'watchdog-fire-timeout'?: number;
  'kill-grace'?: number;
  'socket-group'?: string;
  'host-name'?: string;
  watchdog?: string;
  'watchdog-socket'?: string;
  'log-level'?: string;
  'log-format'?: string;
  lanes?: string;
  'activation-backend'?: string;
  'device-dir'?: string;
  'test-fault-dir'?: string;
  'test-socket-mode'?: string;
}

export const daemonCommand: CommandModule<object, DaemonArgs> = {
  command: 'daemon',
  describe: 'run the lock daemon in the foreground',
  builder: (y) =>
    y
      .option('socket', { type: 'string', describe: 'socket path (default /run/leasehold/leasehold.sock)' })
      .option('state-dir', { type: 'string', describe: 'local state directory (default /var/lib/leasehold)' })
      .option('config', { type: 'string', describe: 'config file (default /etc/leasehold/leasehold.conf)' })
      .option('host-id-file', { type: 'string', describe: 'host_id map (default /etc/leasehold/host-id.conf)' })
      .option('io-timeout', { type: 'number', describe: 'io_timeout seconds (default 10)' })
      .option('watchdog-fire-timeout', {
        type: 'number',
        describe: 'watchdog fire timeout W, the same on every host (default 60)',
      })
      .option('kill-grace', { type: 'number', describe: 'seconds from SIGTERM/kill command to SIGKILL on lease loss' })
      .option('socket-group', { type: 'string', describe: 'group allowed to use the socket' })
      .option('host-name', {
        type: 'string',
        describe: 'fixed delta-lease host name (default: generated once, kept in state)',
      })
      .option('watchdog', { type: 'string', describe: '"none" to run without a watchdog companion (no fencing)' })
      .option('watchdog-socket', {
        type: 'string',
        describe: 'the watchdog companion socket (default /run/leasehold/watchdog.sock)',
      })
      .option('log-level', { type: 'string', describe: 'trace|debug|info|warn|error' })
      .option('log-format', {
        type: 'string',
        choices: ['pretty', 'json'],
        describe: 'pretty (default on a terminal) | json (default otherwise)',
      })
      .option('lanes', {
        type: 'string',
        describe: 'shared (default: lockspaces share I/O threads, quarantined on a stall) | per-device',
      })
      .option('activation-backend', {
        type: 'string',
        choices: ['dm', 'loop', 'none'],
        describe: 'how LVs are activated (default dm where /dev/mapper/control exists, else loop)',
      })
      .option('device-dir', { type: 'string', describe: 'where the VG/LV links of active LVs go (default /dev)' })
      .option('test-fault-dir', { type: 'string', hidden: true })
      .option('test-socket-mode', { type: 'string', hidden: true }),
  handler: async (argv) => {
    const { runDaemon } = await import('@leasehold/daemon');
    const running = await runDaemon({
      socket: argv.socket,
      stateDir: argv['state-dir'],
      config: argv.config,
      hostIdFile: argv['host-id-file'],
      ioTimeout: argv['io-timeout'],
      watchdogFireTimeout: argv['watchdog-fire-timeout'],
      killGrace: argv['kill-grace'],
      socketGroup: argv['socket-group'],
      hostName: argv['host-name'],
      watchdog: argv.watchdog,
      watchdogSocket: argv['watchdog-socket'],
      logLevel: argv['log-level'],
      logFormat: argv['log-format'],
      lanes: argv.lanes,
      activationBackend: argv['activation-backend'],
      deviceDir: argv['device-dir'],
      testFaultDir: argv['test-fault-dir'],
      testSocketMode: argv['test-socket-mode'] === undefined ? undefined : parseInt(argv['test-socket-mode'], 8),
    });
    await running.stopped;
  },
};

/**
 * `leasehold command-server`: warm command workers for `leasehold-fast` (see
 * src/command-server/server.ts). systemd runs it as leasehold-commands.service.
 */
import type { CommandModule } from 'yargs';
import { CliError, EXIT_USAGE } from '../cli-error.js';

interface CommandServerArgs {
  socket?: string;
  workers: number;
  'log-level': string;
  'log-format'?: 'pretty' | 'json';
}

export const commandServerCommand: CommandModule<object, CommandServerArgs> = {
  command: 'command-server',
  describe: 'keep command workers booted for leasehold-fast, the front end that starts in a millisecond',
  builder: (y) =>
    y
      .option('socket', {
        type: 'string',
        describe:
          'socket leasehold-fast connects to (default $LEASEHOLD_COMMAND_SOCKET or /run/leasehold/commands.sock)',
      })
      .option('workers', { type: 'number', default: 3, describe: 'idle workers kept waiting (1-16)' })
      .option('log-level', { type: 'string', default: 'info', describe: 'trace|debug|info|warn|error' })
      .option('log-format', {
        type: 'string',
        choices: ['pretty', 'json'] as const,
        describe: 'pretty (default on a terminal) | json (default otherwise)',
      }),
  handler: async (argv) => {
    const [{ CommandServer }, { DEFAULT_COMMAND_SOCKET }, { createLogger, LOG_LEVELS }] = await Promise.all([
      import('../command-server/server.js'),
      import('../command-server/protocol.js'),
      import('@leasehold/watchdog'),
    ]);
    if (!(LOG_LEVELS as readonly string[]).includes(argv['log-level']))
      throw new CliError('BAD_ARGUMENT', `--log-level must be one of ${LOG_LEVELS.join(', ')}`, EXIT_USAGE);
    const logger = createLogger('leasehold-commands', argv['log-level'], argv['log-format']);
    const server = new CommandServer({
      socketPath: argv.socket ?? (process.env.LEASEHOLD_COMMAND_SOCKET || DEFAULT_COMMAND_SOCKET),
      idleWorkers: argv.workers,
      logger,
    });
    await server.start();
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => server.stop());
    await server.stopped;
  },
};

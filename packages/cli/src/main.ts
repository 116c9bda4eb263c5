/**
 * The `leasehold` command line. Every failure prints one line, `leasehold: CODE: message (what to
 * do)`, on stderr and exits with the status the error catalogue (@leasehold/errors) gives its code.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { errorLine, EXIT_STATUS, RUN_EXIT_OFFSET } from '@leasehold/errors';
import { describeError, describeRunError } from './cli-error.js';
import { directCommand } from './commands/direct.js';
import { daemonCommand } from './commands/daemon.js';
import { hostsCommand } from './commands/hosts.js';
import { lockstartCommand } from './commands/lockstart.js';
import { lockstopCommand } from './commands/lockstop.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { testingCommand } from './commands/testing-cluster.js';
import { watchdogCommand } from './commands/watchdog.js';
import { printError } from './output.js';
import { versionLine } from './version.js';

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('leasehold')
    .usage('$0 <command> [options]\n\nA disk-based lease lock manager, compatible with sanlock on disk.')
    .command(directCommand)
    .command(daemonCommand)
    .command(lockstartCommand)
    .command(lockstopCommand)
    .command(statusCommand)
    .command(hostsCommand)
    .command(runCommand)
    .command(watchdogCommand)
    .command(testingCommand)
    .demandCommand(1, 'give a command')
    .strict()
    .help()
    .alias('h', 'help')
    .version('version', 'print the version', versionLine())
    .fail((message: string | null, error: Error | undefined) => {
      if (error) throw error;
      printError(errorLine('BAD_ARGUMENT', message ?? 'invalid arguments'));
      process.exit(wrapsCommand(argv) ? RUN_EXIT_OFFSET + EXIT_STATUS.usage : EXIT_STATUS.usage);
    })
    .parseAsync();
}

/** `run` and `direct run` keep 1-4 for the wrapped command; their own statuses are 121-124. */
function wrapsCommand(argv: string[]): boolean {
  const words = argv.filter((word) => !word.startsWith('-'));
  return words[0] === 'run' || (words[0] === 'direct' && words[1] === 'run');
}

main(hideBin(process.argv)).catch((error: unknown) => {
  // An error that reaches here from `run` / `direct run` came before their command started.
  const { line, exitStatus } = wrapsCommand(hideBin(process.argv)) ? describeRunError(error) : describeError(error);
  printError(line);
  process.exitCode = exitStatus;
});

/**
 * The `leasehold` command line. Every failure prints `leasehold: <CODE>: <message>` on stderr and
 * exits non-zero (2 for usage errors).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { describeError, EXIT_USAGE } from './cli-error.js';
import { directCommand } from './commands/direct.js';
import { daemonCommand } from './commands/daemon.js';
import { hostsCommand } from './commands/hosts.js';
import { lockstartCommand } from './commands/lockstart.js';
import { lockstopCommand } from './commands/lockstop.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { testingCommand } from './commands/testing-cluster.js';
import { watchdogCommand } from './commands/watchdog.js';
import { lvmCommandModules, runLvmByName } from './commands/lvm/index.js';
import { printError } from './output.js';

export async function main(argv: string[]): Promise<void> {
  // lvm-named commands take their words raw (lvm's getopt rules: `-l -3`, `-an`), so they bypass yargs
  const first = argv[0];
  if (first !== undefined && (await runLvmByName(first, argv.slice(1)))) return;
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
    // lvm-named volume commands (pvs, vgcreate, lvextend ...): one registration for all of them
    .command([...lvmCommandModules])
    .demandCommand(1, 'give a command; see --help')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .fail((message: string | null, error: Error | undefined) => {
      if (error) throw error;
      printError(`leasehold: BAD_ARGUMENT: ${message ?? 'invalid arguments'} (see --help)`);
      process.exit(EXIT_USAGE);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch((error: unknown) => {
  const { code, message, exitStatus } = describeError(error);
  printError(`leasehold: ${code}: ${message}`);
  process.exitCode = exitStatus;
});

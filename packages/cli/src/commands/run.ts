/**
 * `leasehold run -r LS:RES:PATH:OFFSET [-r ...] [--shared] [--wait S] -- CMD [ARGS...]`
 * Runs CMD holding the leases, through the daemon (like `sanlock client command`).
 *
 * The leases are held by CMD's own process, not by this one: CMD is started through a tiny shell
 * that waits on a pipe; the leases are acquired for that child (its pid, which `exec` keeps), then
 * the shell is told to exec CMD. So the daemon releases them when CMD exits, and on lease loss it is
 * CMD that gets SIGTERM/SIGKILL. Exits with CMD's status (128+N when killed by signal N).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { constants } from 'node:os';
import type { CommandModule } from 'yargs';
import { parseResourceArg } from '../args.js';
import { CliError, EXIT_USAGE } from '../cli-error.js';
import { printError } from '../output.js';
import { connectDaemon, withSocketOption, type SocketArgs } from './daemon-connect.js';

interface RunArgs extends SocketArgs {
  r: string[];
  shared: boolean;
  wait: number;
  '--'?: Array<string | number>;
  _: Array<string | number>;
}

/** Exit status when the leases could not be acquired (CMD never ran). */
export const EXIT_NOT_STARTED = 125;

const GATE_SCRIPT = 'IFS= read -r go <&3; exec 3<&-; [ "$go" = go ] || exit 125; exec "$@"';

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'run a command while holding leases (released when it exits)',
  builder: (y) =>
    withSocketOption(y)
      .parserConfiguration({ 'populate--': true })
      .option('r', { type: 'string', array: true, demandOption: true, describe: 'resource LS:RES:PATH:OFFSET (repeatable)' })
      .option('shared', { type: 'boolean', default: false, describe: 'acquire shared (SH) instead of exclusive' })
      .option('wait', { type: 'number', default: 0, describe: 'seconds to wait for busy leases' }),
  handler: async (argv) => {
    const command = (argv['--'] ?? []).map(String);
    if (command.length === 0) throw new CliError('BAD_ARGUMENT', 'give the command to run after --', EXIT_USAGE);
    const resources = argv.r.map(parseResourceArg);
    const client = await connectDaemon(argv, 'leasehold-run');
    const child = spawn('/bin/sh', ['-c', GATE_SCRIPT, 'leasehold-run', ...command], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
    const gate = child.stdio[3] as NodeJS.WritableStream;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    try {
      for (const resource of resources) {
        await client.acquire(
          { lockspace: resource.spaceName, resource: resource.resourceName, path: resolve(resource.path), offsetBytes: resource.offsetBytes },
          {
            mode: argv.shared ? 'SH' : 'EX',
            waitSeconds: argv.wait,
            holderPid: child.pid!,
            ...(resource.lver === undefined ? {} : { lver: resource.lver }),
          },
        );
      }
    } catch (error) {
      gate.end(); // the gate shell exits 125 without running the command
      await exited;
      client.close();
      throw error;
    }
    gate.end('go\n');
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    process.on('SIGHUP', forward);
    const { code, signal } = await exited;
    client.close();
    if (signal !== null) {
      printError(`leasehold: command killed by ${signal}`);
      process.exitCode = 128 + (constants.signals[signal] ?? 0);
    } else {
      process.exitCode = code ?? 1;
    }
  },
};

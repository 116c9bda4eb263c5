/**
 * `leasehold run -r LS:RES:PATH:OFFSET [-r ...] [--shared] [--wait S] -- CMD [ARGS...]`
 * Runs CMD holding the leases, through the daemon (like `sanlock client command`).
 *
 * The leases are held by CMD's own process, not by this one: CMD is started through a tiny shell
 * that waits on a pipe; the leases are acquired for that child (its pid, which `exec` keeps), then
 * the shell is told to exec CMD. So the daemon releases them when CMD exits, and on lease loss it is
 * CMD that gets SIGTERM/SIGKILL. Exits with CMD's status (128+N when killed by signal N); when CMD
 * never ran, with 121-124 (123: the lease is held by someone else; see the exit table in docs/cli.md).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { constants } from 'node:os';
import type { CommandModule } from 'yargs';
import { parseResourceArg } from '../args.js';
import { CliError, describeRunError, EXIT_USAGE } from '../cli-error.js';
import { printError } from '../output.js';
import { isLeaseholdError, type LeaseholdClient } from '@leasehold/client';
import { connectDaemon, withSocketOption, type SocketArgs } from './daemon-connect.js';
import { holdersOf, holderText, waitingLine } from './waiting.js';

/** Codes that mean "busy right now": with --wait the acquire is retried until the time is up. */
const BUSY_CODES: ReadonlySet<string> = new Set(['LEASE_HELD', 'LEASE_HELD_LOCALLY', 'SHARED_HOLDERS', 'TIMEOUT']);
/** Each attempt waits at most this long in the daemon, so the status line can name the current holder. */
const POLL_SECONDS = 2;

interface RunArgs extends SocketArgs {
  r: string[];
  shared: boolean;
  wait: number;
  '--'?: Array<string | number>;
  _: Array<string | number>;
}

/** The gate shell's status when told not to run CMD (never seen by the user: we exit with ours). */
const GATE_SCRIPT = 'IFS= read -r go <&3; exec 3<&-; [ "$go" = go ] || exit 125; exec "$@"';

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'run a command while holding leases (released when it exits)',
  builder: (y) =>
    withSocketOption(y)
      .parserConfiguration({ 'populate--': true })
      .option('r', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'resource LS:RES:PATH:OFFSET (repeatable)',
      })
      .option('shared', { type: 'boolean', default: false, describe: 'acquire shared (SH) instead of exclusive' })
      .option('wait', { type: 'number', default: 0, describe: 'seconds to wait for busy leases' }),
  handler: async (argv) => {
    const command = (argv['--'] ?? []).map(String);
    if (command.length === 0) throw new CliError('BAD_ARGUMENT', 'give the command to run after --', EXIT_USAGE);
    const resources = argv.r.map(parseResourceArg);
    const client = await connectDaemon(argv, 'leasehold-run');
    const child = spawn('/bin/sh', ['-c', GATE_SCRIPT, 'leasehold-run', ...command], {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    });
    const gate = child.stdio[3] as NodeJS.WritableStream;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.on('exit', (code, signal) => done({ code, signal })),
    );
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    try {
      const startedAtMs = Date.now();
      for (const resource of resources)
        await acquireTelling(client, resource, argv.shared, argv.wait, startedAtMs, child.pid ?? 0);
    } catch (error) {
      gate.end(); // the gate shell exits 125 without running the command
      await exited;
      client.close();
      const { line, exitStatus } = describeRunError(error);
      printError(line);
      process.exitCode = exitStatus;
      return;
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

/** One acquire; while it is busy and --wait allows, retries and says who holds it. */
async function acquireTelling(
  client: LeaseholdClient,
  resource: ReturnType<typeof parseResourceArg>,
  shared: boolean,
  waitSeconds: number,
  startedAtMs: number,
  holderPid: number,
): Promise<void> {
  const mode = shared ? 'SH' : 'EX';
  const line = waitingLine();
  try {
    // The first attempt does not wait, so a busy lease's holder is known (and shown) at once.
    for (let attempt = 0; ; attempt++) {
      const leftSeconds = Math.max(0, waitSeconds - (Date.now() - startedAtMs) / 1000);
      try {
        await client.acquire(
          {
            lockspace: resource.spaceName,
            resource: resource.resourceName,
            path: resolve(resource.path),
            offsetBytes: resource.offsetBytes,
          },
          {
            mode,
            waitSeconds: attempt === 0 ? 0 : Math.min(leftSeconds, POLL_SECONDS),
            holderPid,
            ...(resource.lver === undefined ? {} : { lver: resource.lver }),
          },
        );
        return;
      } catch (error) {
        const waitedSeconds = (Date.now() - startedAtMs) / 1000;
        if (!isLeaseholdError(error) || !BUSY_CODES.has(error.code) || waitedSeconds >= waitSeconds) throw error;
        const holders = holdersOf(error.details).map(holderText);
        line.show(
          `waiting for ${resource.spaceName}:${resource.resourceName} (${mode}), held by ${holders.length === 0 ? 'someone else' : holders.join('; ')}`,
          waitedSeconds,
          waitSeconds,
        );
      }
    }
  } finally {
    line.done();
  }
}

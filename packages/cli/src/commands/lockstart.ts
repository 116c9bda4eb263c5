/**
 * `leasehold lockstart -s LS:HOSTID|auto:PATH:OFFSET [--wait]`: join a lockspace through the daemon.
 * Without --wait it returns once the daemon has started joining; with --wait it returns when the
 * lockspace is joined (or failed), showing progress on a terminal.
 */
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { parseBytes, parseHostId, splitColons } from '../args.js';
import { CliError, EXIT_USAGE } from '../cli-error.js';
import { printJson, printLine } from '../output.js';
import type { ProgressInfo } from '@leasehold/client';
import { connectDaemon, progressLine, withSocketOption, type SocketArgs } from './daemon-connect.js';

interface LockstartArgs extends SocketArgs {
  s: string;
  wait: boolean;
  json: boolean;
}

export function parseLockstartArg(text: string): { lockspace: string; hostId: number | 'auto'; path: string; offsetBytes: number } {
  const parts = splitColons(text);
  if (parts.length !== 4 || parts[0] === '' || parts[2] === '') {
    throw new CliError('BAD_ARGUMENT', `expected -s LOCKSPACE:HOST_ID|auto:PATH:OFFSET, got "${text}"`, EXIT_USAGE);
  }
  const [lockspace, hostIdText, path, offset] = parts as [string, string, string, string];
  return {
    lockspace,
    hostId: hostIdText === 'auto' ? 'auto' : parseHostId(hostIdText, false),
    path,
    offsetBytes: parseBytes(offset, 'OFFSET'),
  };
}

export const lockstartCommand: CommandModule<object, LockstartArgs> = {
  command: 'lockstart',
  describe: 'join a lockspace (the daemon renews its delta lease from then on)',
  builder: (y) =>
    withSocketOption(y)
      .option('s', { type: 'string', demandOption: true, describe: 'lockspace LS:HOST_ID|auto:PATH:OFFSET' })
      .option('wait', { type: 'boolean', default: false, describe: 'return only when joined (or failed)' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (argv) => {
    const target = parseLockstartArg(argv.s);
    const client = await connectDaemon(argv);
    const line = progressLine();
    // The daemon reports phase changes; the line keeps counting the seconds in between.
    let last: { progress: ProgressInfo; receivedAtMs: number } | undefined;
    const render = (): void => {
      if (last === undefined) return;
      const { progress, receivedAtMs } = last;
      const expected = progress.expectedSeconds === undefined ? '' : ` (up to ${progress.expectedSeconds} s)`;
      const elapsed = progress.elapsedSeconds + (Date.now() - receivedAtMs) / 1000;
      line.show(`${progress.lockspace}: ${progress.message}${expected} ... ${Math.round(elapsed)} s`);
    };
    const ticker = setInterval(render, 1000);
    try {
      const { lockspace } = await client.lockstart(target.lockspace, target.hostId, resolve(target.path), target.offsetBytes, {
        wait: argv.wait,
        onProgress: (progress) => {
          last = { progress, receivedAtMs: Date.now() };
          render();
        },
      });
      line.done();
      if (argv.json) printJson(lockspace);
      else if (lockspace.state === 'joined') printLine(`lockspace ${lockspace.lockspace} joined: host_id ${lockspace.hostId} generation ${lockspace.generation}`);
      else printLine(`lockspace ${lockspace.lockspace} ${lockspace.state}${lockspace.hostId === null ? '' : ` (host_id ${lockspace.hostId})`}`);
    } finally {
      clearInterval(ticker);
      line.done();
      client.close();
    }
  },
};

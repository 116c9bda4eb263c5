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
import { SOCKET_ENV, type ProgressInfo } from '@leasehold/client';
import { COMMON_OPTIONS, parseLvmArgs } from './lvm/getopt.js';
import { runLvmCommand } from './lvm/run.js';
import { openSession } from './lvm/session.js';
import { lockstartVgs } from './lvm/shared-start.js';
import { connectDaemon, progressLine, withSocketOption, type SocketArgs } from './daemon-connect.js';

interface LockstartArgs extends SocketArgs {
  s: string | undefined;
  vg: string[] | undefined;
  config: string | undefined;
  devices: string[] | undefined;
  wait: boolean;
  json: boolean;
}

export function parseLockstartArg(text: string): {
  lockspace: string;
  hostId: number | 'auto';
  path: string;
  offsetBytes: number;
} {
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
  command: 'lockstart [vg..]',
  describe: 'join a lockspace (the daemon renews its delta lease from then on)',
  builder: (y) =>
    withSocketOption(y)
      .positional('vg', {
        type: 'string',
        array: true,
        describe: 'shared VGs whose lockspace to join (none and no -s: every shared VG found)',
      })
      .option('s', { type: 'string', describe: 'lockspace LS:HOST_ID|auto:PATH:OFFSET' })
      .option('config', {
        type: 'string',
        describe: 'leasehold.conf for the VG forms (devices, io_timeout, host_id_file)',
      })
      .option('devices', { type: 'string', array: true, describe: 'devices to scan for shared VGs' })
      .option('wait', { type: 'boolean', default: false, describe: 'return only when joined (or failed)' })
      .option('json', { type: 'boolean', default: false }),
  handler: async (argv) => {
    if (argv.s === undefined) {
      await startSharedVgs(argv);
      return;
    }
    if ((argv.vg ?? []).length > 0)
      throw new CliError('BAD_ARGUMENT', 'give either -s LOCKSPACE:... or VG names, not both', EXIT_USAGE);
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
      const { lockspace } = await client.lockstart(
        target.lockspace,
        target.hostId,
        resolve(target.path),
        target.offsetBytes,
        {
          wait: argv.wait,
          onProgress: (progress) => {
            last = { progress, receivedAtMs: Date.now() };
            render();
          },
        },
      );
      line.done();
      if (argv.json) printJson(lockspace);
      else if (lockspace.state === 'joined')
        printLine(
          `lockspace ${lockspace.lockspace} joined: host_id ${lockspace.hostId} generation ${lockspace.generation}`,
        );
      else
        printLine(
          `lockspace ${lockspace.lockspace} ${lockspace.state}${lockspace.hostId === null ? '' : ` (host_id ${lockspace.hostId})`}`,
        );
    } finally {
      clearInterval(ticker);
      line.done();
      client.close();
    }
  },
};

/** Shared-VG words for the lvm-style session (the device scan and leasehold.conf). */
export function sessionWords(argv: { config: string | undefined; devices: string[] | undefined }): string[] {
  return [
    ...(argv.config === undefined ? [] : ['--config', argv.config]),
    ...(argv.devices ?? []).flatMap((d) => ['--devices', d]),
  ];
}

/** `lockstart [VG...]`: the lockspaces of shared VGs, with the progress line on a terminal. */
async function startSharedVgs(argv: LockstartArgs): Promise<void> {
  if (argv.socket !== undefined) process.env[SOCKET_ENV] = argv.socket;
  const line = progressLine();
  let last: { progress: ProgressInfo; receivedAtMs: number } | undefined;
  const render = (): void => {
    if (last === undefined) return;
    const { progress, receivedAtMs } = last;
    const expected = progress.expectedSeconds === undefined ? '' : ` (up to ${progress.expectedSeconds} s)`;
    line.show(
      `${progress.lockspace}: ${progress.message}${expected} ... ${Math.round(progress.elapsedSeconds + (Date.now() - receivedAtMs) / 1000)} s`,
    );
  };
  const ticker = setInterval(render, 1000);
  try {
    await runLvmCommand(async () => {
      const words = sessionWords(argv);
      const session = openSession('lockstart', words, parseLvmArgs('lockstart', words, COMMON_OPTIONS));
      await lockstartVgs(session, argv.vg ?? [], {
        wait: argv.wait,
        onProgress: (progress) => {
          last = { progress, receivedAtMs: Date.now() };
          render();
        },
      });
    });
  } finally {
    clearInterval(ticker);
    line.done();
  }
}

/**
 * `leasehold direct request -r LS:RES:PATH:OFFSET[:LVER] --lver N --force-mode none|kill|graceful
 *   [--next-lver] [-s LS:HOSTID:PATH:OFFSET [-o IO_TIMEOUT] [--watchdog-fire-timeout S] [--name N]]`
 *
 * Asks the holder of a resource lease to give it up (sanlock's `client request`, §6): writes the
 * request record {lver, force mode} into the lease's sector 1. The holder acts when the requested
 * lver is greater than the lver it holds: kill → its user gets SIGKILL, graceful → SIGTERM (or its
 * killpath). A free lease needs nothing: nothing is written. --lver 0 --force-mode none clears the
 * request. --next-lver asks for the leader's lver + 1.
 *
 * The holder only looks at the request record when another host pings it: a bit in that host's
 * delta lease, written by its renewals. So with -s we join the lockspace (as HOSTID; joining takes
 * 2 x io_timeout, longer if the host_id was not left cleanly), write the request, keep renewing with
 * the owner's bit set for set_bitmap_seconds (6 x io_timeout), and leave. Without -s the record is
 * written but nobody tells the owner; it sees it the next time any host pings it.
 *
 * Output (stdout):
 *   request LS:RES lver 6 mode kill written; owner host 1
 *   pinged host 1 for 6 s
 *   lease LS:RES is free: nothing to request
 */
import type { Argv, CommandModule } from 'yargs';
import { FORCE_MODE_GRACEFUL, FORCE_MODE_KILL, FORCE_MODE_NONE } from '@leasehold/ondisk';
import {
  acquireDeltaLease,
  requestLease,
  runRenewalLoop,
  setBitmapSeconds,
  type ForceMode,
  type HeldDeltaLease,
} from '@leasehold/lease';
import { parseResourceArg } from '../args.js';
import { CliError, describeError, EXIT_USAGE } from '../cli-error.js';
import { openDevice } from '../device.js';
import { printError, printLine } from '../output.js';
import { realClock } from '../real-clock.js';
import { joinConfig, locationOf, openDevices, status, withJoinOptions, type JoinOptionArgs } from './direct-run.js';

interface RequestArgs {
  r: string;
  lver?: string;
  'force-mode': string;
  'next-lver': boolean;
  s?: string;
  o: number;
  'watchdog-fire-timeout': number;
  name?: string;
}

const FORCE_MODES: Record<string, ForceMode> = {
  none: FORCE_MODE_NONE,
  kill: FORCE_MODE_KILL,
  graceful: FORCE_MODE_GRACEFUL,
};
/** Renewals after the ping window so the last one carrying the bit is sampled by the owner. */
const EXTRA_RENEWALS_AFTER_PING = 1;

export const directRequestCommand: CommandModule<object, RequestArgs> = {
  command: 'request',
  describe:
    'ask the holder of a resource lease to give it up (write the request record; with -s, also ping the holder)',
  builder: (y) => {
    const withJoin = withJoinOptions(y as unknown as Argv<object>, {
      required: false,
      describe:
        'join this lockspace as LS:HOSTID:PATH:OFFSET to ping the holder; the holder only looks at requests when a host pings it (without -s the record is written, unannounced)',
    }) as unknown as Argv<RequestArgs>;
    return withJoin
      .option('r', { type: 'string', demandOption: true, describe: 'resource lease LS:RES:PATH:OFFSET[:LVER]' })
      .option('lver', {
        type: 'string',
        describe: 'the lease version asked for: the holder acts if it is greater than the lver it holds',
      })
      .option('force-mode', {
        type: 'string',
        choices: Object.keys(FORCE_MODES),
        demandOption: true,
        describe: 'what the holder is asked to do',
      })
      .option('next-lver', {
        type: 'boolean',
        default: false,
        describe: "ask for the leader's current lver + 1 (no --lver needed)",
      })
      .example(
        '$0 direct request -r LS:vm1:/dev/sdb:1048576 --next-lver --force-mode graceful -s LS:3:/dev/sdb:0 -o 1',
        'ask the holder of vm1 to stop',
      );
  },
  handler: async (argv) => {
    const resource = parseResourceArg(argv.r);
    const lverText = argv.lver ?? (resource.lver === undefined ? undefined : String(resource.lver));
    if (lverText === undefined && !argv['next-lver'])
      throw new CliError('BAD_ARGUMENT', 'give --lver N (or LVER in -r, or --next-lver)', EXIT_USAGE);
    if (lverText !== undefined && !/^\d+$/.test(lverText))
      throw new CliError('BAD_ARGUMENT', `--lver must be a number, got "${lverText}"`, EXIT_USAGE);
    const lver = lverText === undefined ? 0n : BigInt(lverText);
    const forceMode = FORCE_MODES[argv['force-mode']] ?? FORCE_MODE_NONE;
    const options = { lver, forceMode, nextLver: argv['next-lver'] };
    const name = `${resource.spaceName}:${resource.resourceName}`;

    if (argv.s === undefined) {
      const disk = await openDevice(resource.path, { write: true });
      try {
        const result = await requestLease({ disk }, locationOf(resource), options);
        printLine(
          result.written
            ? `request ${name} lver ${result.lver} mode ${argv['force-mode']} written; owner host ${result.ownerId} (not pinged: no -s)`
            : `lease ${name} is free: nothing to request`,
        );
      } finally {
        await disk.close().catch(() => undefined);
      }
      return;
    }

    const { target, config } = joinConfig(argv as JoinOptionArgs & { s: string });
    if (target.spaceName !== resource.spaceName) {
      throw new CliError(
        'BAD_ARGUMENT',
        `the resource belongs to lockspace ${resource.spaceName}, but -s joins ${target.spaceName}`,
        EXIT_USAGE,
      );
    }
    const devices = await openDevices(target.path, resource.path);
    let delta: HeldDeltaLease | undefined;
    let exitStatus = 0;
    try {
      delta = await acquireDeltaLease(devices.lockspace, realClock, config);
      status(
        `joined lockspace ${config.spaceName} host ${config.hostId} gen ${delta.generation} name ${config.hostName}`,
      );
      const result = await requestLease({ disk: devices.resource, delta }, locationOf(resource), options);
      if (!result.written) {
        printLine(`lease ${name} is free: nothing to request`);
      } else {
        printLine(
          `request ${name} lver ${result.lver} mode ${argv['force-mode']} written; owner host ${result.ownerId}`,
        );
        if (result.pinged) await keepPinging(delta, Number(result.ownerId));
      }
    } catch (error) {
      const { line, exitStatus: failed } = describeError(error);
      printError(line);
      exitStatus = failed;
    } finally {
      if (delta !== undefined && !delta.lost && !delta.released) await delta.release().catch(() => undefined);
      await devices.close();
    }
    // Exit now: pending renewal-deadline timers would otherwise keep the process alive for up to 8N.
    process.exit(exitStatus);
  },
};

/** Renews for set_bitmap_seconds (our renewals write the owner's bit), plus one more, then stops. */
async function keepPinging(delta: HeldDeltaLease, ownerHostId: number): Promise<void> {
  const ioTimeoutSeconds = delta.config.ioTimeoutSeconds;
  const windowSeconds = setBitmapSeconds(ioTimeoutSeconds) + EXTRA_RENEWALS_AFTER_PING * 2 * ioTimeoutSeconds;
  const stop = new AbortController();
  const loop = runRenewalLoop(delta, realClock, {}, stop.signal);
  await realClock.sleep(windowSeconds);
  stop.abort();
  const outcome = await loop;
  if (outcome === 'lost') throw new CliError('LEASE_LOST', 'our delta lease was lost while pinging the owner');
  printLine(`pinged host ${ownerHostId} for ${windowSeconds} s`);
}

/**
 * `leasehold direct join -s LS:HOSTID:PATH:OFFSET [-o IO_TIMEOUT] [--watchdog-fire-timeout SECONDS]
 *   [--name HOSTNAME] [--set-event HOSTID:EVENT:DATA[:GEN] ...]`
 *
 * Joins a lockspace in the foreground, without a daemon: acquires the host_id's delta lease (sanlock's
 * add_lockspace), renews it every 2 x io_timeout with the real monotonic clock, and prints what it
 * sees: other hosts' liveness changes and events addressed to us. SIGINT/SIGTERM release the lease
 * (timestamp 0) and exit 0. A busy host_id or a lost lease exits non-zero with the reason.
 *
 * Output lines (stable, for scripts and interop tests):
 *   joined lockspace LS host 2 gen 3 name <name>
 *   host 1 LIVE gen 1 name <name>
 *   event from host 1 gen 1: event 5 data 7
 *   sent event 5 data 7 to host 1
 *   released lockspace LS host 2 gen 3
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { CommandModule } from 'yargs';
import { truncateName } from '@leasehold/ondisk';
import {
  acquireDeltaLease,
  DEFAULT_IO_TIMEOUT_SECONDS,
  DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
  isDeltaError,
  MAX_IO_TIMEOUT_SECONDS,
  runRenewalLoop,
  type DeltaEvent,
  type DeltaLease,
  type HostChange,
} from '@leasehold/lease';
import { parseLockspaceArg } from '../args.js';
import { CliError, describeError, EXIT_USAGE } from '../cli-error.js';
import { openDevice } from '../device.js';
import { printError, printLine } from '../output.js';
import { realClock } from '../real-clock.js';

interface JoinArgs {
  s: string;
  o: number;
  'watchdog-fire-timeout': number;
  name?: string;
  'set-event'?: string[];
}

/** An event to send after joining: --set-event HOSTID:EVENT:DATA[:GEN]. */
interface EventToSend {
  hostId: number;
  event: bigint;
  data: bigint;
  generation: bigint;
}

const EXIT_SUCCESS = 0;
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export const directJoinCommand: CommandModule<object, JoinArgs> = {
  command: 'join',
  describe:
    'join a lockspace in the foreground (acquire and renew a host_id delta lease) and print host changes and events',
  builder: (y) =>
    y
      .option('s', { type: 'string', demandOption: true, describe: 'lockspace LS:HOSTID:PATH:OFFSET' })
      .option('o', {
        type: 'number',
        default: DEFAULT_IO_TIMEOUT_SECONDS,
        describe: 'io_timeout seconds (renewal every 2 x this)',
      })
      .option('watchdog-fire-timeout', {
        type: 'number',
        default: DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
        describe: 'W seconds; every host of the lockspace must use the same value',
      })
      .option('name', {
        type: 'string',
        describe: 'unique host name (default: <random uuid>.<nodename>, at most 48 bytes)',
      })
      .option('set-event', {
        type: 'string',
        array: true,
        describe: 'after joining, send HOSTID:EVENT:DATA[:GEN] (repeatable; sent one after the other)',
      }),
  handler: async (argv) => {
    const target = parseLockspaceArg(argv.s);
    const ioTimeoutSeconds = argv.o;
    if (!Number.isInteger(ioTimeoutSeconds) || ioTimeoutSeconds < 1 || ioTimeoutSeconds > MAX_IO_TIMEOUT_SECONDS) {
      throw new CliError(
        'BAD_ARGUMENT',
        `-o must be 1-${MAX_IO_TIMEOUT_SECONDS} seconds, got ${ioTimeoutSeconds}`,
        EXIT_USAGE,
      );
    }
    const watchdogFireTimeoutSeconds = argv['watchdog-fire-timeout'];
    if (!Number.isFinite(watchdogFireTimeoutSeconds) || watchdogFireTimeoutSeconds < 0) {
      throw new CliError(
        'BAD_ARGUMENT',
        `--watchdog-fire-timeout must be a number of seconds >= 0, got ${watchdogFireTimeoutSeconds}`,
        EXIT_USAGE,
      );
    }
    const eventsToSend = (argv['set-event'] ?? []).map(parseEventArg);
    const hostName = argv.name ?? defaultHostName();

    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);

    const disk = await openDevice(target.path, { write: true });
    let exitStatus = EXIT_SUCCESS;
    try {
      const lease = await acquireDeltaLease(
        disk,
        realClock,
        {
          spaceName: target.spaceName,
          hostId: target.hostId,
          areaOffsetBytes: target.offsetBytes,
          hostName,
          ioTimeoutSeconds,
          watchdogFireTimeoutSeconds,
        },
        { signal: stop.signal },
      );
      printLine(`joined lockspace ${target.spaceName} host ${target.hostId} gen ${lease.generation} name ${hostName}`);
      exitStatus = await renewUntilStopped(lease, eventsToSend, stop.signal);
    } catch (error) {
      const { line, exitStatus: status } = describeError(error);
      printError(line);
      exitStatus = status;
    } finally {
      await disk.close().catch(() => undefined);
    }
    // Exit now: pending renewal-deadline timers would otherwise keep the process alive for up to 8N.
    process.exit(exitStatus);
  },
};

/** Renews until a signal (then releases: exit 0) or until the lease is lost (exit 1). */
async function renewUntilStopped(lease: DeltaLease, eventsToSend: EventToSend[], signal: AbortSignal): Promise<number> {
  const pending = [...eventsToSend];
  const sendPending = (): void => {
    while (pending.length > 0) {
      const next = pending[0]!;
      try {
        lease.setEvent(next.hostId, next.event, next.data, { generation: next.generation });
        printLine(`sent event ${next.event} data ${next.data} to host ${next.hostId}`);
      } catch (error) {
        if (isDeltaError(error) && error.code === 'EVENT_BUSY') return; // the previous one is still being sent
        printError(
          `leasehold: not sending event ${next.event} to host ${next.hostId}: ${describeError(error).line.replace(/^leasehold: /, '')}`,
        );
      }
      pending.shift();
    }
  };
  if (!signal.aborted) sendPending();

  const outcome = await runRenewalLoop(
    lease,
    realClock,
    {
      onRenewed: sendPending,
      onHostChange: (change) => printLine(hostChangeLine(change)),
      onEvent: (event) => printLine(eventLine(event)),
      onRenewalError: (error, sinceSeconds) =>
        printError(
          `leasehold: warning: renewal failed (${sinceSeconds.toFixed(1)} s since the last success): ${error.code}: ${error.message}`,
        ),
      onWarn: (sinceSeconds) =>
        printError(
          `leasehold: warning: no successful renewal for ${sinceSeconds.toFixed(1)} s; the lease is lost at ${8 * lease.config.ioTimeoutSeconds} s`,
        ),
    },
    signal,
  );
  if (outcome === 'lost') {
    const reason = lease.lostError;
    throw reason ?? new CliError('LEASE_LOST', 'the delta lease was lost');
  }
  await lease.release();
  printLine(`released lockspace ${lease.config.spaceName} host ${lease.config.hostId} gen ${lease.generation}`);
  return EXIT_SUCCESS;
}

export function hostChangeLine(change: HostChange): string {
  const { status } = change;
  return `host ${status.hostId} ${status.state} gen ${status.generation} name ${status.hostName}`;
}

export function eventLine(event: DeltaEvent): string {
  const target = event.targetGeneration === 0n ? '' : ` (for gen ${event.targetGeneration})`;
  return `event from host ${event.fromHostId} gen ${event.fromGeneration}: event ${event.event} data ${event.data}${target}`;
}

/** §4: `<random lowercase uuid>.<nodename>`, truncated to 48 bytes; new at every start. */
export function defaultHostName(): string {
  return truncateName(`${randomUUID()}.${hostname()}`);
}

function parseEventArg(text: string): EventToSend {
  const parts = text.split(':');
  const numbers = parts.map((part) => (/^\d+$/.test(part) ? BigInt(part) : undefined));
  if ((parts.length !== 3 && parts.length !== 4) || numbers.some((n) => n === undefined)) {
    throw new CliError(
      'BAD_ARGUMENT',
      `--set-event must be HOSTID:EVENT:DATA[:GEN] with decimal numbers, got "${text}"`,
      EXIT_USAGE,
    );
  }
  const [hostId, event, data, generation = 0n] = numbers as bigint[];
  if (event === 0n)
    throw new CliError('BAD_ARGUMENT', `--set-event: event 0 means "no event", got "${text}"`, EXIT_USAGE);
  return { hostId: Number(hostId), event: event!, data: data!, generation };
}

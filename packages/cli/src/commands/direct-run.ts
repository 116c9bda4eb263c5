/**
 * `leasehold direct run -s LS:HOSTID:PATH:OFFSET -r LS:RES:PATH:OFFSET [--shared] [--wait SECONDS]
 *   [-o IO_TIMEOUT] [--watchdog-fire-timeout SECONDS] [--name HOSTNAME] -- COMMAND [ARGS...]`
 *
 * Runs COMMAND while holding a resource lease, without a daemon (like `sanlock client command`, but
 * in this process): joins the lockspace (delta lease, renewed every 2 x io_timeout), acquires the
 * resource lease (exclusive, or shared with --shared), runs COMMAND, then releases the lease and
 * leaves the lockspace. Exits with COMMAND's status (128 + N when it was killed by signal N).
 *
 * While COMMAND runs:
 *   - if the delta lease is lost (no renewal for 8 x io_timeout), COMMAND gets SIGTERM, then SIGKILL
 *     after sanlock's kill grace (W >= 60: 40 s, W >= 30: 15 s, else at once): other hosts take the
 *     lease 8 x io_timeout + W after our last renewal, and COMMAND must be gone by then;
 *   - a request for a newer lver aimed at our lease (`sanlock client request`, `leasehold direct
 *     request`) makes us act: force mode kill → SIGKILL, graceful → SIGTERM;
 *   - SIGINT/SIGTERM/SIGHUP to us are passed on to COMMAND.
 * If the lease is refused, the holder is named (host_id, name, generation, state, when it last
 * renewed) and we exit 123 without running COMMAND (121: another failure; see docs/cli.md). --wait SECONDS retries (and waits for a
 * possibly dead owner) that long; 0 (the default) fails at once.
 *
 * Status lines go to stderr (COMMAND owns stdout):
 *   leasehold: joined lockspace LS host 2 gen 3 name <name>
 *   leasehold: acquired LS:RES exclusive lver 4
 *   leasehold: request from host 1 for lver 5 (kill): sending SIGKILL
 *   leasehold: lease lost (LEASE_LOST): sending SIGTERM
 *   leasehold: released LS:RES (released)
 *   leasehold: left lockspace LS host 2 gen 3
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import type { Disk } from '@leasehold/disk';
import {
  acquireDeltaLease,
  acquireLease,
  DEFAULT_IO_TIMEOUT_SECONDS,
  DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
  isPaxosError,
  MAX_IO_TIMEOUT_SECONDS,
  releaseLease,
  RequestWatcher,
  runRenewalLoop,
  type DeltaLeaseConfig,
  type HeldDeltaLease,
  type HeldLease,
  type LeaseRequestNotice,
  type PaxosContext,
  type PaxosErrorCode,
  type ResourceLocation,
} from '@leasehold/lease';
import { parseLockspaceArg, parseResourceArg, type LockspaceArg, type ResourceArg } from '../args.js';
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_SIGNAL_BASE } from '@leasehold/errors';
import { CliError, describeError, describeRunError, EXIT_USAGE } from '../cli-error.js';
import { openDevice } from '../device.js';
import { printError } from '../output.js';
import { realClock } from '../real-clock.js';
import { defaultHostName } from './direct-join.js';
import { holderText, waitingLine } from './waiting.js';

/** Options every `direct` command that joins a lockspace takes. */
export interface JoinOptionArgs {
  s: string;
  o: number;
  'watchdog-fire-timeout': number;
  name?: string;
}

interface RunArgs extends JoinOptionArgs {
  r: string;
  shared: boolean;
  wait: number;
  '--'?: Array<string | number>;
}

/** Refusals worth retrying while --wait allows (the lease is busy, not broken). */
const RETRYABLE: ReadonlySet<PaxosErrorCode> = new Set<PaxosErrorCode>([
  'ACQUIRE_IDLIVE',
  'ACQUIRE_OWNED',
  'ACQUIRE_OTHER',
  'ACQUIRE_SHRETRY',
  'SHARED_HELD',
  'OWNER_NOWAIT',
]);
/** Pause between attempts while waiting for a busy lease. */
const RETRY_INTERVAL_SECONDS = 1;
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** sanlock's kill_grace: SIGTERM (or killpath) this long before SIGKILL, by watchdog_fire_timeout. */
const KILL_GRACE_LONG_SECONDS = 40;
const KILL_GRACE_SHORT_SECONDS = 15;
const KILL_GRACE_LONG_MIN_W = 60;
const KILL_GRACE_SHORT_MIN_W = 30;

export function withJoinOptions<T>(
  y: Argv<T>,
  lockspace: { required: boolean; describe: string } = {
    required: true,
    describe: 'lockspace to join: LS:HOSTID:PATH:OFFSET',
  },
): Argv<T & JoinOptionArgs> {
  return y
    .option('s', { type: 'string', demandOption: lockspace.required, describe: lockspace.describe })
    .option('o', {
      type: 'number',
      default: DEFAULT_IO_TIMEOUT_SECONDS,
      describe: 'io_timeout seconds (renewal every 2 x this)',
    })
    .option('watchdog-fire-timeout', {
      type: 'number',
      default: DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
      describe: 'W seconds; every host of the lockspace (sanlock ones too) must use the same value',
    })
    .option('name', {
      type: 'string',
      describe: 'unique host name (default: <random uuid>.<nodename>)',
    }) as unknown as Argv<T & JoinOptionArgs>;
}

/** The delta-lease config from -s/-o/--watchdog-fire-timeout/--name, validated. */
export function joinConfig(argv: JoinOptionArgs): { target: LockspaceArg; config: DeltaLeaseConfig } {
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
  return {
    target,
    config: {
      spaceName: target.spaceName,
      hostId: target.hostId,
      areaOffsetBytes: target.offsetBytes,
      hostName: argv.name ?? defaultHostName(),
      ioTimeoutSeconds,
      watchdogFireTimeoutSeconds,
    },
  };
}

export function locationOf(resource: ResourceArg): ResourceLocation {
  return { spaceName: resource.spaceName, resourceName: resource.resourceName, offsetBytes: resource.offsetBytes };
}

export function status(line: string): void {
  printError(`leasehold: ${line}`);
}

/** Opens the devices of the lockspace and of the resource (one handle when they are the same path). */
export async function openDevices(
  lockspacePath: string,
  resourcePath: string,
): Promise<{ lockspace: Disk; resource: Disk; close(): Promise<void> }> {
  const lockspace = await openDevice(lockspacePath, { write: true });
  const resource =
    resourcePath === lockspacePath
      ? lockspace
      : await openDevice(resourcePath, { write: true }).catch(async (error: unknown) => {
          await lockspace.close();
          throw error;
        });
  return {
    lockspace,
    resource,
    close: async () => {
      await lockspace.close().catch(() => undefined);
      if (resource !== lockspace) await resource.close().catch(() => undefined);
    },
  };
}

export function killGraceSeconds(watchdogFireTimeoutSeconds: number): number {
  if (watchdogFireTimeoutSeconds >= KILL_GRACE_LONG_MIN_W) return KILL_GRACE_LONG_SECONDS;
  if (watchdogFireTimeoutSeconds >= KILL_GRACE_SHORT_MIN_W) return KILL_GRACE_SHORT_SECONDS;
  return 0;
}

export const directRunCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'join a lockspace, hold a resource lease while COMMAND runs (after --), release, leave; no daemon',
  builder: (y) =>
    withJoinOptions(y)
      .parserConfiguration({ 'populate--': true })
      .option('r', { type: 'string', demandOption: true, describe: 'resource lease LS:RES:PATH:OFFSET (LS as in -s)' })
      .option('shared', {
        type: 'boolean',
        default: false,
        describe: 'hold the lease shared (several hosts may) instead of exclusive',
      })
      .option('wait', {
        type: 'number',
        default: 0,
        describe: 'seconds to keep trying while the lease is held elsewhere (0: fail at once)',
      })
      .example(
        '$0 direct run -s LS:2:/dev/sdb:0 -r LS:vm1:/dev/sdb:1048576 -o 1 -- ./start-vm.sh',
        'run a command while holding vm1',
      ) as unknown as Argv<RunArgs>,
  handler: async (argv) => {
    const command = (argv['--'] ?? []).map(String);
    if (command.length === 0) throw new CliError('BAD_ARGUMENT', 'give the command to run after --', EXIT_USAGE);
    const { target, config } = joinConfig(argv);
    const resource = parseResourceArg(argv.r);
    if (resource.spaceName !== target.spaceName) {
      throw new CliError(
        'BAD_ARGUMENT',
        `the resource belongs to lockspace ${resource.spaceName}, but -s joins ${target.spaceName}`,
        EXIT_USAGE,
      );
    }
    if (!Number.isFinite(argv.wait) || argv.wait < 0)
      throw new CliError('BAD_ARGUMENT', `--wait must be seconds >= 0, got ${argv.wait}`, EXIT_USAGE);
    process.exit(await runHoldingLease(config, target, resource, command, argv.shared, argv.wait));
  },
};

async function runHoldingLease(
  config: DeltaLeaseConfig,
  target: LockspaceArg,
  resource: ResourceArg,
  command: string[],
  shared: boolean,
  waitSeconds: number,
): Promise<number> {
  const stopping = new AbortController();
  const onSignalBeforeStart = (): void => stopping.abort();
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignalBeforeStart);
  const devices = await openDevices(target.path, resource.path);
  let delta: HeldDeltaLease | undefined;
  let ctx: PaxosContext | undefined;
  let held: HeldLease | undefined;
  const renewals = new AbortController();
  let renewing: Promise<unknown> = Promise.resolve();
  try {
    delta = await acquireDeltaLease(devices.lockspace, realClock, config, { signal: stopping.signal });
    status(
      `joined lockspace ${config.spaceName} host ${config.hostId} gen ${delta.generation} name ${config.hostName}`,
    );
    ctx = { disk: devices.resource, clock: realClock, random: { next: Math.random }, delta };

    let child: ChildProcess | undefined;
    const watcher = new RequestWatcher(
      { disk: devices.resource, delta },
      () => (held === undefined ? [] : [held]),
      (notice) => actOnRequest(notice, child),
    );
    const lease = delta;
    renewing = runRenewalLoop(
      lease,
      realClock,
      {
        onPing: (fromHostId) =>
          void watcher
            .onPings([fromHostId])
            .catch((error: unknown) => status(`examining requests failed: ${describeError(error).line}`)),
        onRenewalError: (error, sinceSeconds) =>
          status(
            `warning: renewal failed (${sinceSeconds.toFixed(1)} s since the last success): ${error.code}: ${error.message}`,
          ),
        onLost: (error) => {
          status(`lease lost (${error.code}): ${error.message}`);
          if (child !== undefined) stopChild(child, config.watchdogFireTimeoutSeconds);
        },
      },
      renewals.signal,
    );

    held = await acquireWithRetries(ctx, locationOf(resource), shared, waitSeconds, stopping.signal);
    status(`acquired ${resource.spaceName}:${resource.resourceName} ${held.mode} lver ${held.lver}`);

    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignalBeforeStart);
    child = spawn(command[0]!, command.slice(1), { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => void child?.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    return await childExit(child);
  } catch (error) {
    // Before the command started: 121-124 (123 held elsewhere); after: its own spawn failure.
    const { line, exitStatus } = error instanceof CliError ? describeError(error) : describeRunError(error);
    printError(line);
    return exitStatus;
  } finally {
    if (held !== undefined && ctx !== undefined) {
      const outcome = await releaseLease(ctx, held).catch(
        (error: unknown) => `not released: ${describeError(error).line}`,
      );
      held = undefined;
      status(`released ${resource.spaceName}:${resource.resourceName} (${outcome})`);
    }
    renewals.abort();
    await renewing;
    if (delta !== undefined && !delta.lost && !delta.released) {
      await delta.release().then(
        () => status(`left lockspace ${config.spaceName} host ${config.hostId} gen ${delta?.generation}`),
        (error: unknown) => status(`leaving the lockspace failed: ${describeError(error).line}`),
      );
    }
    await devices.close();
  }
}

/**
 * Tries to acquire until it works or --wait runs out. Each attempt may itself wait for a possibly
 * dead owner's deadline within what is left. While it waits it says for whom (on a terminal, one
 * line kept up to date; otherwise one line). Throws the last refusal (it names the holder).
 */
async function acquireWithRetries(
  ctx: PaxosContext,
  location: ResourceLocation,
  shared: boolean,
  waitSeconds: number,
  signal: AbortSignal,
): Promise<HeldLease> {
  const startedAtSeconds = realClock.nowSeconds();
  const line = waitingLine();
  try {
    for (;;) {
      const remainingSeconds = Math.max(0, waitSeconds - (realClock.nowSeconds() - startedAtSeconds));
      try {
        return await acquireLease(ctx, location, {
          mode: shared ? 'shared' : 'exclusive',
          waitSeconds: remainingSeconds,
          signal,
        });
      } catch (error) {
        if (!isPaxosError(error) || !RETRYABLE.has(error.code)) throw error;
        const waitedSeconds = realClock.nowSeconds() - startedAtSeconds;
        const left = waitSeconds - waitedSeconds;
        if (left < RETRY_INTERVAL_SECONDS || error.code === 'OWNER_NOWAIT' || signal.aborted) throw error;
        const holders = (error.details.holders ?? []).map((holder) => holderText(holder));
        line.show(
          `waiting for ${location.spaceName}:${location.resourceName} (${shared ? 'SH' : 'EX'}), held by ${holders.length === 0 ? 'another host' : holders.join('; ')}`,
          waitedSeconds,
          waitSeconds,
        );
        await realClock.sleep(RETRY_INTERVAL_SECONDS);
      }
    }
  } finally {
    line.done();
  }
}

function actOnRequest(notice: LeaseRequestNotice, child: ChildProcess | undefined): void {
  const signal: NodeJS.Signals = notice.action === 'kill' ? 'SIGKILL' : 'SIGTERM';
  status(
    `request from host ${notice.fromHostIds.join(',')} for lver ${notice.requestLver} (${notice.action}): sending ${signal}`,
  );
  child?.kill(signal);
}

/** SIGTERM now, SIGKILL after the kill grace if it is still running. */
function stopChild(child: ChildProcess, watchdogFireTimeoutSeconds: number): void {
  const graceSeconds = killGraceSeconds(watchdogFireTimeoutSeconds);
  status(`sending SIGTERM${graceSeconds > 0 ? `, SIGKILL in ${graceSeconds} s` : ' and SIGKILL'}`);
  child.kill('SIGTERM');
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  if (graceSeconds === 0) kill();
  else void realClock.sleep(graceSeconds).then(kill);
}

function childExit(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          'COMMAND_FAILED',
          `cannot run the command: ${error.message}`,
          error.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE,
        ),
      ),
    );
    child.on('exit', (code, signal) => {
      if (signal !== null) {
        status(`command killed by ${signal}`);
        resolve(EXIT_SIGNAL_BASE + (constants.signals[signal] ?? 0));
      } else {
        resolve(code ?? 1);
      }
    });
  });
}

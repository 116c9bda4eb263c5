/**
 * §4 renew step 4: the renewal loop of one held delta lease. Renew once 2N have passed since the last
 * success; after a failure retry every 0.5 s; warn at 6N without success; at 8N declare the lease
 * lost and stop writing. RENEW_OWNER / RENEW_DIFF lose it at once (our sector is not ours any more).
 * Host state changes, events and pings are reported to handlers so a CLI or daemon can act on them.
 */
import type { Clock } from '../clock.js';
import { silentLogger, type Logger } from '../logger.js';
import { idRenewalSeconds, idRenewalWarnSeconds } from '../timeouts.js';
import { sleepUnlessAborted } from './abortable-sleep.js';
import { deltaDeadlineSeconds } from './paxos-view.js';
import type { DeltaErrorShape, DeltaEvent, DeltaLease, HostState, HostStatus } from './api.js';
import { leaseExpiredError, toDeltaError, type DeltaError } from './errors.js';

/** §4: a failed renewal is retried after this long. */
export const RENEWAL_RETRY_SECONDS = 0.5;

/** Another host's state or generation changed between two of our renewals. */
export interface HostChange {
  hostId: number;
  /** undefined the first time the host is reported. */
  previousState: HostState | undefined;
  previousGeneration: bigint | undefined;
  status: HostStatus;
}

export interface RenewalLoopHandlers {
  /** After each successful renewal. */
  onRenewed?(lease: DeltaLease): void;
  /** Another host's state or generation changed (our own slot is not reported). */
  onHostChange?(change: HostChange): void;
  /** Received events; when given, the loop takes them from the lease (otherwise they stay for takeEvents()). */
  onEvent?(event: DeltaEvent): void;
  /** Hosts that set our bit; when given, the loop takes them from the lease (otherwise they stay for takePings()). */
  onPing?(fromHostId: number): void;
  /** A renewal failed; it is retried after RENEWAL_RETRY_SECONDS. */
  onRenewalError?(error: DeltaErrorShape, secondsSinceSuccess: number): void;
  /** No successful renewal for 6N (once per outage). */
  onWarn?(secondsSinceSuccess: number): void;
  /** The lease is lost: 8N without success, or our sector changed under us. Nothing is written after this. */
  onLost?(error: DeltaErrorShape): void;
}

export type RenewalLoopOutcome =
  /** The signal aborted the loop; the lease is still held (release it). */
  | 'stopped'
  /** The lease was released by someone else's call. */
  | 'released'
  /** The lease is lost; onLost was called. */
  | 'lost';

export interface RenewalLoopOptions {
  logger?: Logger;
}

type AttemptResult =
  | { kind: 'renewed' }
  | { kind: 'failed'; error: DeltaError }
  | { kind: 'deadline' }
  | { kind: 'aborted' };

/**
 * Renews `lease` until it is lost, released, or `signal` aborts. `clock` must be the clock the lease
 * was acquired with (lastRenewalSeconds is on that clock). Handlers run synchronously after each
 * renewal; one that throws is logged and does not stop the renewals.
 */
export async function runRenewalLoop(
  lease: DeltaLease,
  clock: Clock,
  handlers: RenewalLoopHandlers = {},
  signal?: AbortSignal,
  options: RenewalLoopOptions = {},
): Promise<RenewalLoopOutcome> {
  const logger = options.logger ?? silentLogger;
  const ioTimeoutSeconds = lease.config.ioTimeoutSeconds;
  const logFields = { spaceName: lease.config.spaceName, hostId: lease.config.hostId, generation: lease.generation };
  const reporter = new HostChangeReporter(lease.config.hostId);
  let lastFailureSeconds: number | undefined;
  let warned = false;

  // A throwing handler must not stop the renewals: that would lose the lease for a printing bug.
  const notify = (name: keyof RenewalLoopHandlers, call: () => void): void => {
    try {
      call();
    } catch (error) {
      logger.error(
        { ...logFields, handler: name, error: error instanceof Error ? error.message : String(error) },
        'renewal loop handler failed',
      );
    }
  };

  const lose = (error: DeltaErrorShape): RenewalLoopOutcome => {
    lease.markLost(error);
    notify('onLost', () => handlers.onLost?.(lease.lostError ?? error));
    return 'lost';
  };

  const warn = (sinceSeconds: number): void => {
    logger.warn({ ...logFields, sinceSeconds }, 'delta lease: no successful renewal for 6 x io_timeout');
    notify('onWarn', () => handlers.onWarn?.(sinceSeconds));
  };

  for (;;) {
    if (lease.lost) return lose(lease.lostError ?? expired(lease, clock.nowSeconds()));
    if (lease.released) return 'released';
    if (signal?.aborted) return 'stopped';

    const nowSeconds = clock.nowSeconds();
    const lostAtSeconds = deltaDeadlineSeconds(lease.lastRenewalSeconds, ioTimeoutSeconds);
    if (nowSeconds >= lostAtSeconds) return lose(expired(lease, nowSeconds));

    const dueAtSeconds =
      lastFailureSeconds === undefined
        ? lease.lastRenewalSeconds + idRenewalSeconds(ioTimeoutSeconds)
        : lastFailureSeconds + RENEWAL_RETRY_SECONDS;
    if (nowSeconds < dueAtSeconds) {
      if (!(await sleepUnlessAborted(clock, Math.min(dueAtSeconds, lostAtSeconds) - nowSeconds, signal)))
        return 'stopped';
      continue;
    }

    const warnAtSeconds = lease.lastRenewalSeconds + idRenewalWarnSeconds(ioTimeoutSeconds);
    const renewal = startRenewal(lease);
    let result = await raceUntil(
      renewal,
      clock,
      warned ? lostAtSeconds : Math.min(warnAtSeconds, lostAtSeconds),
      signal,
    );
    if (result.kind === 'deadline' && clock.nowSeconds() < lostAtSeconds) {
      // Still hanging at 6N: warn, and keep waiting until 8N.
      warned = true;
      warn(clock.nowSeconds() - lease.lastRenewalSeconds);
      result = await raceUntil(renewal, clock, lostAtSeconds, signal);
    }
    switch (result.kind) {
      case 'aborted':
        return 'stopped';
      case 'deadline':
        // The renewal is still hanging at 8N: lost. markLost() keeps it from writing if it wakes up.
        return lose(expired(lease, clock.nowSeconds()));
      case 'renewed':
        if (lastFailureSeconds !== undefined) logger.info(logFields, 'delta lease renewal recovered');
        lastFailureSeconds = undefined;
        warned = false;
        notify('onRenewed', () => handlers.onRenewed?.(lease));
        for (const change of reporter.changes(lease.hosts()))
          notify('onHostChange', () => handlers.onHostChange?.(change));
        if (handlers.onEvent)
          for (const event of lease.takeEvents()) notify('onEvent', () => handlers.onEvent?.(event));
        if (handlers.onPing) for (const hostId of lease.takePings()) notify('onPing', () => handlers.onPing?.(hostId));
        break;
      case 'failed': {
        if (lease.lost) return lose(lease.lostError ?? result.error);
        if (lease.released) return 'released';
        lastFailureSeconds = clock.nowSeconds();
        const sinceSeconds = lastFailureSeconds - lease.lastRenewalSeconds;
        logger.warn(
          { ...logFields, code: result.error.code, sinceSeconds },
          `delta lease renewal failed: ${result.error.message}`,
        );
        notify('onRenewalError', () => handlers.onRenewalError?.(result.error, sinceSeconds));
        if (!warned && sinceSeconds >= idRenewalWarnSeconds(ioTimeoutSeconds)) {
          warned = true;
          warn(sinceSeconds);
        }
        break;
      }
    }
  }
}

/** Starts one renew(); its outcome as a value (never rejects). */
function startRenewal(lease: DeltaLease): Promise<AttemptResult> {
  return lease.renew().then(
    (): AttemptResult => ({ kind: 'renewed' }),
    (error: unknown): AttemptResult => ({ kind: 'failed', error: toDeltaError(error, 'delta lease renewal') }),
  );
}

/** The renewal's outcome, or 'deadline' at `deadlineSeconds`, or 'aborted' (an I/O can hang forever). */
async function raceUntil(
  renewal: Promise<AttemptResult>,
  clock: Clock,
  deadlineSeconds: number,
  signal: AbortSignal | undefined,
): Promise<AttemptResult> {
  const deadline = sleepUnlessAborted(clock, Math.max(0, deadlineSeconds - clock.nowSeconds()), signal).then(
    (slept): AttemptResult => (slept ? { kind: 'deadline' } : { kind: 'aborted' }),
  );
  return Promise.race([renewal, deadline]);
}

function expired(lease: DeltaLease, nowSeconds: number): DeltaError {
  return leaseExpiredError(lease.config, lease.generation, nowSeconds - lease.lastRenewalSeconds);
}

/** Remembers each other host's last reported state and generation, and reports differences. */
class HostChangeReporter {
  private readonly known = new Map<number, { state: HostState; generation: bigint }>();

  constructor(private readonly selfHostId: number) {}

  changes(statuses: HostStatus[]): HostChange[] {
    const changes: HostChange[] = [];
    for (const status of statuses) {
      if (status.hostId === this.selfHostId) continue;
      const previous = this.known.get(status.hostId);
      if (previous !== undefined && previous.state === status.state && previous.generation === status.generation)
        continue;
      this.known.set(status.hostId, { state: status.state, generation: status.generation });
      changes.push({
        hostId: status.hostId,
        previousState: previous?.state,
        previousGeneration: previous?.generation,
        status,
      });
    }
    return changes;
  }
}

/**
 * §4 delta lease acquire (Chockler/Malkhi light-weight leases, with sanlock's stretched delays so
 * that ownership of a host_id never changes in less than host_dead_seconds).
 *
 * Two timing rules on top of sanlock's steps, both about being held up (paused, slow or hung I/O)
 * at the wrong moment; sanlock has neither and relies on not being held up:
 *
 * 1. Fresh basis. The step 5 write is based on a read (the "basis": step 1's read, or step 4's
 *    re-read), and it must be on the disk within 2N' of that read. Why: two acquirers A and B that
 *    both read the slot before either wrote it are told apart by step 6 only if the later write
 *    lands before the earlier writer's re-read, which comes 2N' after its write. If B's write lands
 *    more than 2N' after B's read, A may already have re-read, found its own record and started
 *    using the host_id; B then overwrites it, re-reads its own record 2N' later and uses it too,
 *    until A's next renewal finds RENEW_OWNER (the simulator found this with B paused between its
 *    read and its write). With B's write on disk by (B's read) + 2N', and B's read before A's write
 *    (otherwise B would have seen A's record), B's write lands before A's re-read and one of them
 *    fails HOSTID_BUSY. We measure from when the basis read was ISSUED (its data may be that old)
 *    to when the write COMPLETED (it landed by then): a write is not even issued once N' of that
 *    has passed (nothing written: HOSTID_BUSY, try again), and a write that completes later than 2N'
 *    fails the acquire (HOSTID_BUSY: it may have overwritten a host that had just acquired the
 *    host_id; that host loses it at its next renewal, and nobody uses it meanwhile).
 *    (N' is the basis record's io_timeout, which both racers wait when they read the same record.)
 *
 *    The long wait's verdict itself (step 4: "identical after host_dead_seconds, so the owner is
 *    dead") is safe however late its re-read is delivered: the wait starts when the first read
 *    COMPLETED, so the re-read is issued, and samples the disk, at least host_dead_seconds after the
 *    first read sampled it; an identical record means the owner wrote nothing in between, so its
 *    last renewal started before the first sample, and it was reset by then. Only acting on that
 *    re-read later than 2N' after it was issued is unsafe, which rule 1 covers.
 *
 * 2. First renewal in time (first-renewal.ts): from our write on, observers count our silence with
 *    our N, so the acquire (step 6 and the first renewal) must be done within 8N + W of the write;
 *    otherwise it fails with LEASE_LOST.
 */
import type { Disk } from '@leasehold/disk';
import { checkHostId, leadersIdentical, namesEqual, type Geometry, type LeaderRecord } from '@leasehold/ondisk';
import { diskTimestamp, type Clock } from '../clock.js';
import { silentLogger, type Logger } from '../logger.js';
import {
  deltaShortDelaySeconds,
  hostDeadSeconds,
  idRenewalFailSeconds,
  idRenewalSeconds,
  MAX_IO_TIMEOUT_SECONDS,
} from '../timeouts.js';
import { sleepUnlessAborted } from './abortable-sleep.js';
import type { DeltaLeaseConfig } from './api.js';
import { effectiveIoTimeoutSeconds, validateDeltaConfig } from './config.js';
import { acquireTooLateError, DeltaError, toDeltaError } from './errors.js';
import { firstRenewalDeadlines } from './first-renewal.js';
import { HeldDeltaLease } from './held-lease.js';
import { prepareDeltaSector, readDeltaSector, readLockspaceGeometry, writeDeltaSector } from './lockspace-io.js';

/** What the wait for a previous owner has seen so far (after each re-read of the slot). */
export interface DeltaOwnerWait {
  spaceName: string;
  hostId: number;
  /** The owner's host name (the delta lease's name field), generation and io_timeout as last read. */
  ownerName: string;
  ownerGeneration: bigint;
  /** The owner renewed since the wait began (its record changed and is not free): it is alive. */
  renewing: boolean;
  waitedSeconds: number;
  waitSeconds: number;
}

export interface AcquireDeltaLeaseOptions {
  logger?: Logger;
  /** Ends the long wait for a previous owner early, with ABORTED (nothing has been written then). */
  signal?: AbortSignal;
  /** Told during the wait for a previous owner, after each re-read (every io_timeout). */
  onOwnerWait?: (wait: DeltaOwnerWait) => void;
  /**
   * Give up with HOSTID_BUSY as soon as the previous owner is seen renewing, instead of waiting out
   * its host_dead_seconds (it is alive; the wait could only end in HOSTID_BUSY unless it released).
   */
  giveUpWhenRenewed?: boolean;
}

/** Re-reads of the slot during the wait, at most one per this many io_timeouts of the owner. */
const OWNER_WAIT_READ_EVERY_IO_TIMEOUTS = 1;

export async function acquireDeltaLease(
  disk: Disk,
  clock: Clock,
  config: DeltaLeaseConfig,
  options: AcquireDeltaLeaseOptions = {},
): Promise<HeldDeltaLease> {
  validateDeltaConfig(config);
  const logger = options.logger ?? silentLogger;
  const { hostId, spaceName } = config;
  const logFields = { spaceName, hostId, hostName: config.hostName };

  // §2.2: sizes from host 1's record; the host_id must fit them (sanlock -231 otherwise).
  const geometry = await readLockspaceGeometry(disk, config);
  try {
    checkHostId(hostId, geometry);
  } catch (error) {
    throw toDeltaError(error, `host_id ${hostId} in lockspace ${spaceName}`, { spaceName, hostId });
  }

  // §4 step 1: read and verify our sector; N' is the io_timeout found there (ours if 0).
  const foundReadAtSeconds = clock.nowSeconds();
  const found = (await readDeltaSector(disk, geometry, config, hostId)).leader;
  const previousIoTimeoutSeconds = effectiveIoTimeoutSeconds(found.ioTimeoutSeconds, config.ioTimeoutSeconds);
  const shortDelaySeconds = deltaShortDelaySeconds(previousIoTimeoutSeconds);
  checkShortDelayFits(config, previousIoTimeoutSeconds);
  // Rule 1 (fresh basis): the record our write is based on, and when its read was issued.
  let basis = found;
  let basisReadAtSeconds = foundReadAtSeconds;

  if (found.timestamp === 0n) {
    // §4 step 2: free.
    logger.debug({ ...logFields, generation: found.ownerGeneration }, 'delta acquire: host_id is free');
  } else if (namesEqual(found.resourceName, config.hostName)) {
    // §4 step 3: our own name, so our own stale lease: fast reacquire.
    logger.info({ ...logFields, generation: found.ownerGeneration }, 'delta acquire: fast reacquire of our own lease');
  } else {
    // §4 step 4: held by another name. Wait the previous owner's host_dead_seconds (max(8N'+W, 8N')),
    // then it must be unchanged (the owner is dead) or free; otherwise it is alive: busy.
    const waitSeconds = Math.max(
      hostDeadSeconds(previousIoTimeoutSeconds, config.watchdogFireTimeoutSeconds),
      idRenewalFailSeconds(previousIoTimeoutSeconds),
    );
    logger.info(
      { ...logFields, ownerName: found.resourceName, generation: found.ownerGeneration, waitSeconds },
      'delta acquire: host_id held by another name; waiting for it to be dead',
    );
    await waitWatchingOwner(disk, clock, geometry, config, found, waitSeconds, previousIoTimeoutSeconds, options);
    // Issued (and so sampling the disk) at least waitSeconds after the first read sampled it, even
    // if it is delivered late: see the module comment.
    const againReadAtSeconds = clock.nowSeconds();
    const again = (await readDeltaSector(disk, geometry, config, hostId)).leader;
    if (!leadersIdentical(again, found) && again.timestamp !== 0n) {
      throw busyError(config, again, `it was renewed during the ${waitSeconds} s wait, so its owner is alive`);
    }
    basis = again;
    basisReadAtSeconds = againReadAtSeconds;
  }

  // §4 step 5: our record, based on the one read: generation + 1, our name, our io_timeout, a new
  // non-zero timestamp; flags, sizes, names and write_* kept; the bitmap cleared.
  const acquiredAtSeconds = clock.nowSeconds();
  const deadlines = firstRenewalDeadlines(acquiredAtSeconds, config);
  // Rule 1: not even issued on a basis older than N' (half the 2N' it must land within).
  const basisAgeSeconds = acquiredAtSeconds - basisReadAtSeconds;
  if (basisAgeSeconds >= previousIoTimeoutSeconds) {
    throw staleBasisError(
      config,
      basis,
      `we were held up ${basisAgeSeconds.toFixed(1)} s between reading it and writing it (limit: io_timeout ${previousIoTimeoutSeconds} s), ` +
        'so what we read may be out of date: another host may have acquired it meanwhile. Nothing was written',
    );
  }
  const ours = prepareDeltaSector(
    {
      ...basis,
      ownerId: BigInt(hostId),
      ownerGeneration: basis.ownerGeneration + 1n,
      resourceName: config.hostName,
      timestamp: newTimestamp(clock, basis),
      ioTimeoutSeconds: config.ioTimeoutSeconds,
    },
    null,
    geometry,
  );
  await writeDeltaSector(disk, geometry, config, hostId, ours);
  // Rule 1: on the disk within 2N' of the basis read, or we may have overwritten a fresh owner.
  const basisToWrittenSeconds = clock.nowSeconds() - basisReadAtSeconds;
  if (basisToWrittenSeconds > shortDelaySeconds) {
    throw staleBasisError(
      config,
      basis,
      `our write completed ${basisToWrittenSeconds.toFixed(1)} s after the read it was based on (limit: 2 x io_timeout ${shortDelaySeconds} s), ` +
        'so it may have overwritten a host that acquired it meanwhile (that host loses it at its next renewal)',
    );
  }

  // From here on our record is on disk and observers count its silence: steps 6-7 and the first
  // renewal must be done by acquire write + 8N + W (first-renewal.ts), however long we are held up
  // (paused, slow or hung I/O). Past that the acquire fails with LEASE_LOST, and whatever is still
  // in flight writes nothing more.
  let lateError: DeltaError | undefined;
  let lease: HeldDeltaLease | undefined;
  const late = (): DeltaError =>
    (lateError ??= acquireTooLateError(
      config,
      ours.leader.ownerGeneration,
      clock.nowSeconds() - acquiredAtSeconds,
      'it was not complete within 8 x io_timeout + W',
    ));
  const finish = async (): Promise<HeldDeltaLease> => {
    // §4 step 6: sleep 2N' (N' from disk, not ours), re-read: anything different means a racer.
    // Not abortable: our record is on disk now, and only the re-read tells whether it is ours.
    await clock.sleep(shortDelaySeconds);
    if (lateError !== undefined) throw lateError;
    const check = (await readDeltaSector(disk, geometry, config, hostId)).leader;
    if (lateError !== undefined) throw lateError;
    if (!leadersIdentical(check, ours.leader)) {
      throw busyError(config, check, 'another host wrote it while we were acquiring it');
    }
    lease = new HeldDeltaLease({ disk, clock, config, geometry, logger, written: ours.leader, acquiredAtSeconds });
    // §3: a renewal is due 2N after the acquire's write. When the 2N' wait (or a delay) took at least
    // that long, renew now, before the lease is handed out; its deadlines are the acquire's
    // (renewAfterAcquire), not 8N, because the 2N' wait alone may be longer than 8N.
    if (clock.nowSeconds() - acquiredAtSeconds >= idRenewalSeconds(config.ioTimeoutSeconds)) {
      await lease.renewAfterAcquire();
    }
    if (lateError !== undefined) throw lateError;
    return lease;
  };
  const acquired = await withinDeadline(clock, deadlines.doneBySeconds, finish(), () => {
    const error = late();
    // Anything of this acquire still in flight must not write: no renewal, no release.
    lease?.markLost(error);
    return error;
  });
  logger.info({ ...logFields, generation: ours.leader.ownerGeneration }, 'delta lease acquired');
  return acquired;
}

/**
 * `work`, unless `deadlineSeconds` (our clock) comes first: then `onDeadline()` says why it failed
 * (and stops the work from writing); the work goes on in the background, its outcome ignored.
 */
async function withinDeadline<T>(
  clock: Clock,
  deadlineSeconds: number,
  work: Promise<T>,
  onDeadline: () => DeltaError,
): Promise<T> {
  type Outcome = { kind: 'done'; value: T } | { kind: 'failed'; error: unknown } | { kind: 'deadline' };
  const stop = new AbortController();
  const outcome = await Promise.race<Outcome>([
    work.then(
      (value): Outcome => ({ kind: 'done', value }),
      (error: unknown): Outcome => ({ kind: 'failed', error }),
    ),
    sleepUnlessAborted(clock, Math.max(0, deadlineSeconds - clock.nowSeconds()), stop.signal).then(
      (): Outcome => ({ kind: 'deadline' }),
    ),
  ]);
  stop.abort();
  switch (outcome.kind) {
    case 'done':
      return outcome.value;
    case 'failed':
      throw outcome.error;
    case 'deadline':
      throw onDeadline();
  }
}

/**
 * first-renewal.ts: the 2N' wait after our write must leave room for the first renewal before
 * observers may call our new record dead (8N + W with OUR N); if it cannot, writing would only
 * make a host that others already count as dead. Checked before any wait or write.
 */
function checkShortDelayFits(config: DeltaLeaseConfig, previousIoTimeoutSeconds: number): void {
  const shortDelaySeconds = deltaShortDelaySeconds(previousIoTimeoutSeconds);
  const fits = (ioTimeoutSeconds: number): boolean =>
    shortDelaySeconds < firstRenewalDeadlines(0, { ...config, ioTimeoutSeconds }).writeBySeconds;
  if (fits(config.ioTimeoutSeconds)) return;
  const { doneBySeconds } = firstRenewalDeadlines(0, config);
  let smallestFitting = config.ioTimeoutSeconds;
  while (smallestFitting < MAX_IO_TIMEOUT_SECONDS && !fits(smallestFitting)) smallestFitting++;
  throw new DeltaError(
    'INVALID_ARGUMENT',
    `cannot acquire host_id ${config.hostId} in lockspace ${config.spaceName} with io_timeout ${config.ioTimeoutSeconds} and W ` +
      `${config.watchdogFireTimeoutSeconds}: its record on disk has io_timeout ${previousIoTimeoutSeconds}, so the acquire must wait ` +
      `${shortDelaySeconds} s after its write, but other hosts count us as dead ${doneBySeconds} s after it (8 x io_timeout + W). ` +
      `Use an io_timeout of at least ${smallestFitting}, or initialize the lockspace with the io_timeout its hosts use`,
    { spaceName: config.spaceName, hostId: config.hostId },
  );
}

/** §7.4: non-zero, and different from the record it replaces (so observers see a change). */
function newTimestamp(clock: Clock, previous: LeaderRecord): bigint {
  const timestamp = diskTimestamp(clock);
  return timestamp === previous.timestamp ? timestamp + 1n : timestamp;
}

/** Rule 1 (fresh basis) broken: we cannot tell whether we raced another acquirer. Retrying is safe. */
function staleBasisError(config: DeltaLeaseConfig, basis: LeaderRecord, why: string): DeltaError {
  return new DeltaError(
    'HOSTID_BUSY',
    `cannot acquire host_id ${config.hostId} of lockspace ${config.spaceName}: ${why}. Try again.`,
    {
      spaceName: config.spaceName,
      hostId: config.hostId,
      ownerId: basis.ownerId,
      ownerGeneration: basis.ownerGeneration,
      ownerName: basis.resourceName,
    },
  );
}

function busyError(config: DeltaLeaseConfig, found: LeaderRecord, why: string): DeltaError {
  return new DeltaError(
    'HOSTID_BUSY',
    `host_id ${config.hostId} of lockspace ${config.spaceName} is busy: held by "${found.resourceName}" ` +
      `(owner ${found.ownerId}, generation ${found.ownerGeneration}); ${why}. ` +
      'Use another host_id, or stop the host that uses this one and try again.',
    {
      spaceName: config.spaceName,
      hostId: config.hostId,
      ownerId: found.ownerId,
      ownerGeneration: found.ownerGeneration,
      ownerName: found.resourceName,
    },
  );
}

/**
 * The §4 step 4 wait, re-reading the slot every io_timeout so the caller can be told who holds it
 * and whether it is still being renewed (and may give up once it is). The verdict stays the one
 * read after the whole wait; these reads only inform.
 */
async function waitWatchingOwner(
  disk: Disk,
  clock: Clock,
  geometry: Geometry,
  config: DeltaLeaseConfig,
  found: LeaderRecord,
  waitSeconds: number,
  ownerIoTimeoutSeconds: number,
  options: AcquireDeltaLeaseOptions,
): Promise<void> {
  const { spaceName, hostId } = config;
  const aborted = (): DeltaError =>
    new DeltaError('ABORTED', `acquire of host_id ${hostId} in lockspace ${spaceName} aborted while waiting`, {
      spaceName,
      hostId,
    });
  const watching = options.onOwnerWait !== undefined || options.giveUpWhenRenewed === true;
  const stepSeconds = watching ? ownerIoTimeoutSeconds * OWNER_WAIT_READ_EVERY_IO_TIMEOUTS : waitSeconds;
  // From when the first read COMPLETED (see the module comment), however late it was delivered.
  const startedAtSeconds = clock.nowSeconds();
  for (;;) {
    const waitedSeconds = clock.nowSeconds() - startedAtSeconds;
    const leftSeconds = waitSeconds - waitedSeconds;
    if (leftSeconds <= 0) return;
    if (!(await sleepUnlessAborted(clock, Math.min(stepSeconds, leftSeconds), options.signal))) throw aborted();
    if (!watching || clock.nowSeconds() - startedAtSeconds >= waitSeconds) continue;
    const now = (await readDeltaSector(disk, geometry, config, hostId)).leader;
    const renewing = !leadersIdentical(now, found) && now.timestamp !== 0n;
    options.onOwnerWait?.({
      spaceName,
      hostId,
      ownerName: now.timestamp === 0n ? found.resourceName : now.resourceName,
      ownerGeneration: now.ownerGeneration,
      renewing,
      waitedSeconds: clock.nowSeconds() - startedAtSeconds,
      waitSeconds,
    });
    if (renewing && options.giveUpWhenRenewed === true) {
      throw busyError(config, now, 'it is being renewed, so its owner is alive');
    }
  }
}

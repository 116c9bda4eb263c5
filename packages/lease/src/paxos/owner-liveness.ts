/**
 * §5.1 step 3: the leader names another owner. May we run a ballot, that is, is the owner provably
 * gone? Liveness is judged only by change of the owner's delta lease (§3), on our own clock:
 *   - its delta lease is free, belongs to another owner, or has a newer generation: a host_id cannot
 *     change hands in less than host_dead_seconds, so the old holder is dead → ballot;
 *   - it changed since we last looked (or our table's latest sample saw a change) → alive: fail at
 *     once with ACQUIRE_IDLIVE (-243), naming the holder;
 *   - no change for more than host_dead_seconds of the OWNER's io_timeout (8N_owner + W) since we
 *     last saw one → its watchdog has fired → ballot. That silence must be PROVEN (§3, as the delta
 *     layer's provenSilenceSeconds): a read shows the disk as it was at some moment between its
 *     issue and its completion, so an unchanged sector proves silence only up to the moment its
 *     read was ISSUED. sanlock judges `now - wait_start` after the read, which also counts the
 *     read's own latency (unbounded when our I/O hangs, or when we are paused while it is in
 *     flight) as silence: a live owner whose renewal landed just after our read sampled the disk
 *     would be taken over;
 *   - otherwise wait, re-reading the owner's delta sector and the leader every second, as long as
 *     the caller's waitSeconds budget allows (OWNER_NOWAIT, -247, when it does not). A changed
 *     leader restarts the acquire from step 1.
 * Exception (§5.3, §7.8): when the leader was written by another host than its owner and the owner's
 * dblock for this lver has RELEASED set, the owner has let go: ballot without waiting.
 */
import { leadersIdentical, namesEqual, type LeaderRecord } from '@leasehold/ondisk';
import { effectiveIoTimeoutSeconds } from '../delta/config.js';
import { sleepUnlessAborted } from '../delta/abortable-sleep.js';
import type { HostStatus } from '../delta/api.js';
import type { Logger } from '../logger.js';
import { hostDeadSeconds } from '../timeouts.js';
import { PaxosError, toPaxosError, type LeaseHolder } from './errors.js';
import { describeHolder, holderFacts } from './holder-facts.js';
import { isReleased, readHostSector } from './host-sector.js';
import { stillJoined } from './identity.js';
import type { LeaseArea } from './lease-area.js';
import type { PaxosContext } from './types.js';

/** sanlock polls the owner once a second. */
export const OWNER_POLL_INTERVAL_SECONDS = 1;

export interface OwnerWaitOptions {
  /** How long this acquire may wait for a possibly dead owner (Infinity: until its deadline, as sanlock). */
  waitSeconds: number;
  /** sanlock's OWNER_NOWAIT: never wait. */
  ownerNowait: boolean;
  /** Our clock when the acquire started (the budget runs from there). */
  startedAtSeconds: number;
  signal?: AbortSignal;
  logger: Logger;
}

export type OwnerVerdict = 'ballot' | 'restart';

export async function judgeOwner(
  ctx: PaxosContext,
  area: LeaseArea,
  leader: LeaderRecord,
  options: OwnerWaitOptions,
): Promise<OwnerVerdict> {
  const { delta, clock } = ctx;
  const ownerId = leader.ownerId;
  const ownerGeneration = leader.ownerGeneration;
  const ownerHostId = Number(ownerId);
  const details = area.details({ lver: leader.lver });
  if (!namesEqual(leader.spaceName, delta.config.spaceName) || !stillJoined(delta, clock)) {
    throw new PaxosError(
      'NOT_JOINED',
      `${area.name}: judging its owner needs our delta lease in lockspace ${leader.spaceName}`,
      details,
    );
  }
  if (ownerHostId < 1 || ownerHostId > delta.geometry.maxHosts) {
    throw new PaxosError(
      'CORRUPT',
      `${area.name}: leader names owner host_id ${ownerId}, outside 1..${delta.geometry.maxHosts}`,
      details,
    );
  }
  const log = { resource: area.name, lver: leader.lver, ownerId, ownerGeneration };

  if (leader.writeId !== ownerId && (await ownerReleased(area, ownerHostId, leader.lver))) {
    options.logger.info(log, 'owner has released (RELEASED dblock, leader written by another host): ballot');
    return 'ballot';
  }

  const known = sameIncarnation(delta.host(ownerHostId), leader);
  // wait_start and last_ts: the owner's sector showed last_ts at some moment no later than
  // wait_start (our clock). A later read that still shows last_ts sampled the disk no earlier than
  // its issue time, so the owner wrote nothing between wait_start and that issue time: that, and
  // nothing more, is the silence it proves. From our table: last_live, the completion of the sample
  // that saw the change (late: the safe side). Without table data both come from our first read.
  let waitStartSeconds: number | undefined = known?.lastLiveSeconds;
  let lastTimestamp: bigint | undefined = known?.timestamp;

  for (;;) {
    if (!stillJoined(delta, clock))
      throw new PaxosError('NOT_JOINED', `${area.name}: our delta lease ended while waiting for the owner`, details);
    // Taken just BEFORE the read is issued: the read samples the disk no earlier than this, so an
    // unchanged sector proves the owner silent up to here, and no later (§3).
    const issuedAtSeconds = clock.nowSeconds();
    let sector: LeaderRecord;
    try {
      sector = await delta.readHostSector(ownerHostId);
    } catch (error) {
      throw toPaxosError(error, `${area.name}: reading the delta lease of owner host_id ${ownerHostId}`, details);
    }
    const completedAtSeconds = clock.nowSeconds();
    if (sector.timestamp === 0n || sector.ownerId !== ownerId || sector.ownerGeneration > ownerGeneration) {
      options.logger.info(
        {
          ...log,
          deltaOwner: sector.ownerId,
          deltaGeneration: sector.ownerGeneration,
          deltaTimestamp: sector.timestamp,
        },
        'owner host_id is free or taken over: ballot',
      );
      return 'ballot';
    }
    const ioTimeoutSeconds = effectiveIoTimeoutSeconds(sector.ioTimeoutSeconds, delta.config.ioTimeoutSeconds);
    const deadSeconds = hostDeadSeconds(ioTimeoutSeconds, delta.config.watchdogFireTimeoutSeconds);
    const holder = (): LeaseHolder =>
      holderFacts({
        hostId: ownerHostId,
        generation: ownerGeneration,
        mode: 'exclusive',
        status: delta.host(ownerHostId),
        hostName: sector.resourceName,
        ...(waitStartSeconds === undefined ? {} : { deadAtSeconds: waitStartSeconds + deadSeconds }),
        ourIoTimeoutSeconds: delta.config.ioTimeoutSeconds,
        watchdogFireTimeoutSeconds: delta.config.watchdogFireTimeoutSeconds,
      });

    if (lastTimestamp === undefined || waitStartSeconds === undefined) {
      lastTimestamp = sector.timestamp;
      // No table data: the silence counts from when this first read COMPLETED, not from when it was
      // issued. The read may have sampled the disk as late as its completion, so the owner may have
      // written this very timestamp just before that: a renewal at (almost) the completion time is
      // consistent with what we saw. Starting at the issue time would credit the owner with silence
      // during the read's latency, which nothing proves (and a read that hung for host_dead_seconds
      // would let the next unchanged read call a live owner dead). The later time is the safe one.
      waitStartSeconds = completedAtSeconds;
    } else {
      const status = sameIncarnation(delta.host(ownerHostId), leader);
      const changedInLatestSample =
        status !== undefined &&
        status.lastLiveSeconds !== undefined &&
        status.lastCheckSeconds === status.lastLiveSeconds;
      if (sector.timestamp !== lastTimestamp || changedInLatestSample) {
        // A change counts from when we saw it: the read's completion (late, the safe side).
        if (sector.timestamp !== lastTimestamp) waitStartSeconds = completedAtSeconds;
        const facts = holder();
        throw new PaxosError('ACQUIRE_IDLIVE', `${area.name} is held by ${describeHolder(facts, clock.nowSeconds())}`, {
          ...details,
          holders: [facts],
          leaderFlags: leader.flags,
        });
      }
      // Proven silence: from wait_start to this read's issue time (see above), never to now.
      const provenSilenceSeconds = issuedAtSeconds - waitStartSeconds;
      if (provenSilenceSeconds > deadSeconds) {
        options.logger.info(
          { ...log, waitStartSeconds, issuedAtSeconds, deadSeconds },
          'owner has not renewed for host_dead_seconds: ballot',
        );
        return 'ballot';
      }
    }

    const nowSeconds = clock.nowSeconds();
    if (
      options.ownerNowait ||
      nowSeconds + OWNER_POLL_INTERVAL_SECONDS - options.startedAtSeconds > options.waitSeconds
    ) {
      const facts = holder();
      throw new PaxosError(
        'OWNER_NOWAIT',
        `${area.name} is held by ${describeHolder(facts, nowSeconds)}; it may still be alive` +
          (options.ownerNowait ? '' : ` and the wait budget of ${options.waitSeconds} s does not reach its deadline`),
        { ...details, holders: [facts], leaderFlags: leader.flags },
      );
    }
    if (!(await sleepUnlessAborted(clock, OWNER_POLL_INTERVAL_SECONDS, options.signal))) {
      throw new PaxosError('ABORTED', `${area.name}: acquire aborted while waiting for the owner`, details);
    }
    const current = await area.readLeader(undefined, 'leader (owner wait)');
    if (!leadersIdentical(current, leader)) {
      options.logger.debug(log, 'leader changed while waiting for the owner: restart');
      return 'restart';
    }
  }
}

/** Our table's entry for the owner, if it is about the owner's incarnation (id and generation) and has been checked. */
function sameIncarnation(status: HostStatus | undefined, leader: LeaderRecord): HostStatus | undefined {
  if (status === undefined || status.lastCheckSeconds === undefined || status.lastLiveSeconds === undefined)
    return undefined;
  if (status.ownerId !== leader.ownerId || status.generation !== leader.ownerGeneration) return undefined;
  return status;
}

/**
 * The owner's dblock says it let go of this lver. The lver must match: a RELEASED dblock of an older
 * ballot says nothing about the current one (stricter than needed, never less safe).
 */
async function ownerReleased(area: LeaseArea, ownerHostId: number, lver: bigint): Promise<boolean> {
  const { dblock, dblockValid } = await readHostSector(area, ownerHostId, `dblock of owner host_id ${ownerHostId}`);
  return dblockValid && isReleased(dblock) && dblock.lver === lver;
}

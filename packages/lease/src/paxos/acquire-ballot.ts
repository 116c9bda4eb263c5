/**
 * §5.1: taking the leader by ballot, the part shared by exclusive acquire, shared acquire (SHORT_HOLD)
 * and the SH→EX conversion (our SHARED mode block kept in every ballot write).
 *
 *  1. read the leader and our own sector (read-first.ts explains why not the whole area);
 *  2. the caller's lver must be the leader's (-240);
 *  3. free, ours, or ours from an older generation → ballot; otherwise judge the owner
 *     (owner-liveness.ts): fail (-243 / -247), restart, or ballot;
 *  4. ballots for next_lver = leader.lver + 1, with mbal ≡ host_id (mod max_hosts), the first above
 *     every mbal step 1 read (read-first.ts); after an abort
 *     (-212/-213): random 0-1 s back-off, a higher mbal, and a re-read of the leader: someone
 *     committed next_lver (ours → success, else -244), or the leader moved (restart), or retry;
 *  5. commit: the step-1 leader with lver, owner, timestamp from the ballot's value and write_* = us;
 *     SHORT_HOLD set only when we commit ourselves for a shared acquire. Another host's value → -245.
 * If anything fails after our phase-2 value may be on disk, we retract: our dblock goes RELEASED and
 * the leader is freed if it names us and we wrote it (sanlock's "retract"), then the error is thrown.
 */
import { leadersIdentical, type Dblock, type LeaderRecord, type ModeBlock } from '@leasehold/ondisk';
import { sleepUnlessAborted } from '../delta/abortable-sleep.js';
import { silentLogger, type Logger } from '../logger.js';
import { runBallot } from './ballot.js';
import { planBallotReads, type BallotReadPlan } from './ballot-range.js';
import { ballotAbove, nextBallotAfterAbort } from './ballot-number.js';
import { commitValue, ownedError } from './commit.js';
import { PaxosError, toPaxosError } from './errors.js';
import { ourIdentity, requireJoined, stillJoined, type OurIdentity } from './identity.js';
import type { LeaseArea } from './lease-area.js';
import { judgeOwner } from './owner-liveness.js';
import { readLeaderAndOwnSector } from './read-first.js';
import { retract } from './retract.js';
import type { PaxosContext } from './types.js';

/** sanlock sleeps a random 0-1 s after an aborted ballot. */
export const BALLOT_BACKOFF_MAX_SECONDS = 1;

export interface BallotAcquireOptions {
  /** Commit ourselves with SHORT_HOLD: a shared acquire holds the leader only briefly (§5.3). */
  shortHold: boolean;
  /** Our mode block in every ballot write: null normally, SHARED for SH→EX (§5.4, §7.7). */
  ownMode: ModeBlock | null;
  /** The caller's idea of the current lver (-240 when the leader differs). */
  lver?: bigint;
  waitSeconds: number;
  ownerNowait: boolean;
  signal?: AbortSignal;
  /**
   * Told before each write of our dblock. A caller that keeps a lease through a failed attempt (the
   * SH→EX conversion) must keep writing these latest values: putting older ones back could let a
   * lower ballot of another host go on where our higher one should have stopped it.
   */
  onOwnDblock?: (dblock: Dblock) => void;
}

export interface BallotAcquireResult {
  /** The leader naming us: our commit, or the one another host committed with our value. */
  leader: LeaderRecord;
  /** Our dblock as last written (its values stay on disk while we hold the lease). */
  dblock: Dblock;
  /** Hosts other than us whose mode block was SHARED in phase 1 (§5.4). */
  sharedHostIds: number[];
  /** True when our own mode block was SHARED in phase 1 (the SH→EX conversion counts it). */
  ownShared: boolean;
}

/** What the ballots of one acquire have left in our sector, for release and retract. */
interface OwnSectorState {
  written: Dblock | undefined;
  /** Our phase-2 value may be on disk: another host could commit it. */
  valueMayBeOnDisk: boolean;
}

export async function acquireByBallot(
  ctx: PaxosContext,
  area: LeaseArea,
  options: BallotAcquireOptions,
): Promise<BallotAcquireResult> {
  const logger = ctx.logger ?? silentLogger;
  const us = ourIdentity(ctx.delta, area.location, ctx.clock);
  const state: OwnSectorState = { written: undefined, valueMayBeOnDisk: false };
  try {
    return await acquireSteps(ctx, area, options, us, state, logger);
  } catch (error) {
    // ACQUIRE_OWNED / ACQUIRE_OTHER: a value was committed for that lver and it is not ours, so ours
    // can never be: nothing to take back.
    const settled = error instanceof PaxosError && (error.code === 'ACQUIRE_OWNED' || error.code === 'ACQUIRE_OTHER');
    // Once our delta lease is gone we write nothing more (§7.5): the retract would be a late write.
    if (!settled && state.valueMayBeOnDisk && state.written !== undefined && stillJoined(ctx.delta, ctx.clock)) {
      await retract(ctx, area, us, state.written, options.ownMode, logger);
    }
    throw error;
  }
}

async function acquireSteps(
  ctx: PaxosContext,
  area: LeaseArea,
  options: BallotAcquireOptions,
  us: OurIdentity,
  state: OwnSectorState,
  logger: Logger,
): Promise<BallotAcquireResult> {
  const { clock } = ctx;
  const startedAtSeconds = clock.nowSeconds();
  const sharedSeen = new Set<number>();
  /** A phase-1 read of this call completed: sharedSeen knows every shared holder (§5.4). */
  let sharedKnown = false;

  restart: for (;;) {
    // Step 1.
    const first = await readLeaderAndOwnSector(area, us.hostId);
    const leader = first.leader;
    const log = { resource: area.name, lver: leader.lver, hostId: us.hostId };

    // Step 2.
    if (options.lver !== undefined && options.lver !== leader.lver) {
      throw new PaxosError(
        'ACQUIRE_LVER',
        `${area.name}: lver is ${leader.lver}, not the ${options.lver} asked for`,
        area.details({ lver: leader.lver }),
      );
    }

    // Step 3.
    const free = leader.timestamp === 0n;
    const oursNowOrBefore = leader.ownerId === BigInt(us.hostId) && leader.ownerGeneration <= us.generation;
    if (!free && !oursNowOrBefore) {
      const verdict = await judgeOwner(ctx, area, leader, {
        waitSeconds: options.waitSeconds,
        ownerNowait: options.ownerNowait,
        startedAtSeconds,
        logger,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (verdict === 'restart') continue;
    }

    // Step 4.
    const nextLver = leader.lver + 1n;
    const maxHosts = leader.maxHosts;
    const numHosts = Number(leader.numHosts);
    let mbal = ballotAbove(first.maxMbalSeen, us.hostId, maxHosts);
    // A value we accepted for this lver before (ballot.ts: keepAccepted), from disk or from this call.
    let accepted = first.own.dblockValid && hasAcceptedValue(first.own.dblock, nextLver) ? first.own.dblock : undefined;
    let firstAbort = true;
    for (;;) {
      let reads: BallotReadPlan;
      try {
        reads = await planBallotReads(ctx.delta, clock, area.geometry, numHosts, us.hostId, ctx.ballotRange);
      } catch (error) {
        throw toPaxosError(
          error,
          `${area.name}: reading the membership of lockspace ${area.location.spaceName}`,
          area.details({ lver: leader.lver }),
        );
      }
      const outcome = await runBallot({
        reads,
        area,
        hostId: us.hostId,
        generation: us.generation,
        numHosts,
        maxHosts,
        nextLver,
        mbal,
        ownMode: options.ownMode,
        keepAccepted: accepted,
        clock,
        logger,
        onWriting: (dblock, phase) => {
          state.written = dblock;
          options.onOwnDblock?.(dblock);
          if (phase === 2) {
            state.valueMayBeOnDisk = true;
            accepted = dblock;
          }
        },
      });
      if (outcome.kind === 'accepted') {
        for (const hostId of outcome.sharedHostIds) sharedSeen.add(hostId);
        // No commit once our delta lease is past its deadline: nobody may rely on us any more.
        requireJoined(ctx.delta, clock, area.location);
        const committed = await commitValue(
          ctx,
          area,
          leader,
          outcome.dblock,
          us,
          options.shortHold,
          logger,
          options.signal,
        );
        return { ...committed, sharedHostIds: otherThan(sharedSeen, us.hostId), ownShared: sharedSeen.has(us.hostId) };
      }
      if (outcome.sharedHostIds !== undefined) {
        sharedKnown = true;
        for (const hostId of outcome.sharedHostIds) sharedSeen.add(hostId);
      }
      logger.debug({ ...log, mbal, abort: outcome.abort.reason, by: outcome.abort.hostId }, 'ballot aborted');

      // A first mbal abort usually means a stale high mbal our small read 1 did not see (read-first.ts):
      // retry at once above it. Later aborts are contention: back off like sanlock.
      const skipBackoff = firstAbort && outcome.abort.reason === 'mbal';
      firstAbort = false;
      if (
        !skipBackoff &&
        !(await sleepUnlessAborted(clock, ctx.random.next() * BALLOT_BACKOFF_MAX_SECONDS, options.signal))
      ) {
        throw new PaxosError(
          'ABORTED',
          `${area.name}: acquire aborted during ballot back-off`,
          area.details({ lver: leader.lver }),
        );
      }
      mbal = nextBallotAfterAbort(mbal, outcome.maxMbal, us.hostId, maxHosts);

      const current = await area.readLeader(us.hostId, 'leader (after aborted ballot)');
      if (current.lver === nextLver) {
        if (current.ownerId === BigInt(us.hostId) && current.ownerGeneration === us.generation) {
          // Committed for us by another host (sanlock: success). Unless a phase-1 read of this call
          // told us who holds the lease shared, we do not know it (the value may be one we accepted
          // in an earlier, failed attempt): take the lease again from the start, where "the owner is
          // us" leads to a ballot with its full phase-1 read.
          if (!sharedKnown) continue restart;
          requireJoined(ctx.delta, clock, area.location);
          logger.info({ ...log, writeId: current.writeId }, 'another host committed our value');
          return {
            leader: current,
            dblock: state.written ?? outcome.abort.dblock,
            sharedHostIds: otherThan(sharedSeen, us.hostId),
            ownShared: sharedSeen.has(us.hostId),
          };
        }
        throw ownedError(ctx, area, current);
      }
      if (current.lver > nextLver || !leadersIdentical(current, leader)) continue restart;
      if (outcome.abort.reason === 'lver') {
        // A dblock is ahead of a leader that did not move: running the ballot again would abort again.
        throw new PaxosError(
          'DBLOCK_LVER',
          `${area.name}: host_id ${outcome.abort.hostId} has a dblock for lver ${outcome.abort.dblock.lver} while the leader is at lver ${leader.lver}`,
          area.details({ lver: leader.lver }),
        );
      }
    }
  }
}

function hasAcceptedValue(dblock: Dblock, lver: bigint): boolean {
  return dblock.lver === lver && dblock.bal !== 0n && dblock.inp !== 0n;
}

function otherThan(hostIds: ReadonlySet<number>, self: number): number[] {
  return [...hostIds].filter((hostId) => hostId !== self).sort((a, b) => a - b);
}

/**
 * §5.1: taking the leader by ballot, the part shared by exclusive acquire, shared acquire (SHORT_HOLD)
 * and the SH→EX conversion (our SHARED mode block kept in every ballot write).
 *
 *  1. read the leader and our own sector (read-first.ts explains why not the whole area);
 *  2. the caller's lver must be the leader's (-240);
 *  3. free, ours, or ours from an older generation → ballot; otherwise judge the owner
 *     (owner-liveness.ts): fail (-243 / -247), restart, or ballot;
 *  4. ballots for next_lver = leader.lver + 1, with mbal ≡ host_id (mod max_hosts); after an abort
 *     (-212/-213): random 0-1 s back-off, a higher mbal, and a re-read of the leader: someone
 *     committed next_lver (ours → success, else -244), or the leader moved (restart), or retry;
 *  5. commit: the step-1 leader with lver, owner, timestamp from the ballot's value and write_* = us;
 *     SHORT_HOLD set only when we commit ourselves for a shared acquire. Another host's value → -245.
 * If anything fails after our phase-2 value may be on disk, we retract: our dblock goes RELEASED and
 * the leader is freed if it names us and we wrote it (sanlock's "retract"), then the error is thrown.
 */
import {
  encodePaxosLeaderSector,
  leaderChecksum,
  leadersIdentical,
  LFL_SHORT_HOLD,
  type Dblock,
  type LeaderRecord,
  type ModeBlock,
} from '@leasehold/ondisk';
import { sleepUnlessAborted } from '../delta/abortable-sleep.js';
import { diskTimestamp } from '../clock.js';
import { silentLogger, type Logger } from '../logger.js';
import { runBallot } from './ballot.js';
import { ballotAbove, nextBallotAfterAbort } from './ballot-number.js';
import { PaxosError } from './errors.js';
import { describeHolder, holderFacts } from './holder-facts.js';
import { isReleased, readHostSector, releasedDblock, writeHostSector } from './host-sector.js';
import { sharedHolderLiveness } from './shared-holders.js';
import { ourIdentity, requireJoined, stillJoined, type OurIdentity } from './identity.js';
import { LEADER_SECTOR_INDEX, type LeaseArea } from './lease-area.js';
import { judgeOwner } from './owner-liveness.js';
import { readLeaderAndOwnSector } from './read-first.js';
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

export async function acquireByBallot(ctx: PaxosContext, area: LeaseArea, options: BallotAcquireOptions): Promise<BallotAcquireResult> {
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
      throw new PaxosError('ACQUIRE_LVER', `${area.name}: lver is ${leader.lver}, not the ${options.lver} asked for`, area.details({ lver: leader.lver }));
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
      if (verdict === 'restart') continue restart;
    }

    // Step 4.
    const nextLver = leader.lver + 1n;
    const maxHosts = leader.maxHosts;
    const numHosts = Number(leader.numHosts);
    let mbal = ballotAbove(first.own.dblockValid ? first.own.dblock.mbal : 0n, us.hostId, maxHosts);
    // A value we accepted for this lver before (ballot.ts: keepAccepted), from disk or from this call.
    let accepted = first.own.dblockValid && hasAcceptedValue(first.own.dblock, nextLver) ? first.own.dblock : undefined;
    let firstAbort = true;
    for (;;) {
      const outcome = await runBallot({
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
        return commit(ctx, area, leader, outcome.dblock, sharedSeen, us, options.shortHold, logger);
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
      if (!skipBackoff && !(await sleepUnlessAborted(clock, ctx.random.next() * BALLOT_BACKOFF_MAX_SECONDS, options.signal))) {
        throw new PaxosError('ABORTED', `${area.name}: acquire aborted during ballot back-off`, area.details({ lver: leader.lver }));
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
          return { leader: current, dblock: state.written ?? outcome.abort.dblock, sharedHostIds: otherThan(sharedSeen, us.hostId), ownShared: sharedSeen.has(us.hostId) };
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

async function commit(
  ctx: PaxosContext,
  area: LeaseArea,
  stepOneLeader: LeaderRecord,
  value: Dblock,
  sharedSeen: ReadonlySet<number>,
  us: OurIdentity,
  shortHold: boolean,
  logger: Logger,
): Promise<BallotAcquireResult> {
  const ours = value.inp === BigInt(us.hostId) && value.inp2 === us.generation;
  if (!ours) {
    // Committing another host's value is help, not a claim, and a late help is harmful: if that host
    // (or another helper) committed it and the lease moved on (released, taken at a later lver), our
    // commit landing afterwards puts the leader back to an older lver. sanlock always helps; we help
    // only when the value's owner cannot commit it itself: it is not alive (by our host table, as
    // for shared holders), or it has let go (RELEASED dblock for this lver). An owner that is alive
    // commits its own value: it retries its ballot, and the value is carried back to it. Liveness is
    // unchanged: while the owner is alive, others would wait for it anyway (ACQUIRE_IDLIVE).
    if (await ownerWillCommit(ctx, area, value, logger)) {
      const current = await area.readLeader(us.hostId, 'leader (value of a live host)');
      throw current.lver === value.lver && current.ownerId === value.inp && current.ownerGeneration === value.inp2
        ? otherError(ctx, area, current, value)
        : otherError(ctx, area, stepOneLeader, value);
    }
    // Then look (1 sector): if the leader reached next_lver, the value is committed; do not write.
    // (Our own value needs neither: nobody moves past our lver while we are alive and hold it.)
    const current = await area.readLeader(us.hostId, 'leader (before committing another host)');
    if (current.lver >= value.lver) {
      throw current.lver === value.lver && current.ownerId === value.inp && current.ownerGeneration === value.inp2
        ? otherError(ctx, area, current, value)
        : ownedError(ctx, area, current);
    }
  }
  let flags = stepOneLeader.flags;
  if (ours) flags = shortHold ? (flags | LFL_SHORT_HOLD) >>> 0 : (flags & ~LFL_SHORT_HOLD) >>> 0;
  // §7.9: a copy of the step-1 leader, so unknown minor versions and flag bits survive.
  const next: LeaderRecord = {
    ...stepOneLeader,
    flags,
    lver: value.lver,
    ownerId: value.inp,
    ownerGeneration: value.inp2,
    timestamp: value.inp3,
    writeId: BigInt(us.hostId),
    writeGeneration: us.generation,
    writeTimestamp: diskTimestamp(ctx.clock),
  };
  // Safety invariants: one commit per ballot, lver up by exactly one, never FREE.
  if (next.lver !== stepOneLeader.lver + 1n || next.timestamp === 0n) {
    throw new Error(`internal: commit of lver ${next.lver} timestamp ${next.timestamp} over lver ${stepOneLeader.lver}`);
  }
  next.checksum = leaderChecksum(next);
  await area.writeSector(LEADER_SECTOR_INDEX, encodePaxosLeaderSector(next, area.sectorSize), 'leader (commit)');
  // A host paused across its deadline hears of its commit only afterwards: not a lease it may use.
  requireJoined(ctx.delta, ctx.clock, area.location);
  logger.info({ resource: area.name, lver: next.lver, ownerId: next.ownerId, ownerGeneration: next.ownerGeneration }, ours ? 'committed ourselves' : 'committed another host');
  if (!ours) throw otherError(ctx, area, next, value);
  return { leader: next, dblock: value, sharedHostIds: otherThan(sharedSeen, us.hostId), ownShared: sharedSeen.has(us.hostId) };
}

/** The value's owner is alive and has not let go of this lver: it will commit the value itself. */
async function ownerWillCommit(ctx: PaxosContext, area: LeaseArea, value: Dblock, logger: Logger): Promise<boolean> {
  const { delta } = ctx;
  const ownerHostId = Number(value.inp);
  const liveness = sharedHolderLiveness(
    delta.host(ownerHostId),
    value.inp2,
    ctx.clock.nowSeconds(),
    delta.config.ioTimeoutSeconds,
    delta.config.watchdogFireTimeoutSeconds,
  );
  if (!liveness.live || ownerHostId < 1 || ownerHostId > area.geometry.maxHosts) return false;
  const { dblock, dblockValid } = await readHostSector(area, ownerHostId, `dblock of host_id ${ownerHostId}`);
  const released = dblockValid && isReleased(dblock) && dblock.lver === value.lver;
  logger.info({ resource: area.name, lver: value.lver, ownerId: value.inp, reason: liveness.reason, released }, 'carried value of another host');
  return !released;
}

function hasAcceptedValue(dblock: Dblock, lver: bigint): boolean {
  return dblock.lver === lver && dblock.bal !== 0n && dblock.inp !== 0n;
}

function otherThan(hostIds: ReadonlySet<number>, self: number): number[] {
  return [...hostIds].filter((hostId) => hostId !== self).sort((a, b) => a - b);
}

function otherError(ctx: PaxosContext, area: LeaseArea, leader: LeaderRecord, value: Dblock): PaxosError {
  const facts = holderFacts({
    hostId: Number(value.inp),
    generation: value.inp2,
    mode: 'exclusive',
    status: ctx.delta.host(Number(value.inp)),
    ourIoTimeoutSeconds: ctx.delta.config.ioTimeoutSeconds,
    watchdogFireTimeoutSeconds: ctx.delta.config.watchdogFireTimeoutSeconds,
  });
  return new PaxosError(
    'ACQUIRE_OTHER',
    `${area.name}: the ballot carried another host's value forward; ${describeHolder(facts, ctx.clock.nowSeconds())} owns lver ${value.lver}`,
    area.details({ lver: leader.lver, holders: [facts], leaderFlags: leader.flags }),
  );
}

function ownedError(ctx: PaxosContext, area: LeaseArea, leader: LeaderRecord): PaxosError {
  const facts = holderFacts({
    hostId: Number(leader.ownerId),
    generation: leader.ownerGeneration,
    mode: 'exclusive',
    status: ctx.delta.host(Number(leader.ownerId)),
    ourIoTimeoutSeconds: ctx.delta.config.ioTimeoutSeconds,
    watchdogFireTimeoutSeconds: ctx.delta.config.watchdogFireTimeoutSeconds,
  });
  return new PaxosError(
    'ACQUIRE_OWNED',
    `${area.name}: another host won the ballot for lver ${leader.lver}: ${describeHolder(facts, ctx.clock.nowSeconds())}`,
    area.details({ lver: leader.lver, holders: [facts], leaderFlags: leader.flags }),
  );
}

/**
 * Best effort, errors logged: our dblock values stay (other ballots may be reading them) but go
 * RELEASED; the leader is freed if it names us and we wrote it. If another host wrote it, our
 * RELEASED dblock tells everyone we let go (§5.3).
 */
async function retract(ctx: PaxosContext, area: LeaseArea, us: OurIdentity, written: Dblock, ownMode: ModeBlock | null, logger: Logger): Promise<void> {
  const log = { resource: area.name, hostId: us.hostId, lver: written.lver };
  try {
    await writeHostSector(area, us.hostId, releasedDblock(written), ownMode, 'dblock (retract)');
    const leader = await area.readLeader(us.hostId, 'leader (retract)');
    const namesUs = leader.ownerId === BigInt(us.hostId) && leader.ownerGeneration === us.generation && leader.timestamp !== 0n;
    if (namesUs && leader.writeId === BigInt(us.hostId)) {
      const freed: LeaderRecord = {
        ...leader,
        timestamp: 0n,
        flags: (leader.flags & ~LFL_SHORT_HOLD) >>> 0,
        writeId: BigInt(us.hostId),
        writeGeneration: us.generation,
        writeTimestamp: diskTimestamp(ctx.clock),
      };
      await area.writeSector(LEADER_SECTOR_INDEX, encodePaxosLeaderSector(freed, area.sectorSize), 'leader (retract)');
    }
    logger.warn(log, 'acquire failed after our ballot value was written: retracted');
  } catch (error) {
    logger.error({ ...log, error: error instanceof Error ? error.message : String(error) }, 'retract after a failed acquire failed too');
  }
}

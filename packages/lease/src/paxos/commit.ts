/**
 * §5.1 step 5, the commit: a copy of the step-1 leader with lver, owner and timestamp from the
 * ballot's value and write_* = us; SHORT_HOLD set only when we commit ourselves for a shared
 * acquire. Committing another host's value is help, done only when that host cannot do it itself.
 */
import {
  encodePaxosLeaderSector,
  leaderChecksum,
  LFL_SHORT_HOLD,
  type Dblock,
  type LeaderRecord,
} from '@leasehold/ondisk';
import { diskTimestamp } from '../clock.js';
import { sleepUnlessAborted } from '../delta/abortable-sleep.js';
import type { Logger } from '../logger.js';
import { PaxosError } from './errors.js';
import { describeHolder, holderFacts } from './holder-facts.js';
import { isReleased, readHostSector } from './host-sector.js';
import { requireJoined, type OurIdentity } from './identity.js';
import { LEADER_SECTOR_INDEX, type LeaseArea } from './lease-area.js';
import { sharedHolderLiveness } from './shared-holders.js';
import type { PaxosContext } from './types.js';

export interface CommitResult {
  leader: LeaderRecord;
  dblock: Dblock;
}

/**
 * How long an acquire that carried a live host's value waits for that host to commit it before it
 * gives up (ACQUIRE_OTHER). The owner's ballot was aborted by ours; sanlock retries after a random
 * 0-1 s with an mbal raised by max_hosts, so a few retries need a few seconds. Balloting again
 * meanwhile would abort the owner's retry each time: two leasehold-style retry loops against one
 * sanlock host kept a VG lock uncommitted for minutes (the chaos run with an lvmlockd peer).
 */
export const OWNER_COMMIT_WAIT_SECONDS = 6;
/** Between the leader reads of that wait (one sector each). */
export const OWNER_COMMIT_POLL_SECONDS = 0.25;

export async function commitValue(
  ctx: PaxosContext,
  area: LeaseArea,
  stepOneLeader: LeaderRecord,
  value: Dblock,
  us: OurIdentity,
  shortHold: boolean,
  logger: Logger,
  signal?: AbortSignal,
): Promise<CommitResult> {
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
      const current = await waitForOwnerCommit(ctx, area, value, us, signal);
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
    throw new Error(
      `internal: commit of lver ${next.lver} timestamp ${next.timestamp} over lver ${stepOneLeader.lver}`,
    );
  }
  next.checksum = leaderChecksum(next);
  await area.writeSector(LEADER_SECTOR_INDEX, encodePaxosLeaderSector(next, area.sectorSize), 'leader (commit)');
  // A host paused across its deadline hears of its commit only afterwards: not a lease it may use.
  requireJoined(ctx.delta, ctx.clock, area.location);
  logger.info(
    { resource: area.name, lver: next.lver, ownerId: next.ownerId, ownerGeneration: next.ownerGeneration },
    ours ? 'committed ourselves' : 'committed another host',
  );
  if (!ours) throw otherError(ctx, area, next, value);
  return { leader: next, dblock: value };
}

/**
 * Reads the leader until it reaches the carried value's lver (its owner committed: usually within a
 * second) or OWNER_COMMIT_WAIT_SECONDS pass; returns the last leader read. Only reads: nothing of
 * ours moves the owner's ballot back while it retries.
 */
async function waitForOwnerCommit(
  ctx: PaxosContext,
  area: LeaseArea,
  value: Dblock,
  us: OurIdentity,
  signal: AbortSignal | undefined,
): Promise<LeaderRecord> {
  const untilSeconds = ctx.clock.nowSeconds() + OWNER_COMMIT_WAIT_SECONDS;
  for (;;) {
    const current = await area.readLeader(us.hostId, 'leader (value of a live host)');
    if (current.lver >= value.lver || ctx.clock.nowSeconds() >= untilSeconds) return current;
    if (!(await sleepUnlessAborted(ctx.clock, OWNER_COMMIT_POLL_SECONDS, signal))) return current;
  }
}

/** The value's owner is alive and has not let go of this lver: it will commit the value itself. */
async function ownerWillCommit(ctx: PaxosContext, area: LeaseArea, value: Dblock, logger: Logger): Promise<boolean> {
  const { delta } = ctx;
  const ownerHostId = Number(value.inp);
  // Not alive only on proven silence (§3, as for shared holders): a stalled observer must not help.
  const liveness = sharedHolderLiveness(
    delta.host(ownerHostId),
    value.inp2,
    delta.config.ioTimeoutSeconds,
    delta.config.watchdogFireTimeoutSeconds,
  );
  if (!liveness.live || ownerHostId < 1 || ownerHostId > area.geometry.maxHosts) return false;
  const { dblock, dblockValid } = await readHostSector(area, ownerHostId, `dblock of host_id ${ownerHostId}`);
  const released = dblockValid && isReleased(dblock) && dblock.lver === value.lver;
  logger.info(
    { resource: area.name, lver: value.lver, ownerId: value.inp, reason: liveness.reason, released },
    'carried value of another host',
  );
  return !released;
}

export function otherError(ctx: PaxosContext, area: LeaseArea, leader: LeaderRecord, value: Dblock): PaxosError {
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

export function ownedError(ctx: PaxosContext, area: LeaseArea, leader: LeaderRecord): PaxosError {
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

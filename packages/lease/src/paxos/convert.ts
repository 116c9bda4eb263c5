/**
 * convertLease (§5.4).
 *   SH→EX: a ballot whose writes carry our SHARED mode block, so our shared hold is never dropped
 *          (§7.7). After the commit: no other shared holder, or only dead ones (cleared) → write our
 *          sector without the mode block: exclusive. Live ones → free the leader and fail with
 *          SHARED_HELD (EAGAIN): we still hold shared. Any other failure also keeps us shared.
 *   EX→SH: write our sector {dblock RELEASED, SHARED + generation}, then release the leader. No
 *          ballot: lver does not change. If the leader release fails the lease is in between; the
 *          caller should release it as exclusive (which clears both).
 * A lease that stays held through a failure comes back as `error.stillHeld`, with the dblock values
 * now on disk (later writes of our sector must keep them: acquire-ballot.ts, onOwnDblock).
 */
import type { Dblock } from '@leasehold/ondisk';
import { silentLogger, type Logger } from '../logger.js';
import { acquireByBallot } from './acquire-ballot.js';
import { heldLeaseOf } from './acquire.js';
import { PaxosError, toPaxosError } from './errors.js';
import { describeHolder } from './holder-facts.js';
import { releasedDblock, sharedModeBlock, writeHostSector } from './host-sector.js';
import { ourIdentity, type OurIdentity } from './identity.js';
import { LeaseArea } from './lease-area.js';
import { releaseLeader } from './leader-release.js';
import { clearDeadSharedHolders } from './shared-holders.js';
import type { HeldLease, LeaseMode, PaxosContext } from './types.js';
import { writeValueBlockIfSet } from './value-block.js';

export interface ConvertOptions {
  /** SH→EX: as AcquireOptions.waitSeconds (default 0). */
  waitSeconds?: number;
  ownerNowait?: boolean;
  signal?: AbortSignal;
}

export async function convertLease(
  ctx: PaxosContext,
  held: HeldLease,
  to: LeaseMode,
  options: ConvertOptions = {},
): Promise<HeldLease> {
  const logger = ctx.logger ?? silentLogger;
  const us = ourIdentity(ctx.delta, held.location, ctx.clock);
  if (us.generation !== held.generation || us.hostId !== held.hostId) {
    throw new PaxosError(
      'NOT_HELD',
      `the lease was acquired by another incarnation (host_id ${held.hostId} generation ${held.generation})`,
      {
        spaceName: held.location.spaceName,
        resourceName: held.location.resourceName,
      },
    );
  }
  if (held.mode === to) return held;
  const area = new LeaseArea(ctx.disk, held.location, held.geometry);
  return to === 'shared'
    ? exclusiveToShared(ctx, area, us, held, logger)
    : sharedToExclusive(ctx, area, us, held, options, logger);
}

async function exclusiveToShared(
  ctx: PaxosContext,
  area: LeaseArea,
  us: OurIdentity,
  held: HeldLease,
  logger: Logger,
): Promise<HeldLease> {
  // As sanlock: a value set while exclusive is written before the lease becomes shared.
  await writeValueBlockIfSet(area, held, logger);
  await writeHostSector(
    area,
    us.hostId,
    releasedDblock(held.dblock),
    sharedModeBlock(us.generation),
    'dblock + SHARED mode block (convert)',
  );
  const released = await releaseLeader(area, ctx.clock, us, held.leader);
  logger.info({ resource: area.name, lver: held.lver, outcome: released.kind }, 'converted exclusive to shared');
  return { ...held, mode: 'shared', leader: released.leader, acquiredAtSeconds: ctx.clock.nowSeconds() };
}

async function sharedToExclusive(
  ctx: PaxosContext,
  area: LeaseArea,
  us: OurIdentity,
  held: HeldLease,
  options: ConvertOptions,
  logger: Logger,
): Promise<HeldLease> {
  let ownDblock: Dblock = held.dblock;
  const stillShared = (): HeldLease => ({ ...held, dblock: ownDblock });
  let result;
  try {
    result = await acquireByBallot(ctx, area, {
      waitSeconds: options.waitSeconds ?? 0,
      ownerNowait: options.ownerNowait ?? false,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      shortHold: false,
      ownMode: sharedModeBlock(us.generation),
      onOwnDblock: (dblock) => (ownDblock = dblock),
    });
  } catch (error) {
    throw keepShared(toPaxosError(error, `${area.name}: converting to exclusive`, area.details()), stillShared());
  }
  const exclusive = heldLeaseOf(area, us, 'exclusive', result, ctx.clock.nowSeconds());
  const sharedAfterCommit: HeldLease = { ...stillShared(), lver: held.lver };
  let live;
  try {
    live =
      result.sharedHostIds.length === 0
        ? []
        : await clearDeadSharedHolders(ctx, area, result.sharedHostIds, us, logger);
  } catch (error) {
    await freeLeaderKeepingShared(ctx, area, us, exclusive, logger);
    throw keepShared(toPaxosError(error, `${area.name}: converting to exclusive`, area.details()), sharedAfterCommit);
  }
  if (live.length > 0) {
    // Our sector still has SHARED (every ballot write carried it): only the leader goes back.
    const freed = await freeLeaderKeepingShared(ctx, area, us, exclusive, logger);
    const now = ctx.clock.nowSeconds();
    throw new PaxosError(
      'SHARED_HELD',
      `${area.name} is also held shared by ${live.map((holder) => describeHolder(holder, now)).join('; ')}; still held shared`,
      area.details({ lver: exclusive.lver, holders: live }),
      { stillHeld: freed === undefined ? sharedAfterCommit : { ...sharedAfterCommit, leader: freed } },
    );
  }
  try {
    await writeHostSector(area, us.hostId, result.dblock, null, 'dblock (drop SHARED mode block)');
  } catch (error) {
    // We hold the leader, so we are exclusive; the stale SHARED block goes with our release (sanlock too).
    logger.warn(
      { resource: area.name, error: error instanceof Error ? error.message : String(error) },
      'clearing our SHARED mode block failed',
    );
  }
  logger.info({ resource: area.name, lver: exclusive.lver }, 'converted shared to exclusive');
  return exclusive;
}

function keepShared(error: PaxosError, stillHeld: HeldLease): PaxosError {
  return new PaxosError(error.code, error.message, error.details, {
    cause: error.cause ?? error,
    ...(error.sanlockErrno === undefined ? {} : { sanlockErrno: error.sanlockErrno }),
    stillHeld,
  });
}

/** Gives the leader back after a failed SH→EX; returns the freed leader, if we freed it. */
async function freeLeaderKeepingShared(
  ctx: PaxosContext,
  area: LeaseArea,
  us: OurIdentity,
  exclusive: HeldLease,
  logger: Logger,
) {
  try {
    const outcome = await releaseLeader(area, ctx.clock, us, exclusive.leader);
    return outcome.leader;
  } catch (error) {
    logger.error(
      { resource: area.name, lver: exclusive.lver, error: error instanceof Error ? error.message : String(error) },
      'giving the leader back after a failed conversion failed',
    );
    return undefined;
  }
}

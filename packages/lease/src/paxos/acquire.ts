/**
 * acquireLease: exclusive (§5.1 + §5.4 "acquire EX while SH holders exist") and shared (§5.4).
 *
 * Exclusive: the ballot commits us (lver+1). If phase 1 saw SHARED mode blocks of other hosts, the
 * dead ones are cleared; if any is alive we release again (dblock RELEASED, leader free) and fail with
 * SHARED_HELD (EAGAIN, -11). The lver stays incremented: §5.1 counts that commit too.
 *
 * Shared: the same ballot with SHORT_HOLD set on our commit, then one write of our sector
 * {dblock RELEASED, mode SHARED + our generation}, then the leader is released (§5.2 steps 2-3).
 * Shared holders never remain the leader's owner. An acquire that meets a SHORT_HOLD owner (-243,
 * -244, -245 with SHORT_HOLD in the leader) retries after a random 0-1 s, up to sh_retries (8)
 * times, then fails with ACQUIRE_SHRETRY (-246).
 */
import { LFL_SHORT_HOLD, type Geometry } from '@leasehold/ondisk';
import { sleepUnlessAborted } from '../delta/abortable-sleep.js';
import { silentLogger, type Logger } from '../logger.js';
import { acquireByBallot, type BallotAcquireResult } from './acquire-ballot.js';
import { PaxosError, isPaxosError } from './errors.js';
import { describeHolder } from './holder-facts.js';
import { releasedDblock, sharedModeBlock, writeHostSector } from './host-sector.js';
import { ourIdentity, requireJoined, stillJoined, type OurIdentity } from './identity.js';
import { LeaseArea } from './lease-area.js';
import { releaseLeader } from './leader-release.js';
import { clearDeadSharedHolders } from './shared-holders.js';
import { releaseLease } from './release.js';
import { checkValueBlockGeometry, readValueBlock } from './value-block.js';
import type { HeldLease, LeaseMode, PaxosContext, ResourceLocation } from './types.js';

/** sanlock's default sh_retries. */
export const SH_RETRIES = 8;
/** The SHORT_HOLD retry sleeps a random 0-1 s. */
export const SH_RETRY_MAX_SECONDS = 1;

export interface AcquireOptions {
  /** Default 'exclusive'. */
  mode?: LeaseMode;
  /** The lver the caller expects the leader to have (ACQUIRE_LVER, -240, otherwise). */
  lver?: bigint;
  /**
   * How long to wait for an owner that may be dead (no renewal seen) to reach its deadline
   * (8N_owner + W after its last seen renewal). 0 (default): fail at once with OWNER_NOWAIT;
   * Infinity: wait as long as it takes, as sanlock does. An owner seen alive fails at once
   * (ACQUIRE_IDLIVE) whatever this says: the caller retries.
   */
  waitSeconds?: number;
  /** sanlock's OWNER_NOWAIT flag: never wait for the owner. */
  ownerNowait?: boolean;
  /**
   * Read the lease's value block after acquiring (sanlock's SANLK_ACQUIRE_LVB): the held lease then
   * carries it, setValueBlock changes it, an exclusive release writes it back.
   */
  valueBlock?: boolean;
  /** The lease's geometry if known (saves nothing on disk; avoids a re-read on 4K/8M leases). */
  geometry?: Geometry;
  signal?: AbortSignal;
}

const SH_RETRY_CODES = new Set(['ACQUIRE_IDLIVE', 'ACQUIRE_OWNED', 'ACQUIRE_OTHER']);

export async function acquireLease(
  ctx: PaxosContext,
  location: ResourceLocation,
  options: AcquireOptions = {},
): Promise<HeldLease> {
  const logger = ctx.logger ?? silentLogger;
  const us = ourIdentity(ctx.delta, location, ctx.clock);
  const area = new LeaseArea(ctx.disk, location, options.geometry);
  if (options.valueBlock === true) checkValueBlockGeometry(area.geometry, area.name);
  const held = await (options.mode === 'shared'
    ? acquireShared(ctx, area, us, options, logger)
    : acquireExclusive(ctx, area, us, options, logger));
  if (options.valueBlock !== true) return held;
  try {
    return { ...held, valueBlock: await readValueBlock(area) };
  } catch (error) {
    // The lease is ours but its value is not known: give it back rather than hand out a guess.
    await releaseLease(ctx, held).catch((releaseError: unknown) =>
      logger.error(
        { resource: area.name, error: releaseError instanceof Error ? releaseError.message : String(releaseError) },
        'giving back a lease whose value block could not be read failed',
      ),
    );
    throw error;
  }
}

function ballotOptions(options: AcquireOptions): {
  waitSeconds: number;
  ownerNowait: boolean;
  lver?: bigint;
  signal?: AbortSignal;
} {
  return {
    waitSeconds: options.waitSeconds ?? 0,
    ownerNowait: options.ownerNowait ?? false,
    ...(options.lver === undefined ? {} : { lver: options.lver }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  };
}

export function heldLeaseOf(
  area: LeaseArea,
  us: OurIdentity,
  mode: LeaseMode,
  result: BallotAcquireResult,
  nowSeconds: number,
): HeldLease {
  return {
    location: area.location,
    geometry: area.geometry,
    hostId: us.hostId,
    generation: us.generation,
    mode,
    lver: result.leader.lver,
    leader: result.leader,
    dblock: result.dblock,
    acquiredAtSeconds: nowSeconds,
  };
}

async function acquireExclusive(
  ctx: PaxosContext,
  area: LeaseArea,
  us: OurIdentity,
  options: AcquireOptions,
  logger: Logger,
): Promise<HeldLease> {
  const result = await acquireByBallot(ctx, area, { ...ballotOptions(options), shortHold: false, ownMode: null });
  const held = heldLeaseOf(area, us, 'exclusive', result, ctx.clock.nowSeconds());
  if (result.sharedHostIds.length === 0) return held;
  let live;
  try {
    live = await clearDeadSharedHolders(ctx, area, result.sharedHostIds, us, logger);
  } catch (error) {
    await giveBackExclusive(ctx, area, us, held, logger);
    throw error;
  }
  if (live.length === 0) return held;
  await giveBackExclusive(ctx, area, us, held, logger);
  const now = ctx.clock.nowSeconds();
  throw new PaxosError(
    'SHARED_HELD',
    `${area.name} is held shared by ${live.map((holder) => describeHolder(holder, now)).join('; ')}`,
    area.details({ lver: held.lver, holders: live }),
  );
}

/** Best effort: RELEASED dblock and the leader freed, as an exclusive release (§5.2). */
async function giveBackExclusive(
  ctx: PaxosContext,
  area: LeaseArea,
  us: OurIdentity,
  held: HeldLease,
  logger: Logger,
): Promise<void> {
  if (!stillJoined(ctx.delta, ctx.clock)) return; // §7.5: no late writes; the lease expires with our host_id
  try {
    await writeHostSector(area, us.hostId, releasedDblock(held.dblock), null, 'dblock (give back)');
    await releaseLeader(area, ctx.clock, us, held.leader);
  } catch (error) {
    logger.error(
      { resource: area.name, lver: held.lver, error: error instanceof Error ? error.message : String(error) },
      'giving the leader back failed',
    );
  }
}

async function acquireShared(
  ctx: PaxosContext,
  area: LeaseArea,
  us: OurIdentity,
  options: AcquireOptions,
  logger: Logger,
): Promise<HeldLease> {
  let result: BallotAcquireResult | undefined;
  for (let retry = 0; result === undefined; retry++) {
    try {
      result = await acquireByBallot(ctx, area, { ...ballotOptions(options), shortHold: true, ownMode: null });
    } catch (error) {
      const shortHold =
        isPaxosError(error) &&
        SH_RETRY_CODES.has(error.code) &&
        ((error.details.leaderFlags ?? 0) & LFL_SHORT_HOLD) !== 0;
      if (!shortHold) throw error;
      if (retry >= SH_RETRIES) {
        throw new PaxosError(
          'ACQUIRE_SHRETRY',
          `${area.name}: still held briefly by another shared acquirer after ${SH_RETRIES} retries: ${error.message}`,
          {
            ...error.details,
          },
        );
      }
      logger.debug(
        { resource: area.name, retry, code: error.code },
        'leader held with SHORT_HOLD: shared acquire retries',
      );
      if (!(await sleepUnlessAborted(ctx.clock, ctx.random.next() * SH_RETRY_MAX_SECONDS, options.signal))) {
        throw new PaxosError(
          'ABORTED',
          `${area.name}: shared acquire aborted during its SHORT_HOLD retry`,
          area.details(),
        );
      }
    }
  }
  const committed = heldLeaseOf(area, us, 'shared', result, ctx.clock.nowSeconds());
  try {
    requireJoined(ctx.delta, ctx.clock, area.location);
    await writeHostSector(
      area,
      us.hostId,
      releasedDblock(result.dblock),
      sharedModeBlock(us.generation),
      'dblock + SHARED mode block',
    );
    const released = await releaseLeader(area, ctx.clock, us, result.leader);
    requireJoined(ctx.delta, ctx.clock, area.location);
    return { ...committed, leader: released.leader };
  } catch (error) {
    // sanlock's R_UNDO_SHARED: no SHARED mode block, RELEASED dblock, leader freed if still ours.
    await giveBackExclusive(ctx, area, us, committed, logger);
    throw error;
  }
}

/**
 * releaseLease (§5.2, §5.4 "Release SH").
 *   exclusive: write the value block if one was set (value-block.ts), then our sector {our last dblock values, flags RELEASED, mode block zero}, then give
 *              up the leader (leader-release.ts). 3 I/Os: write, read, write. The dblock write
 *              failing is not fatal (sanlock ignores it too): freeing the leader is what matters.
 *   shared:    write our sector {dblock RELEASED, mode block zero}. 1 I/O; the leader is not touched.
 * Once our delta lease is lost or released nothing is written (§7.5): other hosts may be taking the
 * lease over by then, and a late write of ours could land on their state.
 */
import { silentLogger } from '../logger.js';
import { PaxosError } from './errors.js';
import { releasedDblock, writeHostSector } from './host-sector.js';
import { stillJoined, type OurIdentity } from './identity.js';
import { LeaseArea } from './lease-area.js';
import { releaseLeader } from './leader-release.js';
import type { HeldLease, PaxosContext } from './types.js';
import { writeValueBlockIfSet } from './value-block.js';

export type ReleaseOutcome =
  /** The leader is FREE (exclusive), or our shared mode block is gone (shared). */
  | 'released'
  /** Our dblock is RELEASED; the leader was last written by another host and was left alone (§5.2). */
  | 'released-leader-left'
  /** Nothing written: our delta lease is lost or released, the lease expires with it. */
  | 'skipped-not-joined';

export async function releaseLease(ctx: PaxosContext, held: HeldLease): Promise<ReleaseOutcome> {
  const logger = ctx.logger ?? silentLogger;
  const area = new LeaseArea(ctx.disk, held.location, held.geometry);
  const log = { resource: area.name, mode: held.mode, lver: held.lver };
  if (!stillJoined(ctx.delta, ctx.clock)) {
    logger.warn(log, 'delta lease gone: resource lease not released on disk (it expires with the host_id)');
    return 'skipped-not-joined';
  }
  if (ctx.delta.generation !== held.generation || ctx.delta.config.hostId !== held.hostId) {
    throw new PaxosError(
      'NOT_HELD',
      `${area.name} was acquired by host_id ${held.hostId} generation ${held.generation}, not by our delta lease (host_id ${ctx.delta.config.hostId} generation ${ctx.delta.generation})`,
      area.details({ lver: held.lver }),
    );
  }
  const us: OurIdentity = { hostId: held.hostId, generation: held.generation };
  if (held.mode === 'shared') {
    await writeHostSector(area, us.hostId, releasedDblock(held.dblock), null, 'dblock (release shared)');
    logger.info(log, 'released shared');
    return 'released';
  }
  // The value goes to disk while we still own the lease, so the next owner reads it (sanlock's order).
  await writeValueBlockIfSet(area, held, logger);
  try {
    await writeHostSector(area, us.hostId, releasedDblock(held.dblock), null, 'dblock (release)');
  } catch (error) {
    logger.warn(
      { ...log, error: error instanceof Error ? error.message : String(error) },
      'writing the RELEASED dblock failed; freeing the leader anyway',
    );
  }
  const outcome = await releaseLeader(area, ctx.clock, us, held.leader);
  logger.info({ ...log, outcome: outcome.kind }, 'released exclusive');
  return outcome.kind === 'freed' ? 'released' : 'released-leader-left';
}

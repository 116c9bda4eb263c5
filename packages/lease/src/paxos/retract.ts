/** Taking back a ballot value after a failed acquire (sanlock's "retract"). */
import {
  encodePaxosLeaderSector,
  LFL_SHORT_HOLD,
  type Dblock,
  type LeaderRecord,
  type ModeBlock,
} from '@leasehold/ondisk';
import { diskTimestamp } from '../clock.js';
import type { Logger } from '../logger.js';
import { releasedDblock, writeHostSector } from './host-sector.js';
import type { OurIdentity } from './identity.js';
import { LEADER_SECTOR_INDEX, type LeaseArea } from './lease-area.js';
import type { PaxosContext } from './types.js';

/**
 * Best effort, errors logged: our dblock values stay (other ballots may be reading them) but go
 * RELEASED; the leader is freed if it names us and we wrote it. If another host wrote it, our
 * RELEASED dblock tells everyone we let go (§5.3).
 */
export async function retract(
  ctx: PaxosContext,
  area: LeaseArea,
  us: OurIdentity,
  written: Dblock,
  ownMode: ModeBlock | null,
  logger: Logger,
): Promise<void> {
  const log = { resource: area.name, hostId: us.hostId, lver: written.lver };
  try {
    await writeHostSector(area, us.hostId, releasedDblock(written), ownMode, 'dblock (retract)');
    const leader = await area.readLeader(us.hostId, 'leader (retract)');
    const namesUs =
      leader.ownerId === BigInt(us.hostId) && leader.ownerGeneration === us.generation && leader.timestamp !== 0n;
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
    logger.error(
      { ...log, error: error instanceof Error ? error.message : String(error) },
      'retract after a failed acquire failed too',
    );
  }
}

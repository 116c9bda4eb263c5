/**
 * §5.2 steps 2-3: giving up the leader after our dblock went RELEASED.
 *   - read the leader (1 sector); if another host wrote it (write_id ≠ us), it committed our value
 *     after us: do not touch it, our RELEASED dblock tells everyone we let go (and we do not
 *     overwrite a leader that may be newer than ours);
 *   - otherwise it must be exactly as we left it: the same lver (else -250 RELEASE_LVER), not free,
 *     owner = us with our generation, every byte unchanged (else -251 RELEASE_OWNER);
 *   - write it with timestamp 0 (FREE), write_* = us, SHORT_HOLD cleared. owner and lver stay.
 */
import {
  encodePaxosLeaderSector,
  leaderChecksum,
  leadersIdentical,
  LFL_SHORT_HOLD,
  type LeaderRecord,
} from '@leasehold/ondisk';
import { diskTimestamp, type Clock } from '../clock.js';
import { PaxosError } from './errors.js';
import type { OurIdentity } from './identity.js';
import { LEADER_SECTOR_INDEX, type LeaseArea } from './lease-area.js';

export type LeaderReleaseOutcome =
  /** We wrote the leader FREE; `leader` is what we wrote. */
  | { kind: 'freed'; leader: LeaderRecord }
  /** Another host wrote the leader last; we left it alone. `leader` is what we read. */
  | { kind: 'left'; leader: LeaderRecord };

export async function releaseLeader(
  area: LeaseArea,
  clock: Clock,
  us: OurIdentity,
  last: LeaderRecord,
): Promise<LeaderReleaseOutcome> {
  const leader = await area.readLeader(undefined, 'leader (release)');
  if (leader.writeId !== BigInt(us.hostId)) return { kind: 'left', leader };
  if (leader.lver !== last.lver) {
    throw new PaxosError(
      'RELEASE_LVER',
      `${area.name}: release of lver ${last.lver}, but the leader is at lver ${leader.lver}`,
      area.details({ lver: leader.lver }),
    );
  }
  const ownerIsUs = leader.ownerId === BigInt(us.hostId) && leader.ownerGeneration === us.generation;
  if (leader.timestamp === 0n || !ownerIsUs || !leadersIdentical(leader, last)) {
    throw new PaxosError(
      'RELEASE_OWNER',
      `${area.name}: the leader is not as we left it (owner ${leader.ownerId} generation ${leader.ownerGeneration}, ` +
        `timestamp ${leader.timestamp}, written by ${leader.writeId}); leaving it alone`,
      area.details({ lver: leader.lver }),
    );
  }
  const freed: LeaderRecord = {
    ...leader,
    flags: (leader.flags & ~LFL_SHORT_HOLD) >>> 0,
    timestamp: 0n,
    writeId: BigInt(us.hostId),
    writeGeneration: us.generation,
    writeTimestamp: diskTimestamp(clock),
  };
  freed.checksum = leaderChecksum(freed);
  await area.writeSector(LEADER_SECTOR_INDEX, encodePaxosLeaderSector(freed, area.sectorSize), 'leader (release)');
  return { kind: 'freed', leader: freed };
}

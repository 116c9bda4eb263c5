/**
 * §5.1 step 1, "read 1", done with less I/O than sanlock.
 *
 * sanlock reads the whole align area (1-8 MiB) here, for three things: the leader, a checksum check
 * of every dblock q < num_hosts (-214), and max_mbal, the largest mbal on disk, from which it picks
 * its first ballot number. We read only the leader and our own sector, and get the other two from
 * the phase-1 ballot read, which covers the dblocks that can matter (ballot-range.ts) anyway:
 *   - the -214 check runs on the phase-1 read (ballot.ts). At that point only our phase-1 dblock is
 *     on disk: an mbal without a value, which cannot make anyone commit anything;
 *   - our first ballot number comes from our own last mbal (sanlock itself did this before 3.x
 *     added max_mbal). Ballot numbers stay ≡ host_id (mod max_hosts) and increase for us, so they
 *     stay unique: safety does not depend on how high we start. A higher mbal of another host for
 *     the same lver makes phase 1 abort, and the retry starts above every mbal the phase-1 read saw
 *     (ballot-number.ts), without the random back-off the first time (acquire-ballot.ts): that is
 *     what sanlock's max_mbal buys, paid only when such a dblock exists.
 * Which dblocks the ballots read, and why skipping those of host_ids never acquired is safe with
 * sanlock hosts and with hosts joining mid-ballot, is ballot-range.ts's subject.
 */
import type { LeaderRecord } from '@leasehold/ondisk';
import { decodeHostSectorAt, type HostSectorContents } from './host-sector.js';
import { hostSectorIndex, LEADER_SECTOR_INDEX, type LeaseArea } from './lease-area.js';

/** Up to this many sectors, leader and own sector come in one read; beyond it, two 1-sector reads. */
export const READ_FIRST_CONTIGUOUS_MAX_SECTORS = 32;

export interface FirstRead {
  leader: LeaderRecord;
  own: HostSectorContents;
  /**
   * The largest mbal in the valid dblocks this read covered: ours, and those of the lower host_ids
   * when leader and own sector came in one read. The first ballot starts above it, which spares the
   * phase-1 abort that another host's last ballot (a sanlock host with a lower host_id, say) would
   * otherwise cost every acquire that follows one of its own. Starting higher is always safe.
   */
  maxMbalSeen: bigint;
}

function maxValidMbal(bytes: Uint8Array, sectorSize: number, fromIndex: number, toIndex: number): bigint {
  let max = 0n;
  for (let index = fromIndex; index <= toIndex; index++) {
    const sector = decodeHostSectorAt(bytes, index * sectorSize);
    if (sector.dblockValid && sector.dblock.mbal > max) max = sector.dblock.mbal;
  }
  return max;
}

export async function readLeaderAndOwnSector(area: LeaseArea, hostId: number): Promise<FirstRead> {
  for (;;) {
    const ownIndex = hostSectorIndex(hostId);
    const sectorSize = area.sectorSize;
    let leaderBytes: Uint8Array;
    let ownBytes: Uint8Array;
    let ownOffsetBytes: number;
    if (ownIndex + 1 <= READ_FIRST_CONTIGUOUS_MAX_SECTORS) {
      leaderBytes = await area.read(LEADER_SECTOR_INDEX, ownIndex + 1, 'leader and own dblock');
      ownBytes = leaderBytes;
      ownOffsetBytes = ownIndex * sectorSize;
    } else {
      leaderBytes = await area.read(LEADER_SECTOR_INDEX, 1, 'leader');
      ownBytes = await area.read(ownIndex, 1, 'own dblock');
      ownOffsetBytes = 0;
    }
    const leader = area.verifyLeader(leaderBytes, hostId);
    // §5.1 step 1: a different ss/align than assumed: our sector is elsewhere, read again.
    if (area.adoptGeometry(leader)) continue;
    const own = decodeHostSectorAt(ownBytes, ownOffsetBytes);
    const ownMbal = own.dblockValid ? own.dblock.mbal : 0n;
    const lowerMbal =
      ownBytes === leaderBytes ? maxValidMbal(leaderBytes, sectorSize, hostSectorIndex(1), ownIndex - 1) : 0n;
    return { leader, own, maxMbalSeen: ownMbal > lowerMbal ? ownMbal : lowerMbal };
  }
}

/**
 * Lockspace membership as one whole-area read shows it: the highest host_id whose delta sector has
 * ever been acquired. The paxos ballots use it to read only the dblocks that can matter
 * (paxos/ballot-range.ts explains why that is safe, and for how long after the read).
 *
 * A sector counts as used when owner_id, owner_generation or timestamp is non-zero. Every acquire,
 * sanlock's and ours, writes owner_id = host_id and owner_generation >= 1 (§4 step 5), and neither
 * a renewal nor a release ever clears them, so a host_id that has once been acquired stays counted
 * until the lockspace is initialized again. Garbage in those fields also counts as used: the safe side.
 */
import { LEADER_FIELD_OFFSETS, type Geometry } from '@leasehold/ondisk';

export interface MembershipBound {
  /** The largest host_id whose delta sector shows an acquire, ever (0: none). */
  highestUsedHostId: number;
  /**
   * Our clock when the whole-area read behind this bound was ISSUED. A host_id that looked unused
   * was first written after this moment (or the read would have seen it).
   */
  readIssuedAtSeconds: number;
}

/** The u64 fields an acquire sets; all zero means the slot has never been acquired. */
const USED_MARK_FIELDS = [
  LEADER_FIELD_OFFSETS.ownerId,
  LEADER_FIELD_OFFSETS.ownerGeneration,
  LEADER_FIELD_OFFSETS.timestamp,
] as const;
const U64_BYTES = 8;

function sectorUsed(area: Uint8Array, sectorStart: number): boolean {
  for (const field of USED_MARK_FIELDS) {
    const start = sectorStart + field;
    for (let i = start; i < start + U64_BYTES; i++) if (area[i] !== 0) return true;
  }
  return false;
}

/** The bound a whole-area read shows; scans from the top, so it costs little when few host_ids are used. */
export function membershipOfArea(area: Uint8Array, geometry: Geometry, readIssuedAtSeconds: number): MembershipBound {
  const slots = Math.min(geometry.maxHosts, Math.floor(area.byteLength / geometry.sectorSize));
  for (let hostId = slots; hostId >= 1; hostId--) {
    if (sectorUsed(area, (hostId - 1) * geometry.sectorSize)) return { highestUsedHostId: hostId, readIssuedAtSeconds };
  }
  return { highestUsedHostId: 0, readIssuedAtSeconds };
}

/** Of two bounds, the one whose read was issued last (reads may complete out of order). */
export function laterMembership(current: MembershipBound | undefined, candidate: MembershipBound): MembershipBound {
  return current === undefined || candidate.readIssuedAtSeconds >= current.readIssuedAtSeconds ? candidate : current;
}

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

const { ownerId: OWNER_ID, ownerGeneration: OWNER_GENERATION, timestamp: TIMESTAMP } = LEADER_FIELD_OFFSETS;
const U32_BYTES = 4;

/**
 * True when owner_id, owner_generation or timestamp of the record at `offset` is non-zero: the slot
 * has been acquired. Read as u32 halves, without BigInts: whole-area reads test 2000 slots at a time.
 */
export function deltaSlotUsed(view: DataView, offset: number): boolean {
  return (
    (view.getUint32(offset + OWNER_ID) |
      view.getUint32(offset + OWNER_ID + U32_BYTES) |
      view.getUint32(offset + OWNER_GENERATION) |
      view.getUint32(offset + OWNER_GENERATION + U32_BYTES) |
      view.getUint32(offset + TIMESTAMP) |
      view.getUint32(offset + TIMESTAMP + U32_BYTES)) !==
    0
  );
}

/** The bound a whole-area read shows; scans from the top, so it costs little when few host_ids are used. */
export function membershipOfArea(area: Uint8Array, geometry: Geometry, readIssuedAtSeconds: number): MembershipBound {
  const slots = Math.min(geometry.maxHosts, Math.floor(area.byteLength / geometry.sectorSize));
  const view = new DataView(area.buffer, area.byteOffset, area.byteLength);
  for (let hostId = slots; hostId >= 1; hostId--) {
    if (deltaSlotUsed(view, (hostId - 1) * geometry.sectorSize))
      return { highestUsedHostId: hostId, readIssuedAtSeconds };
  }
  return { highestUsedHostId: 0, readIssuedAtSeconds };
}

/** Of two bounds, the one whose read was issued last (reads may complete out of order). */
export function laterMembership(current: MembershipBound | undefined, candidate: MembershipBound): MembershipBound {
  return current === undefined || candidate.readIssuedAtSeconds >= current.readIssuedAtSeconds ? candidate : current;
}

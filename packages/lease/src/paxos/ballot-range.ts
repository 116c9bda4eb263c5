/**
 * Which dblocks a ballot reads (§5.1 step 4, §7.2).
 *
 * sanlock reads every dblock q < num_hosts in both phases: 1 MiB per read at the default
 * num_hosts 2000 on 512-byte sectors, 8 MiB on 4K/8M. Most of those sectors belong to host_ids
 * nobody has ever used. We read the leader, the request sector and the dblocks of host_ids
 * 1..M, where M is the highest host_id whose delta sector a recent whole-area read of the
 * lockspace showed as ever acquired (delta/membership.ts), and at least our own.
 *
 * Why skipping the dblocks above M stays safe:
 *
 * 1. Only a host that holds host_id q in the resource's lockspace writes dblock q. (sanlock's
 *    daemon adds the lockspace before any resource of it can be acquired; `sanlock direct acquire`
 *    does not, and is outside this argument, as it is outside sanlock's own safety.)
 * 2. A dblock above M was never written by a past holder: its host_id had never been acquired
 *    when the membership read was issued, at time T (our clock), and acquiring one writes
 *    owner_id and owner_generation, which stay (delta/membership.ts). So it holds no accepted
 *    value and no mbal from before T. (Initializing the lockspace again while its resources keep
 *    old dblocks breaks this, as it breaks sanlock's host_id generations: do not do that.)
 * 3. A host that acquires such a host_id after T writes its delta sector after T, then waits
 *    2 x N' before it may use it (§4 step 6; our acquire waits the same), where N' >= 1 s is the
 *    io_timeout on disk. So its first dblock write starts after T + JOIN_WAIT_MIN_SECONDS.
 * 4. A phase of our ballot is: write our dblock, then read the dblocks. If that read completed
 *    before T + JOIN_WAIT_MIN_SECONDS, every write of a newcomer comes after our write AND after
 *    our read. Its own phase reads come after its writes, so they read our dblock as we wrote it:
 *    Disk Paxos needs, for every pair of hosts in a phase, that one of the two reads the other's
 *    write, and here the newcomer always reads ours. Its phase 1 then sees our mbal (and aborts if
 *    it is lower) and our accepted value (and carries it forward), exactly as if it had joined
 *    after our ballot; nothing we skipped could have changed our decision.
 *    sanlock hosts read every dblock, so they see ours in any case.
 * 5. Clocks: the newcomer measures its wait on its clock, we measure ours on ours. Both are
 *    monotonic; sanlock already assumes they run at about the same rate. We accept a partial read
 *    only if it completed within MEMBERSHIP_VALID_SECONDS, half the join wait, of T, which leaves
 *    the other half as margin.
 * 6. A phase whose partial read completed later than that is not used: the phase reads the whole
 *    range (every q < num_hosts), as sanlock does. That read also comes after our write, so the
 *    phase is a plain sanlock phase. A ballot starts with a fresh bound: the last whole-area read
 *    if it was issued less than MEMBERSHIP_REUSE_SECONDS ago, otherwise a new one (1 read of the
 *    lockspace area, shared by every ballot of the next second).
 *
 * Hosts joining mid-ballot are exactly the newcomers of point 3; the simulator runs late joiners
 * with the highest host_ids against ballots in flight (packages/sim/test/paxos-*.test.ts), and a
 * variant with a too-long validity window to show the limit is what keeps them apart.
 *
 * What sanlock's full read also does that we give up above M: the -214 check of dblock checksums
 * (a sector above M holds nothing anyone decided) and the count of SHARED mode blocks (a shared
 * holder holds a host_id, so it is at most M).
 */
import { ballotReadSectors, type Geometry } from '@leasehold/ondisk';
import type { Clock } from '../clock.js';
import type { PaxosDeltaView } from '../delta/paxos-view.js';
import type { MembershipBound } from '../delta/membership.js';
import { hostSectorIndex } from './lease-area.js';

/** io_timeout is a whole number of seconds, at least 1 (sanlock's and ours). */
export const MIN_IO_TIMEOUT_SECONDS = 1;
/** The shortest wait between a newcomer's first delta write and its first dblock write: 2 x N', N' >= 1. */
export const JOIN_WAIT_MIN_SECONDS = 2 * MIN_IO_TIMEOUT_SECONDS;
/** A partial phase read counts only if it completed within this long after the membership read was issued. */
export const MEMBERSHIP_VALID_SECONDS = JOIN_WAIT_MIN_SECONDS / 2;
/** A ballot starts on the last membership read only if it was issued less than this long ago. */
export const MEMBERSHIP_REUSE_SECONDS = MEMBERSHIP_VALID_SECONDS / 2;

/** How a ballot reads its dblocks. */
export interface BallotReadPlan {
  /** The whole range every phase falls back to: roundup_pow2(num_hosts + 2) sectors (§5.1). */
  fullSectors: number;
  /** The sectors of a partial read (leader, request, dblocks 1..M), or undefined when partial reads are not used. */
  partialSectors: number | undefined;
  /** The membership read the partial reads rely on. */
  bound: MembershipBound | undefined;
  /** The validity window (MEMBERSHIP_VALID_SECONDS; tests may widen it to show why it matters). */
  validSeconds: number;
}

/** Test hook: how long a membership bound is trusted. Anything above MEMBERSHIP_VALID_SECONDS is unsafe. */
export interface BallotRangeOptions {
  membershipValidSeconds?: number;
  /** Read every dblock q < num_hosts in every phase, as sanlock does. */
  fullReads?: boolean;
}

/** The bound to start a ballot with: the latest one if recent enough, otherwise a new whole-area read. */
export async function freshMembership(
  delta: PaxosDeltaView,
  clock: Clock,
  reuseSeconds: number,
): Promise<MembershipBound> {
  const latest = delta.membership();
  if (latest !== undefined && clock.nowSeconds() - latest.readIssuedAtSeconds < reuseSeconds) return latest;
  return delta.readMembership();
}

export async function planBallotReads(
  delta: PaxosDeltaView,
  clock: Clock,
  geometry: Geometry,
  numHosts: number,
  ourHostId: number,
  options: BallotRangeOptions = {},
): Promise<BallotReadPlan> {
  const fullSectors = ballotReadSectors(numHosts, geometry);
  const validSeconds = options.membershipValidSeconds ?? MEMBERSHIP_VALID_SECONDS;
  // Small ranges: one read is as cheap as the membership read it would need.
  if (options.fullReads === true || fullSectors <= PARTIAL_READ_WORTH_SECTORS) {
    return { fullSectors, partialSectors: undefined, bound: undefined, validSeconds };
  }
  const bound = await freshMembership(delta, clock, validSeconds / 2);
  const highest = Math.max(bound.highestUsedHostId, ourHostId);
  const partialSectors = hostSectorIndex(highest) + 1;
  if (partialSectors >= fullSectors) return { fullSectors, partialSectors: undefined, bound: undefined, validSeconds };
  return { fullSectors, partialSectors, bound, validSeconds };
}

/** Below this many sectors (64 KiB at 512 bytes) a whole-range read is not worth avoiding. */
export const PARTIAL_READ_WORTH_SECTORS = 128;

/** Whether a partial read that completed now may stand for the whole range (point 5 above). */
export function partialReadValid(plan: BallotReadPlan, clock: Clock): boolean {
  return plan.bound !== undefined && clock.nowSeconds() - plan.bound.readIssuedAtSeconds < plan.validSeconds;
}

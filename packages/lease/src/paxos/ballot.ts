/**
 * One Disk-Paxos ballot on one disk (§5.1 step 4), the way sanlock runs it so that sanlock hosts and
 * ours can run ballots against each other:
 *   phase 1: write our dblock {mbal, bal 0, inp 0, lver next_lver, flags 0}; read the ballot range;
 *            evaluate every q < num_hosts (ballot-scan.ts); choose bk_max's value or our own;
 *   phase 2: write our dblock {mbal, bal = mbal, inp, inp2, inp3, lver}; read the ballot range again
 *            with the same abort rules.
 * Each write is our whole sector, so our mode block goes with it: zero normally, SHARED while we
 * convert a shared hold to exclusive (§5.4, §7.7).
 * The reads cover the dblocks of the host_ids that can matter (ballot-range.ts says which, and why
 * that is safe); a phase whose partial read came too late reads the whole range instead.
 */
import { encodeDblock, DBLOCK_BYTES, type Dblock, type ModeBlock } from '@leasehold/ondisk';
import { diskTimestamp, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { assertOurBallot } from './ballot-number.js';
import { partialReadValid, type BallotReadPlan } from './ballot-range.js';
import { scanBallotRead, type BallotAbort, type BallotScan } from './ballot-scan.js';
import { PaxosError } from './errors.js';
import { EMPTY_DBLOCK, writeHostSector } from './host-sector.js';
import { hostSectorIndex, LEADER_SECTOR_INDEX, type LeaseArea } from './lease-area.js';

/** sanlock's DBLOCK_CHECKSUM (-214): a damaged dblock fails the acquire. */
const DBLOCK_CHECKSUM_ERRNO = -214;

export interface BallotInput {
  area: LeaseArea;
  hostId: number;
  generation: bigint;
  /** The step-1 leader's num_hosts and max_hosts. */
  numHosts: number;
  maxHosts: bigint;
  nextLver: bigint;
  mbal: bigint;
  /** Which sectors the phase reads cover (ballot-range.ts). */
  reads: BallotReadPlan;
  /** Our mode block for both writes: null (zeroed) normally, SHARED during SH→EX conversion. */
  ownMode: ModeBlock | null;
  /**
   * A value we accepted earlier for this same lver (our dblock with bal and inp set). Phase 1 keeps
   * it, as Disk Paxos keeps an acceptor's (bal, inp) when it raises mbal. sanlock's phase 1 zeroes
   * them instead; we do not, because then a host whose own dblock is the only record of a decided
   * value (its commit overwritten by a late commit of an older lver) would decide that lver again
   * with another value. Sanlock hosts read such a dblock as an accepted value at `bal`, which it is.
   */
  keepAccepted: Dblock | undefined;
  clock: Clock;
  logger: Logger;
  /** Told before each dblock write: what our sector may hold from now on (for release and retract). */
  onWriting(dblock: Dblock, phase: 1 | 2): void;
}

export type BallotOutcome =
  | { kind: 'accepted'; dblock: Dblock; sharedHostIds: number[] }
  | {
      kind: 'aborted';
      abort: BallotAbort;
      maxMbal: bigint;
      /** Set when phase 1 completed (the abort came in phase 2): the SHARED mode blocks it saw. */
      sharedHostIds?: number[];
    };

/** The dblock as encoded (its checksum filled in), so what we remember equals what is on disk. */
function sealed(dblock: Dblock): Dblock {
  return { ...dblock, checksum: encodeDblock(dblock, new Uint8Array(DBLOCK_BYTES)) };
}

export async function runBallot(input: BallotInput): Promise<BallotOutcome> {
  const { area, hostId, nextLver, mbal } = input;
  assertOurBallot(mbal, hostId, input.maxHosts);
  const log = { resource: area.name, lver: nextLver, mbal };

  const kept = input.keepAccepted?.lver === nextLver ? input.keepAccepted : undefined;
  const phase1 = sealed({
    ...EMPTY_DBLOCK,
    mbal,
    lver: nextLver,
    ...(kept === undefined ? {} : { bal: kept.bal, inp: kept.inp, inp2: kept.inp2, inp3: kept.inp3 }),
  });
  input.onWriting(phase1, 1);
  await writeHostSector(area, hostId, phase1, input.ownMode, 'phase-1 dblock');
  const scan1 = scan(input, await readPhase(input, 1), mbal, 1);
  checkOwnSector(input, scan1, phase1);
  // sanlock's read-1 rule, carried by the phase-1 read (read-first.ts): a damaged dblock for any
  // q < num_hosts fails the acquire (-214). The ballot scans themselves skip it, as sanlock's do.
  if (scan1.badChecksumHostIds.length > 0) {
    throw new PaxosError(
      'CORRUPT',
      `${area.name}: bad dblock checksum in the sector of host_id ${scan1.badChecksumHostIds.join(', ')}`,
      area.details({ lver: nextLver - 1n }),
      { sanlockErrno: DBLOCK_CHECKSUM_ERRNO },
    );
  }
  if (scan1.abort !== undefined) {
    input.logger.debug({ ...log, abort: scan1.abort.reason, by: scan1.abort.hostId }, 'ballot phase 1 aborted');
    return { kind: 'aborted', abort: scan1.abort, maxMbal: scan1.maxMbal };
  }

  // "If nonInitBlks is empty, p sets inp to its own input; otherwise to bk.inp of the largest bal."
  const carried = scan1.highestAccepted?.dblock;
  const phase2 = sealed({
    ...phase1,
    bal: mbal,
    inp: carried?.inp ?? BigInt(hostId),
    inp2: carried?.inp2 ?? input.generation,
    // §7.4: inp3 becomes leader.timestamp, where 0 means FREE: diskTimestamp is never 0.
    inp3: carried?.inp3 ?? diskTimestamp(input.clock),
  });
  if (carried !== undefined) {
    input.logger.info(
      { ...log, from: scan1.highestAccepted?.hostId, inp: carried.inp, bal: carried.bal },
      'ballot carries an accepted value forward',
    );
  }
  input.onWriting(phase2, 2);
  await writeHostSector(area, hostId, phase2, input.ownMode, 'phase-2 dblock');
  const scan2 = scan(input, await readPhase(input, 2), mbal, 2);
  checkOwnSector(input, scan2, phase2);
  if (scan2.abort !== undefined) {
    input.logger.debug({ ...log, abort: scan2.abort.reason, by: scan2.abort.hostId }, 'ballot phase 2 aborted');
    return { kind: 'aborted', abort: scan2.abort, maxMbal: scan2.maxMbal, sharedHostIds: scan1.sharedHostIds };
  }
  return { kind: 'accepted', dblock: phase2, sharedHostIds: scan1.sharedHostIds };
}

/** One phase's read, issued after our write: the partial range while the plan allows it, else the whole. */
async function readPhase(input: BallotInput, phase: 1 | 2): Promise<Uint8Array> {
  const { area, reads } = input;
  // A bound already too old when the read is issued cannot make it valid: go straight to the whole range.
  if (reads.partialSectors !== undefined && partialReadValid(reads, input.clock)) {
    const partial = await area.read(
      LEADER_SECTOR_INDEX,
      reads.partialSectors,
      `phase-${phase} ballot range (host_ids in use)`,
    );
    if (partialReadValid(reads, input.clock)) return partial;
    input.logger.debug(
      { resource: area.name, phase },
      'partial ballot read completed too late; reading the whole range',
    );
  }
  return area.read(LEADER_SECTOR_INDEX, reads.fullSectors, `phase-${phase} ballot range`);
}

function scan(input: BallotInput, bytes: Uint8Array, ourMbal: bigint, phase: 1 | 2): BallotScan {
  const sectorSize = input.area.sectorSize;
  // The dblocks this read holds: q < num_hosts, and only as far as the read reaches.
  const coveredHosts = Math.min(input.numHosts, bytes.byteLength / sectorSize - hostSectorIndex(1));
  return scanBallotRead({
    bytes,
    sectorSize,
    numHosts: coveredHosts,
    nextLver: input.nextLver,
    ourMbal,
    ourHostId: input.hostId,
    phase,
  });
}

/**
 * Safety assertion: the read that follows our write must show our sector as we wrote it. Anything
 * else means another writer uses our host_id (or zeroed our sector), and no ballot result is sound.
 */
function checkOwnSector(input: BallotInput, result: BallotScan, written: Dblock): void {
  const seen = result.ownDblock;
  if (
    seen !== undefined &&
    seen.mbal === written.mbal &&
    seen.bal === written.bal &&
    seen.inp === written.inp &&
    seen.inp2 === written.inp2 &&
    seen.inp3 === written.inp3 &&
    seen.lver === written.lver
  ) {
    return;
  }
  throw new PaxosError(
    'CORRUPT',
    `${input.area.name}: the sector of host_id ${input.hostId} changed right after we wrote it ` +
      `(another host is using host_id ${input.hostId}, or cleared our sector)`,
    input.area.details({ lver: input.nextLver - 1n }),
  );
}

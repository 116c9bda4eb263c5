/**
 * Evaluation of one ballot read (§5.1 step 4, §7.2): every dblock the read holds below num_hosts (all
 * of them, or those of the host_ids in use: ballot-range.ts), not only those of hosts we know, with
 * sanlock's rules in sanlock's order for each q:
 *   - skip it if its checksum is bad (all-zero counts as valid and empty);
 *   - phase 1 only: if its mode block is SHARED, remember host q+1;
 *   - ignore it if its lver < next_lver;
 *   - abort if its lver > next_lver (-212) or its mbal > our mbal (-213);
 *   - phase 1 only: among those with inp != 0 and bal != 0 keep the one with the largest bal (bk_max).
 * The scan goes on past the first abort only to learn the largest mbal for the retry.
 */
import { MODE_BLOCK_OFFSET_BYTES, type Dblock } from '@leasehold/ondisk';
import { decodeHostSectorAt, isShared } from './host-sector.js';
import { hostIdOfDblockIndex, hostSectorIndex } from './lease-area.js';

export type BallotAbortReason = 'lver' | 'mbal';

export interface BallotAbort {
  reason: BallotAbortReason;
  /** The host whose dblock made us abort. */
  hostId: number;
  dblock: Dblock;
}

export interface BallotScan {
  abort: BallotAbort | undefined;
  /** Largest mbal among valid dblocks with lver >= next_lver (the only ones that can make us abort). */
  maxMbal: bigint;
  /** bk_max: the accepted value with the largest bal (phase 1), if any. */
  highestAccepted: { hostId: number; dblock: Dblock } | undefined;
  /** Hosts whose mode block is SHARED (phase 1), ourselves included if ours is. */
  sharedHostIds: number[];
  /** Hosts whose dblock checksum is wrong (skipped, as sanlock's ballots do). */
  badChecksumHostIds: number[];
  /** Our own dblock as read back. */
  ownDblock: Dblock | undefined;
}

export interface BallotScanInput {
  /** The ballot read: sectors 0 .. n-1 of the area (numHosts below is limited to the dblocks it holds). */
  bytes: Uint8Array;
  sectorSize: number;
  numHosts: number;
  nextLver: bigint;
  ourMbal: bigint;
  ourHostId: number;
  /** Phase 1 also counts SHARED mode blocks and chooses bk_max. */
  phase: 1 | 2;
}

/** Bytes of the per-host sector that carry anything: the dblock and the mode block. */
const MEANINGFUL_PREFIX_BYTES = MODE_BLOCK_OFFSET_BYTES + 16;

const WORD_BYTES = 4;

/** Zero test of bytes[start, start+length), a word at a time when the buffer allows (2000 sectors per read). */
function zeroTester(bytes: Uint8Array): (start: number, length: number) => boolean {
  if (bytes.byteOffset % WORD_BYTES === 0 && bytes.byteLength % WORD_BYTES === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / WORD_BYTES);
    return (start, length) => {
      for (let i = start / WORD_BYTES, end = (start + length) / WORD_BYTES; i < end; i++)
        if (words[i] !== 0) return false;
      return true;
    };
  }
  return (start, length) => {
    for (let i = start; i < start + length; i++) if (bytes[i] !== 0) return false;
    return true;
  };
}

export function scanBallotRead(input: BallotScanInput): BallotScan {
  const { bytes, sectorSize, numHosts, nextLver, ourMbal, phase } = input;
  const scan: BallotScan = {
    abort: undefined,
    maxMbal: 0n,
    highestAccepted: undefined,
    sharedHostIds: [],
    badChecksumHostIds: [],
    ownDblock: undefined,
  };
  const allZero = zeroTester(bytes);
  for (let q = 0; q < numHosts; q++) {
    const hostId = hostIdOfDblockIndex(q);
    const start = hostSectorIndex(hostId) * sectorSize;
    // Most sectors of a lease are untouched (direct init zeroes them): nothing to evaluate there.
    if (allZero(start, MEANINGFUL_PREFIX_BYTES)) continue;
    const { dblock, mode, dblockValid } = decodeHostSectorAt(bytes, start);
    if (hostId === input.ourHostId) scan.ownDblock = dblock;
    if (!dblockValid) {
      scan.badChecksumHostIds.push(hostId);
      continue;
    }
    if (phase === 1 && isShared(mode)) scan.sharedHostIds.push(hostId);
    if (dblock.lver < nextLver) continue;
    if (dblock.mbal > scan.maxMbal) scan.maxMbal = dblock.mbal;
    if (scan.abort !== undefined) continue;
    if (dblock.lver > nextLver) {
      scan.abort = { reason: 'lver', hostId, dblock };
      continue;
    }
    if (dblock.mbal > ourMbal) {
      scan.abort = { reason: 'mbal', hostId, dblock };
      continue;
    }
    if (phase === 2 || dblock.inp === 0n || dblock.bal === 0n) continue;
    if (scan.highestAccepted === undefined || dblock.bal > scan.highestAccepted.dblock.bal) {
      scan.highestAccepted = { hostId, dblock };
    }
  }
  return scan;
}

/**
 * Our own per-host sector (§1.4, §1.5, §7.7): dblock at byte 0, mode block at byte 128, zero
 * padding. One sector per write, so the dblock and the mode block always change together: a plain
 * dblock write clears the mode block, and the SH→EX conversion writes the SHARED mode block with
 * each ballot dblock so our shared hold is never dropped.
 */
import {
  DBLOCK_CHECKSUM_COVERED_BYTES,
  DBLOCK_FL_RELEASED,
  MBLOCK_SHARED,
  dblockIsEmpty,
  sanlockChecksum,
  decodeHostSector,
  encodeHostSector,
  type Dblock,
  type ModeBlock,
} from '@leasehold/ondisk';
import { hostSectorIndex, type LeaseArea } from './lease-area.js';

/** A dblock with no values (what `direct init` leaves): also the base of phase-1 dblocks. */
export const EMPTY_DBLOCK: Readonly<Dblock> = Object.freeze({
  mbal: 0n,
  bal: 0n,
  inp: 0n,
  inp2: 0n,
  inp3: 0n,
  lver: 0n,
  checksum: 0,
  flags: 0,
});

/** The SHARED mode block of a shared holder of generation `generation` (§5.4). */
export function sharedModeBlock(generation: bigint): ModeBlock {
  return { flags: MBLOCK_SHARED, generation };
}

export function isShared(mode: ModeBlock): boolean {
  return (mode.flags & MBLOCK_SHARED) !== 0;
}

/** The same dblock values with RELEASED set: "this host has let go" (§5.3); the checksum does not cover flags. */
export function releasedDblock(dblock: Dblock): Dblock {
  return { ...dblock, flags: (dblock.flags | DBLOCK_FL_RELEASED) >>> 0 };
}

export function isReleased(dblock: Dblock): boolean {
  return (dblock.flags & DBLOCK_FL_RELEASED) !== 0;
}

/** Writes host `hostId`'s sector: `dblock` (checksum computed) and `mode` (null: zero). */
export async function writeHostSector(
  area: LeaseArea,
  hostId: number,
  dblock: Dblock,
  mode: ModeBlock | null,
  what: string,
): Promise<void> {
  await area.writeSector(hostSectorIndex(hostId), encodeHostSector(dblock, mode, area.sectorSize), what);
}

/** §5.4: a dead shared holder's whole sector is zeroed (dblock and mode block). */
export async function zeroHostSector(area: LeaseArea, hostId: number): Promise<void> {
  await area.writeSector(
    hostSectorIndex(hostId),
    new Uint8Array(area.sectorSize),
    `sector of dead shared holder ${hostId}`,
  );
}

export interface HostSectorContents {
  dblock: Dblock;
  mode: ModeBlock;
  /** False when the dblock's checksum is wrong (an all-zero dblock is valid). */
  dblockValid: boolean;
}

/** Reads one host's sector (1 sector). */
export async function readHostSector(area: LeaseArea, hostId: number, what: string): Promise<HostSectorContents> {
  const bytes = await area.read(hostSectorIndex(hostId), 1, what);
  return decodeHostSectorAt(bytes, 0);
}

export function decodeHostSectorAt(bytes: Uint8Array, offsetBytes: number): HostSectorContents {
  const { dblock, mode } = decodeHostSector(bytes, offsetBytes);
  // §0: the checksum covers the 48 bytes before it as stored; an all-zero dblock is valid and empty.
  const dblockValid =
    dblockIsEmpty(dblock) || sanlockChecksum(bytes, offsetBytes, DBLOCK_CHECKSUM_COVERED_BYTES) === dblock.checksum;
  return { dblock, mode, dblockValid };
}

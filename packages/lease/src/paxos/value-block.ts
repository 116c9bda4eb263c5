/**
 * The lease's value block (sanlock's LVB, §2.3): one sector at sector 2002 of the lease area, read
 * when a lease is acquired with the value block enabled and written back by an exclusive holder when
 * it lets go. The semantics follow sanlock 3.8 (SANLK_ACQUIRE_LVB, get_lvb, set_lvb):
 *   - acquire (EX or SH) with the value block reads the whole sector into the held lease;
 *   - set copies the caller's bytes over the start of that copy and marks it to be written;
 *   - an exclusive release, and an EX→SH conversion, write the whole sector first when marked;
 *     a shared release writes nothing (a SH holder can only read the value);
 *   - get returns the first `size` bytes (default: the sector).
 * sanlock reads and writes sector 2002 even where it lies beyond the lease's own area (4K sectors
 * with 1-4 MiB align), landing in whatever follows; leasehold refuses the value block there.
 */
import { LVB_SECTOR_INDEX, formatAlignSize, lvbInsideArea, type Geometry } from '@leasehold/ondisk';
import type { Logger } from '../logger.js';
import { PaxosError } from './errors.js';
import type { LeaseArea } from './lease-area.js';
import { describeLocation, type HeldLease } from './types.js';

export interface LeaseValueBlock {
  /** One sector: what was read at acquire, with any set value over its start. */
  readonly bytes: Uint8Array;
  /** A value was set: an exclusive release writes `bytes` back (sanlock's R_LVB_WRITE_RELEASE). */
  readonly writeOnRelease: boolean;
}

/** Throws INVALID_ARGUMENT where sanlock's LVB sector would fall outside the lease's area. */
export function checkValueBlockGeometry(geometry: Geometry, what: string): void {
  if (!lvbInsideArea(geometry)) {
    throw new PaxosError(
      'INVALID_ARGUMENT',
      `${what}: a value block needs 512-byte sectors or 4K sectors with 8M align; with ${geometry.sectorSize}/${formatAlignSize(geometry.alignBytes)} its sector ${LVB_SECTOR_INDEX} would lie past the lease`,
    );
  }
}

/** Reads the value block sector of the lease in `area` (after a successful acquire). */
export async function readValueBlock(area: LeaseArea): Promise<LeaseValueBlock> {
  checkValueBlockGeometry(area.geometry, area.name);
  return { bytes: await area.read(LVB_SECTOR_INDEX, 1, 'value block'), writeOnRelease: false };
}

function valueBlockOf(held: HeldLease): LeaseValueBlock {
  if (held.valueBlock === undefined) {
    // sanlock: -EINVAL
    throw new PaxosError(
      'INVALID_ARGUMENT',
      `${describeLocation(held.location)} was not acquired with its value block`,
      {
        spaceName: held.location.spaceName,
        resourceName: held.location.resourceName,
        offsetBytes: held.location.offsetBytes,
      },
    );
  }
  return held.valueBlock;
}

/** sanlock's set_lvb: `data` (at most one sector) over the start of the held copy, written at release. */
export function setValueBlock(held: HeldLease, data: Uint8Array): HeldLease {
  const current = valueBlockOf(held);
  if (data.byteLength > current.bytes.byteLength) {
    // sanlock: -E2BIG
    throw new PaxosError(
      'INVALID_ARGUMENT',
      `a value block holds at most ${current.bytes.byteLength} bytes (one sector), not ${data.byteLength}`,
      {
        spaceName: held.location.spaceName,
        resourceName: held.location.resourceName,
      },
    );
  }
  const bytes = current.bytes.slice();
  bytes.set(data, 0);
  return { ...held, valueBlock: { bytes, writeOnRelease: true } };
}

/** sanlock's get_lvb: the first `sizeBytes` of the held copy (0 or absent: the whole sector). */
export function getValueBlock(held: HeldLease, sizeBytes = 0): Uint8Array {
  const current = valueBlockOf(held);
  if (!Number.isInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > current.bytes.byteLength) {
    throw new PaxosError(
      'INVALID_ARGUMENT',
      `value block size must be 0-${current.bytes.byteLength} bytes, not ${sizeBytes}`,
    );
  }
  return current.bytes.slice(0, sizeBytes === 0 ? current.bytes.byteLength : sizeBytes);
}

/**
 * Before an exclusive holder lets go: writes the value block when one was set. A failure is logged,
 * not thrown (as sanlock): releasing the lease matters more than the value, and a reader that finds
 * the old value rereads what it caches.
 */
export async function writeValueBlockIfSet(area: LeaseArea, held: HeldLease, logger: Logger): Promise<boolean> {
  if (held.mode !== 'exclusive' || held.valueBlock === undefined || !held.valueBlock.writeOnRelease) return false;
  try {
    await area.writeSector(LVB_SECTOR_INDEX, held.valueBlock.bytes, 'value block');
    return true;
  } catch (error) {
    logger.error(
      { resource: area.name, error: error instanceof Error ? error.message : String(error) },
      'writing the value block failed',
    );
    return false;
  }
}

/**
 * §6 requests, the requester's side (`sanlock client request -r LS:RES:path:off:LVER -f MODE`).
 *  1. read the leader; free → success, nothing written (a free lease ignores requests, §7.12);
 *     leader.lver >= LVER → REQUEST_OLD (-272). NEXT_LVER: LVER = leader.lver + 1.
 *  2. read the request record: magic (-270) and major version (-271); a pending request for a
 *     larger lver → REQUEST_LVER (-273) (">" so several hosts may ask for the same lver at once).
 *     Write {magic, version, lver, force_mode} to sector 1.
 *     LVER 0 with mode 0 clears the request and skips the leader check.
 *  3. set the owner's bit in our delta-lease bitmap (for set_bitmap_seconds), so the owner looks.
 * The record is not cleared by the owner: requests persist on disk.
 */
import type { Disk } from '@leasehold/disk';
import {
  encodeRequestSector,
  FORCE_MODE_GRACEFUL,
  FORCE_MODE_KILL,
  FORCE_MODE_NONE,
  namesEqual,
  REQUEST_MAGIC,
  REQUEST_VERSION,
  verifyRequest,
  type Geometry,
} from '@leasehold/ondisk';
import type { PaxosDeltaView } from '../delta/paxos-view.js';
import { silentLogger, type Logger } from '../logger.js';
import { PaxosError, toPaxosError } from './errors.js';
import { stillJoined } from './identity.js';
import { LeaseArea, REQUEST_SECTOR_INDEX } from './lease-area.js';
import type { ResourceLocation } from './types.js';

export type ForceMode = typeof FORCE_MODE_NONE | typeof FORCE_MODE_KILL | typeof FORCE_MODE_GRACEFUL;

const FORCE_MODES: readonly number[] = [FORCE_MODE_NONE, FORCE_MODE_KILL, FORCE_MODE_GRACEFUL];

export interface RequestOptions {
  /** The lease version asked for: the owner acts when it is greater than the lver it holds. */
  lver: bigint;
  forceMode: ForceMode;
  /** sanlock's NEXT_LVER: ask for the leader's lver + 1 (`lver` is ignored). */
  nextLver?: boolean;
}

export interface RequestIo {
  disk: Disk;
  /** Our delta lease in the lease's lockspace: needed to ping the owner (without it, nothing tells the owner to look). */
  delta?: PaxosDeltaView;
  logger?: Logger;
  geometry?: Geometry;
}

export interface RequestResult {
  /** The owner named by the leader (0 when the lease is free or the request was a clear). */
  ownerId: bigint;
  /** The lver written (or that would have been). */
  lver: bigint;
  /** False when the lease was free: nothing was written. */
  written: boolean;
  /** True when the owner's bit was set in our delta lease. */
  pinged: boolean;
}

export async function requestLease(
  io: RequestIo,
  location: ResourceLocation,
  options: RequestOptions,
): Promise<RequestResult> {
  const logger = io.logger ?? silentLogger;
  if (!FORCE_MODES.includes(options.forceMode)) {
    throw new PaxosError(
      'INVALID_ARGUMENT',
      `force mode must be 0 (none), 1 (kill) or 2 (graceful), got ${String(options.forceMode)}`,
    );
  }
  if (options.lver < 0n) throw new PaxosError('INVALID_ARGUMENT', `lver must not be negative, got ${options.lver}`);
  const area = new LeaseArea(io.disk, location, io.geometry);
  const clearing = !options.nextLver && options.lver === 0n && options.forceMode === FORCE_MODE_NONE;

  // Read even when clearing: the leader tells where sector 1 is (its sector size, §7.10).
  const leader = await area.readLeader(undefined, 'leader (request)');
  let lver = options.lver;
  let ownerId = 0n;
  if (!clearing) {
    if (leader.timestamp === 0n) {
      logger.info({ resource: area.name, lver: leader.lver }, 'request: lease is free, nothing written');
      return { ownerId: 0n, lver, written: false, pinged: false };
    }
    ownerId = leader.ownerId;
    if (options.nextLver) lver = leader.lver + 1n;
    if (leader.lver >= lver) {
      throw new PaxosError(
        'REQUEST_OLD',
        `${area.name}: the lease is already at lver ${leader.lver} (owner host_id ${leader.ownerId}); request a larger lver than ${lver}`,
        area.details({ lver: leader.lver }),
      );
    }
  }

  const bytes = await area.read(REQUEST_SECTOR_INDEX, 1, 'request record');
  let current;
  try {
    current = verifyRequest(bytes, 0, area.sectorOffsetBytes(REQUEST_SECTOR_INDEX));
  } catch (error) {
    throw toPaxosError(error, `request record of ${area.name}`, area.details({ lver: leader.lver }));
  }
  if (!clearing && current.lver > lver) {
    throw new PaxosError(
      'REQUEST_LVER',
      `${area.name}: a request for lver ${current.lver} is already pending, larger than ${lver}`,
      area.details({ lver: leader.lver }),
    );
  }
  const record = { magic: REQUEST_MAGIC, version: REQUEST_VERSION, lver, forceMode: options.forceMode };
  await area.writeSector(REQUEST_SECTOR_INDEX, encodeRequestSector(record, area.sectorSize), 'request record');

  let pinged = false;
  if (
    ownerId !== 0n &&
    io.delta !== undefined &&
    namesEqual(io.delta.config.spaceName, location.spaceName) &&
    stillJoined(io.delta)
  ) {
    io.delta.pingHost(Number(ownerId));
    pinged = true;
  }
  logger.info(
    { resource: area.name, lver, forceMode: options.forceMode, ownerId, pinged },
    clearing ? 'request cleared' : 'request written',
  );
  return { ownerId, lver, written: true, pinged };
}

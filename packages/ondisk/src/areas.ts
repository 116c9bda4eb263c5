/**
 * Whole-area images as `sanlock direct init` writes them (one write of align bytes):
 *
 * Lockspace (`-s LS:0:path:off -o N`): sectors 0..max_hosts-1 each hold the same free delta leader
 * (magic, version 3.4, align flag, ss, num_hosts 0, max_hosts 1, space name, io_timeout N, all else 0);
 * bytes 200..ss-1 of every sector and the spare sectors are zero. (sanlock commits in two writes:
 * the area with sector 0's magic zeroed, then sector 0; the final image is what is built here.)
 *
 * Resource (`-r LS:R:path:off [-n N] [-z 1]`): sector 0 the paxos leader (version 6.4, align flag, ss,
 * num_hosts, max_hosts, both names, all else 0), sector 1 the request record (version 1.1, lver 0,
 * force_mode 0), every other byte zero (dblocks, mode blocks, the LVB when inside the area).
 * CLEAR (`-z 1`): the same with magic 0x11282016 and write_timestamp = the monotonic time of the init;
 * write_timestamp is not covered by the checksum, so only those 8 bytes depend on the clock.
 */
import {
  CLEAR_LEADER_MAGIC,
  DEFAULT_IO_TIMEOUT_SECONDS,
  DELTA_LEADER_MAGIC,
  DELTA_LEADER_VERSION,
  FORCE_MODE_NONE,
  PAXOS_LEADER_MAGIC,
  PAXOS_LEADER_VERSION,
  REQUEST_MAGIC,
  REQUEST_VERSION,
} from './constants.js';
import { OnDiskError } from './errors.js';
import { checkU16 } from './bytes.js';
import { encodeLeader } from './leader.js';
import type { Geometry } from './layout.js';
import { geometryFor, leaderAlignFlag } from './layout.js';
import { validateName } from './names.js';
import type { LeaderRecord } from './records.js';
import { encodeRequestSector } from './sectors.js';

/** max_hosts of a delta leader is always 1 (a legacy field; the real limit comes from ss/align). */
const DELTA_LEADER_MAX_HOSTS = 1n;

export interface LockspaceAreaOptions {
  spaceName: string;
  geometry: Geometry;
  /** Written into every sector; 0 means the default 10 (as sanlock's `-o 0`). */
  ioTimeoutSeconds: number;
}

function checkedGeometry(geometry: Geometry): Geometry {
  // Re-derive so a hand-built Geometry with a wrong maxHosts cannot produce a foreign image.
  return geometryFor(geometry.sectorSize, geometry.alignBytes);
}

/** The free delta leader that `direct init -s` writes into every host sector. */
export function initialDeltaLeader(spaceName: string, geometry: Geometry, ioTimeoutSeconds: number): LeaderRecord {
  validateName(spaceName, 'lockspace name');
  const ioTimeout =
    ioTimeoutSeconds === 0 ? DEFAULT_IO_TIMEOUT_SECONDS : checkU16(ioTimeoutSeconds, 'ioTimeoutSeconds');
  return {
    magic: DELTA_LEADER_MAGIC,
    version: DELTA_LEADER_VERSION,
    flags: leaderAlignFlag(geometry.alignBytes),
    sectorSize: geometry.sectorSize,
    numHosts: 0n,
    maxHosts: DELTA_LEADER_MAX_HOSTS,
    ownerId: 0n,
    ownerGeneration: 0n,
    lver: 0n,
    spaceName,
    resourceName: '',
    timestamp: 0n,
    unused1: 0n,
    checksum: 0,
    unused2: 0,
    ioTimeoutSeconds: ioTimeout,
    writeId: 0n,
    writeGeneration: 0n,
    writeTimestamp: 0n,
  };
}

/** The align-sized image `sanlock direct init -s` writes (byte-identical), with sector 0 valid. */
export function buildLockspaceArea(opts: LockspaceAreaOptions): Uint8Array {
  const geometry = checkedGeometry(opts.geometry);
  const leader = initialDeltaLeader(opts.spaceName, geometry, opts.ioTimeoutSeconds);
  const area = new Uint8Array(geometry.alignBytes);
  encodeLeader(leader, area, 0);
  // Every host sector is identical: copy sector 0 instead of re-encoding 2000 times.
  const first = area.subarray(0, geometry.sectorSize);
  for (let hostIndex = 1; hostIndex < geometry.maxHosts; hostIndex++) area.set(first, hostIndex * geometry.sectorSize);
  return area;
}

export interface ResourceAreaOptions {
  spaceName: string;
  resourceName: string;
  geometry: Geometry;
  /** 0 or above max means max (sanlock's -n). */
  numHosts?: number;
  /** Write the CLEAR (invalidated) form with this write_timestamp. */
  clearWriteTimestamp?: bigint;
}

/** num_hosts as `direct init -r -n` stores it: 0 (unset) or anything above max_hosts means max_hosts. */
export function effectiveNumHosts(numHosts: number | undefined, geometry: Geometry): number {
  if (numHosts === undefined) return geometry.maxHosts;
  if (!Number.isInteger(numHosts) || numHosts < 0) {
    throw new OnDiskError(
      'LAYOUT_INVALID',
      `bad num_hosts ${String(numHosts)}: expected an integer >= 0 (0 means ${geometry.maxHosts})`,
      {
        found: String(numHosts),
        expected: `0..${geometry.maxHosts}`,
      },
    );
  }
  return numHosts === 0 || numHosts > geometry.maxHosts ? geometry.maxHosts : numHosts;
}

/** The paxos leader `direct init -r` writes into sector 0 (CLEAR form when clearWriteTimestamp is given). */
export function initialPaxosLeader(opts: ResourceAreaOptions): LeaderRecord {
  const geometry = checkedGeometry(opts.geometry);
  validateName(opts.spaceName, 'lockspace name');
  validateName(opts.resourceName, 'resource name');
  const clear = opts.clearWriteTimestamp !== undefined;
  return {
    magic: clear ? CLEAR_LEADER_MAGIC : PAXOS_LEADER_MAGIC,
    version: PAXOS_LEADER_VERSION,
    flags: leaderAlignFlag(geometry.alignBytes),
    sectorSize: geometry.sectorSize,
    numHosts: BigInt(effectiveNumHosts(opts.numHosts, geometry)),
    maxHosts: BigInt(geometry.maxHosts),
    ownerId: 0n,
    ownerGeneration: 0n,
    lver: 0n,
    spaceName: opts.spaceName,
    resourceName: opts.resourceName,
    timestamp: 0n,
    unused1: 0n,
    checksum: 0,
    unused2: 0,
    ioTimeoutSeconds: 0,
    writeId: 0n,
    writeGeneration: 0n,
    writeTimestamp: opts.clearWriteTimestamp ?? 0n,
  };
}

/** The align-sized image `sanlock direct init -r` writes (byte-identical). */
export function buildResourceArea(opts: ResourceAreaOptions): Uint8Array {
  const geometry = checkedGeometry(opts.geometry);
  const area = new Uint8Array(geometry.alignBytes);
  encodeLeader(initialPaxosLeader(opts), area, 0);
  const request = encodeRequestSector(
    { magic: REQUEST_MAGIC, version: REQUEST_VERSION, lver: 0n, forceMode: FORCE_MODE_NONE },
    geometry.sectorSize,
  );
  area.set(request, geometry.sectorSize);
  return area;
}

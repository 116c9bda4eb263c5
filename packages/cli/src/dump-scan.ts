/**
 * Walks a range of the device and finds lease areas (delta and paxos leaders), the way
 * `sanlock direct dump` does, returning structured rows for a table or JSON.
 */
import {
  CLEAR_LEADER_MAGIC,
  DELTA_LEADER_MAGIC,
  MBLOCK_SHARED,
  PAXOS_LEADER_MAGIC,
  DBLOCK_FL_RELEASED,
  REQUEST_MAGIC,
  dblockChecksumValid,
  dblockIsEmpty,
  decodeDeltaSector,
  decodeHostSector,
  decodeLeader,
  decodeRequest,
  geometryFromLeader,
  hostBitmapList,
  leaderChecksum,
  type Geometry,
  type LeaderRecord,
} from '@leasehold/ondisk';
import type { Disk } from '@leasehold/disk';

export interface DumpLeaderRow {
  kind: 'delta' | 'paxos' | 'cleared';
  offsetBytes: number;
  spaceName: string;
  /** Delta: the owner's host name; paxos: the resource name. */
  resourceName: string;
  timestamp: bigint;
  ownerId: bigint;
  ownerGeneration: bigint;
  lver: bigint;
  ioTimeoutSeconds: number;
  checksumOk: boolean;
  /** Delta only: host ids whose bits are set in this sector's bitmap. */
  bitmapHostIds?: number[];
  /** Paxos only. */
  request?: { lver: bigint; forceMode: number };
  dblocks?: DumpDblockRow[];
}

export interface DumpDblockRow {
  hostId: number;
  mbal: bigint;
  bal: bigint;
  inp: bigint;
  inp2: bigint;
  inp3: bigint;
  lver: bigint;
  released: boolean;
  shared: boolean;
  sharedGeneration: bigint;
  checksumOk: boolean;
}

/** Bytes read per I/O while scanning. */
const SCAN_CHUNK_BYTES = 1024 * 1024;

/** The magics a leader sector starts with; anything else is skipped without decoding. */
const LEADER_MAGICS: ReadonlySet<number> = new Set([DELTA_LEADER_MAGIC, PAXOS_LEADER_MAGIC, CLEAR_LEADER_MAGIC]);

/** The leader's magic (its first u32, little-endian), read without decoding the rest. */
function sectorMagic(sector: Uint8Array): number {
  return ((sector[0] ?? 0) | ((sector[1] ?? 0) << 8) | ((sector[2] ?? 0) << 16) | ((sector[3] ?? 0) << 24)) >>> 0;
}

function leaderRow(kind: DumpLeaderRow['kind'], leader: LeaderRecord, offsetBytes: number): DumpLeaderRow {
  return {
    kind,
    offsetBytes,
    spaceName: leader.spaceName,
    resourceName: leader.resourceName,
    timestamp: leader.timestamp,
    ownerId: leader.ownerId,
    ownerGeneration: leader.ownerGeneration,
    lver: leader.lver,
    ioTimeoutSeconds: leader.ioTimeoutSeconds,
    checksumOk: leaderChecksum(leader) === leader.checksum,
  };
}

/** A leader's geometry, or undefined for flags no area has (decodeLeader does not check them). */
function safeGeometry(leader: LeaderRecord): Geometry | undefined {
  try {
    return geometryFromLeader(leader.sectorSize, leader.flags);
  } catch {
    return undefined;
  }
}

/**
 * Scans [startBytes, endBytes) sector by sector (sectors of the device size). A delta area lists
 * every host sector that has ever been owned; a paxos area lists its leader, request and non-empty
 * dblocks, then the scan skips to the end of the area.
 */
export async function scanDevice(disk: Disk, startBytes: number, endBytes: number): Promise<DumpLeaderRow[]> {
  const rows: DumpLeaderRow[] = [];
  const step = disk.sectorSize;
  let offset = startBytes - (startBytes % step);
  let chunk: Uint8Array = new Uint8Array(0);
  let chunkStart = 0;
  const sectorAt = async (at: number, length: number): Promise<Uint8Array> => {
    if (at < chunkStart || at + length > chunkStart + chunk.length) {
      chunkStart = at;
      const want = Math.min(Math.max(SCAN_CHUNK_BYTES, length), disk.sizeBytes - at);
      chunk = await disk.read(at, want - (want % step));
    }
    return chunk.subarray(at - chunkStart, at - chunkStart + length);
  };
  while (offset + step <= endBytes) {
    const sector = await sectorAt(offset, step);
    // Most sectors of a scan are empty: check the magic before decoding (and before
    // geometryFromLeader throws on their zero flags), which made a scan several times faster.
    if (!LEADER_MAGICS.has(sectorMagic(sector))) {
      offset += step;
      continue;
    }
    const leader = decodeLeader(sector, 0);
    const geometry = safeGeometry(leader);
    if (leader.magic === DELTA_LEADER_MAGIC && geometry !== undefined) {
      const areaEnd = Math.min(offset + geometry.maxHosts * geometry.sectorSize, endBytes, disk.sizeBytes);
      for (let at = offset; at + geometry.sectorSize <= areaEnd; at += geometry.sectorSize) {
        const hostSector = await sectorAt(at, geometry.sectorSize);
        if (sectorMagic(hostSector) !== DELTA_LEADER_MAGIC) continue;
        const { leader: host, bitmap } = decodeDeltaSector(hostSector, 0);
        if (host.ownerId === 0n && host.timestamp === 0n && host.ownerGeneration === 0n) continue;
        rows.push({ ...leaderRow('delta', host, at), bitmapHostIds: hostBitmapList(bitmap) });
      }
      offset += geometry.alignBytes;
      continue;
    }
    if ((leader.magic === PAXOS_LEADER_MAGIC || leader.magic === CLEAR_LEADER_MAGIC) && geometry !== undefined) {
      const row = leaderRow(leader.magic === PAXOS_LEADER_MAGIC ? 'paxos' : 'cleared', leader, offset);
      if (offset + geometry.alignBytes <= disk.sizeBytes) {
        const area = await disk.read(offset, geometry.alignBytes);
        const request = decodeRequest(area, geometry.sectorSize);
        if (request.magic === REQUEST_MAGIC) row.request = { lver: request.lver, forceMode: request.forceMode };
        const dblocks: DumpDblockRow[] = [];
        const hostCount = Math.min(Number(leader.numHosts) || geometry.maxHosts, geometry.maxHosts);
        for (let hostId = 1; hostId <= hostCount; hostId++) {
          const { dblock, mode } = decodeHostSector(area, (hostId + 1) * geometry.sectorSize);
          if (dblockIsEmpty(dblock) && mode.flags === 0 && dblock.flags === 0) continue;
          dblocks.push({
            hostId,
            ...dblock,
            released: (dblock.flags & DBLOCK_FL_RELEASED) !== 0,
            shared: (mode.flags & MBLOCK_SHARED) !== 0,
            sharedGeneration: mode.generation,
            checksumOk: dblockChecksumValid(dblock),
          });
        }
        row.dblocks = dblocks;
      }
      rows.push(row);
      offset += geometry.alignBytes;
      continue;
    }
    offset += step;
  }
  return rows;
}

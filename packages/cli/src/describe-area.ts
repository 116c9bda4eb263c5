/**
 * Says what an area of the device holds, so `init` can refuse to overwrite it with a clear message.
 */
import {
  CLEAR_LEADER_MAGIC,
  DELTA_LEADER_MAGIC,
  PAXOS_LEADER_MAGIC,
  decodeLeader,
  type LeaderRecord,
} from '@leasehold/ondisk';

export type AreaContent =
  | { kind: 'zero' }
  | { kind: 'lockspace'; leader: LeaderRecord }
  | { kind: 'resource'; leader: LeaderRecord }
  | { kind: 'cleared-resource'; leader: LeaderRecord }
  | { kind: 'data'; firstNonZeroOffsetBytes: number };

/** Classifies an area image read from `areaOffsetBytes`. */
export function describeArea(area: Uint8Array, areaOffsetBytes: number): AreaContent {
  const firstNonZero = area.findIndex((byte) => byte !== 0);
  if (firstNonZero < 0) return { kind: 'zero' };
  const leader = decodeLeader(area, 0);
  if (leader.magic === DELTA_LEADER_MAGIC) return { kind: 'lockspace', leader };
  if (leader.magic === PAXOS_LEADER_MAGIC) return { kind: 'resource', leader };
  if (leader.magic === CLEAR_LEADER_MAGIC) return { kind: 'cleared-resource', leader };
  return { kind: 'data', firstNonZeroOffsetBytes: areaOffsetBytes + firstNonZero };
}

export function areaContentText(content: AreaContent): string {
  switch (content.kind) {
    case 'zero':
      return 'zeroes';
    case 'lockspace':
      return `lockspace "${content.leader.spaceName}" (sector size ${content.leader.sectorSize})`;
    case 'resource': {
      const l = content.leader;
      const held = l.timestamp !== 0n ? `held by host ${l.ownerId} gen ${l.ownerGeneration}` : 'free';
      return `resource "${l.spaceName}:${l.resourceName}" (lver ${l.lver}, ${held})`;
    }
    case 'cleared-resource':
      return `cleared resource "${content.leader.spaceName}:${content.leader.resourceName}"`;
    case 'data':
      return `non-zero data that is not a lease (first non-zero byte at offset ${content.firstNonZeroOffsetBytes})`;
  }
}

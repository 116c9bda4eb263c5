/**
 * One sample of a lockspace area (the buffer a renewal reads, §4 renew step 1) fed into the host
 * table (§3), and, for a joined host, the §6 receive rules: for every OTHER host whose triple changed
 * (it renewed) and whose bitmap has our bit, note the ping, and queue its event if write_generation
 * (the event) is not 0.
 */
import {
  decodeLeader,
  HOST_BITMAP_BYTES,
  HOST_BITMAP_OFFSET_BYTES,
  hostBitmapGet,
  LEADER_FIELD_OFFSETS,
  type Geometry,
} from '@leasehold/ondisk';
import type { EventInbox } from './event-inbox.js';
import { hostSampleOf, type HostTable } from './host-table.js';
import { deltaSlotUsed } from './membership.js';

/** The receiving side of a joined host. */
export interface SampleReceiver {
  hostId: number;
  inbox: EventInbox;
  /** Senders seen with our bit set, collected until takePings(). */
  pingsFrom: Set<number>;
}

const { ownerId: OWNER_ID, ownerGeneration: OWNER_GENERATION, timestamp: TIMESTAMP } = LEADER_FIELD_OFFSETS;

/**
 * Samples every host slot of `area`, whose read was issued at observer time `readStartSeconds`
 * and completed at `nowSeconds` (see HostTable.observe: changes count from the completion, silence
 * only up to the issue); returns the host ids that changed.
 */
export function sampleLockspaceArea(
  area: Uint8Array,
  geometry: Geometry,
  table: HostTable,
  nowSeconds: number,
  receiver?: SampleReceiver,
  readStartSeconds: number = nowSeconds,
): number[] {
  const changed: number[] = [];
  const slots = Math.min(geometry.maxHosts, Math.floor(area.byteLength / geometry.sectorSize));
  const view = new DataView(area.buffer, area.byteOffset, area.byteLength);
  for (let hostId = 1; hostId <= slots; hostId++) {
    const offset = (hostId - 1) * geometry.sectorSize;
    // Most slots are unchanged since the last sample (most are empty): their triple alone says so,
    // and decoding each whole record of a 2000-slot area on every renewal dominated the cost.
    const unchanged = !deltaSlotUsed(view, offset)
      ? table.observeIfUnchanged(hostId, 0n, 0n, 0n, nowSeconds, readStartSeconds)
      : table.observeIfUnchanged(
          hostId,
          view.getBigUint64(offset + OWNER_ID, true),
          view.getBigUint64(offset + OWNER_GENERATION, true),
          view.getBigUint64(offset + TIMESTAMP, true),
          nowSeconds,
          readStartSeconds,
        );
    if (unchanged) continue;
    // Other hosts' sectors are sampled as sanlock does, without checksum verification: a change of
    // any kind counts as life, which errs on the safe side.
    const leader = decodeLeader(area, offset);
    const renewed = table.observe(hostId, hostSampleOf(leader), nowSeconds, readStartSeconds);
    if (!renewed) continue;
    changed.push(hostId);
    if (receiver === undefined || hostId === receiver.hostId) continue;
    const bitmapStart = offset + HOST_BITMAP_OFFSET_BYTES;
    const bitmap = area.subarray(bitmapStart, bitmapStart + HOST_BITMAP_BYTES);
    if (!hostBitmapGet(bitmap, receiver.hostId)) {
      receiver.inbox.endEpisode(hostId);
      continue;
    }
    receiver.pingsFrom.add(hostId);
    if (leader.writeGeneration === 0n) {
      receiver.inbox.endEpisode(hostId);
      continue;
    }
    receiver.inbox.offer({
      fromHostId: hostId,
      fromGeneration: leader.ownerGeneration,
      targetGeneration: leader.writeId,
      event: leader.writeGeneration,
      data: leader.writeTimestamp,
    });
  }
  return changed;
}

/**
 * Sampling a whole lockspace area skips decoding the slots whose (owner_id, owner_generation,
 * timestamp) triple did not change (HostTable.observeIfUnchanged). It must judge every host exactly
 * as decoding every slot and calling observe() does: same changed host ids, same host table. The
 * table's list of held slots (statuses(), which walks only slots ever held) must be what asking every
 * slot with status() gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLeader, deltaSectorOffset, LEADER_FIELD_OFFSETS } from '@leasehold/ondisk';
import {
  type Clock,
  type HostStatus,
  HostTable,
  hostSampleOf,
  LockspaceObserver,
  type LivenessParameters,
} from '@leasehold/lease';
import { AREA_OFFSET_BYTES, makeLockspace, SPACE } from './support/lockspace.js';

const IO_TIMEOUT_SECONDS = 1;
const W = 10;
const params: LivenessParameters = {
  selfHostId: 0,
  ourIoTimeoutSeconds: IO_TIMEOUT_SECONDS,
  watchdogFireTimeoutSeconds: W,
};
/** 4K sectors: 250 slots in the 1 MiB area (fast to check); the steps change the first few and the last. */
const SECTOR_SIZE = 4096;
const HOST_IDS = [1, 2, 3, 4, 250] as const;
const U64_BYTES = 8;
/** Fields outside the triple: a change of these alone is not a renewal. */
const OTHER_FIELDS = [
  LEADER_FIELD_OFFSETS.ioTimeoutSeconds,
  LEADER_FIELD_OFFSETS.resourceName,
  LEADER_FIELD_OFFSETS.writeGeneration,
] as const;
const TRIPLE_FIELDS = [
  LEADER_FIELD_OFFSETS.ownerId,
  LEADER_FIELD_OFFSETS.ownerGeneration,
  LEADER_FIELD_OFFSETS.timestamp,
] as const;

/** One byte written into one slot: any byte of a triple field (so high halves too), or another field. */
const byteWrite = fc.record({
  hostId: fc.constantFrom(...HOST_IDS),
  field: fc.constantFrom(...TRIPLE_FIELDS, ...OTHER_FIELDS),
  byteIndex: fc.integer({ min: 0, max: U64_BYTES - 1 }),
  value: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xff })),
});
const step = fc.record({
  writes: fc.array(byteWrite, { maxLength: 4 }),
  /** Clears a slot's triple back to zero (a never-acquired slot, as after a re-init). */
  clear: fc.option(fc.constantFrom(...HOST_IDS), { nil: undefined }),
  advanceSeconds: fc.integer({ min: 0, max: 30 }),
  /** The states are asked again this much later (they must age alike too). */
  askLaterSeconds: fc.integer({ min: 0, max: 100 }),
});

describe('sampling a lockspace area', () => {
  it('skipping the decode of unchanged slots judges every host as decoding all of them does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const ls = makeLockspace({ ioTimeoutSeconds: IO_TIMEOUT_SECONDS, sectorSize: SECTOR_SIZE });
        const clock = new SteppedClock();
        const observer = await LockspaceObserver.open(ls.disk, clock, {
          spaceName: SPACE,
          areaOffsetBytes: AREA_OFFSET_BYTES,
          ioTimeoutSeconds: IO_TIMEOUT_SECONDS,
          watchdogFireTimeoutSeconds: W,
        });
        const reference = new HostTable(params);
        const { geometry } = ls;
        for (const { writes, clear, advanceSeconds, askLaterSeconds } of steps) {
          for (const { hostId, field, byteIndex, value } of writes) {
            const at = deltaSectorOffset(AREA_OFFSET_BYTES, hostId, geometry) + field + byteIndex;
            ls.memory.writeSync(at - (at % geometry.sectorSize), patched(ls.memory, at, value, geometry.sectorSize));
          }
          if (clear !== undefined) {
            for (const field of TRIPLE_FIELDS) {
              for (let i = 0; i < U64_BYTES; i++) {
                const at = deltaSectorOffset(AREA_OFFSET_BYTES, clear, geometry) + field + i;
                ls.memory.writeSync(at - (at % geometry.sectorSize), patched(ls.memory, at, 0, geometry.sectorSize));
              }
            }
          }
          clock.advance(advanceSeconds);
          // The observer's read is issued now and completes at once (a memory disk, a fake clock).
          const nowSeconds = clock.nowSeconds();
          const changed = await observer.sample();
          const area = ls.memory.readSync(AREA_OFFSET_BYTES, geometry.alignBytes);
          const expected: number[] = [];
          for (let hostId = 1; hostId <= geometry.maxHosts; hostId++) {
            const sample = hostSampleOf(decodeLeader(area, (hostId - 1) * geometry.sectorSize));
            if (reference.observe(hostId, sample, nowSeconds, nowSeconds)) expected.push(hostId);
          }
          expect(changed).toEqual(expected);
          expect(observer.hosts()).toEqual(heldStatuses(reference, geometry.maxHosts, nowSeconds));
          clock.advance(askLaterSeconds);
          expect(observer.hosts()).toEqual(heldStatuses(reference, geometry.maxHosts, clock.nowSeconds()));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('a slot whose only non-zero triple byte is in a high half still counts as acquired', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: IO_TIMEOUT_SECONDS, sectorSize: SECTOR_SIZE });
    const clock = new SteppedClock();
    const observer = await LockspaceObserver.open(ls.disk, clock, {
      spaceName: SPACE,
      areaOffsetBytes: AREA_OFFSET_BYTES,
      ioTimeoutSeconds: IO_TIMEOUT_SECONDS,
      watchdogFireTimeoutSeconds: W,
    });
    expect(await observer.sample()).toEqual([]);
    const at = deltaSectorOffset(AREA_OFFSET_BYTES, 3, ls.geometry) + LEADER_FIELD_OFFSETS.timestamp + U64_BYTES - 1;
    ls.memory.writeSync(at - (at % ls.geometry.sectorSize), patched(ls.memory, at, 1, ls.geometry.sectorSize));
    clock.advance(2);
    expect(await observer.sample()).toEqual([3]);
    expect(observer.hosts().map((host) => [host.hostId, host.timestamp, host.state])).toEqual([[3, 1n << 56n, 'LIVE']]);
  });
});

/** statuses() the long way: every slot asked, those with a non-zero triple kept. */
function heldStatuses(table: HostTable, maxHosts: number, nowSeconds: number): HostStatus[] {
  const held: HostStatus[] = [];
  for (let hostId = 1; hostId <= maxHosts; hostId++) {
    const status = table.status(hostId, nowSeconds);
    if (status === undefined) continue;
    if (status.ownerId === 0n && status.generation === 0n && status.timestamp === 0n) continue;
    held.push(status);
  }
  return held;
}

/** Time that moves only when told (nothing here sleeps). */
class SteppedClock implements Clock {
  private now = 1000;
  nowSeconds(): number {
    return this.now;
  }
  advance(seconds: number): void {
    this.now += seconds;
  }
  sleep(): Promise<void> {
    return Promise.reject(new Error('nothing sleeps in this test'));
  }
}

/** The sector holding byte `at`, with that byte set to `value`. */
function patched(
  memory: { readSync(offsetBytes: number, lengthBytes: number): Uint8Array },
  at: number,
  value: number,
  sectorSize: number,
): Uint8Array {
  const start = at - (at % sectorSize);
  const sector = memory.readSync(start, sectorSize);
  sector[at - start] = value;
  return sector;
}

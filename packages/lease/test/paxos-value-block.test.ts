import { describe, expect, it } from 'vitest';
import { LVB_SECTOR_INDEX, MIB, geometryFor } from '@leasehold/ondisk';
import {
  acquireLease,
  convertLease,
  getValueBlock,
  PaxosLeaseManager,
  releaseLease,
  setValueBlock,
} from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import {
  contextFor,
  FakeDelta,
  FakeLockspace,
  LOCATION,
  makeResourceArea,
  rejectionOf,
  RESOURCE_OFFSET_BYTES,
} from './paxos-fakes.js';

const SS = 512;
const LVB_AT = RESOURCE_OFFSET_BYTES + LVB_SECTOR_INDEX * SS;

function oneHost() {
  const lockspace = new FakeLockspace();
  const area = makeResourceArea({ lockspace });
  const clock = new FakeClock(1000);
  const delta = new FakeDelta(lockspace, clock, 2, {
    generation: 12n,
    ioTimeoutSeconds: 1,
    watchdogFireTimeoutSeconds: 60,
  });
  return { area, clock, ctx: contextFor(area, clock, delta) };
}

const sectorWith = (head: number[], fill = 0): Uint8Array => {
  const sector = new Uint8Array(SS).fill(fill);
  sector.set(head, 0);
  return sector;
};

describe('value blocks (sanlock LVB semantics)', () => {
  it('acquire reads the whole sector 2002 once; set overlays its start; an EX release writes it before the dblock', async () => {
    const { area, clock, ctx } = oneHost();
    area.memory.overwrite(LVB_AT, sectorWith([1, 2, 3, 4], 0x55));
    let held = await clock.run(acquireLease(ctx, LOCATION, { valueBlock: true }));
    expect(area.disk.log.at(-1)).toEqual({ kind: 'read', offsetBytes: LVB_AT, lengthBytes: SS });
    expect(getValueBlock(held)).toEqual(sectorWith([1, 2, 3, 4], 0x55));
    expect(getValueBlock(held, 2)).toEqual(Uint8Array.of(1, 2));
    held = setValueBlock(held, Uint8Array.of(9, 9));
    expect(getValueBlock(held, 4)).toEqual(Uint8Array.of(9, 9, 3, 4));
    expect(area.memory.snapshot(LVB_AT, 4)).toEqual(Uint8Array.of(1, 2, 3, 4)); // nothing written yet
    area.disk.log.length = 0;
    expect(await releaseLease(ctx, held)).toBe('released');
    expect(area.disk.log[0]).toEqual({ kind: 'write', offsetBytes: LVB_AT, lengthBytes: SS });
    expect(area.disk.log[1]).toMatchObject({ kind: 'write', offsetBytes: RESOURCE_OFFSET_BYTES + 3 * SS });
    expect(area.memory.snapshot(LVB_AT, SS)).toEqual(sectorWith([9, 9, 3, 4], 0x55));
  });

  it('without a set, an EX release writes no value; a SH release never does; EX->SH conversion writes a set value', async () => {
    const { area, clock, ctx } = oneHost();
    const plain = await clock.run(acquireLease(ctx, LOCATION, { valueBlock: true }));
    area.disk.log.length = 0;
    await releaseLease(ctx, plain);
    expect(area.disk.log.some((io) => io.offsetBytes === LVB_AT)).toBe(false);

    const shared = setValueBlock(
      await clock.run(acquireLease(ctx, LOCATION, { mode: 'shared', valueBlock: true })),
      Uint8Array.of(7),
    );
    area.disk.log.length = 0;
    await releaseLease(ctx, shared);
    expect(area.disk.log.some((io) => io.offsetBytes === LVB_AT)).toBe(false);
    expect(area.memory.snapshot(LVB_AT, 1)).toEqual(Uint8Array.of(0));

    const exclusive = setValueBlock(
      await clock.run(acquireLease(ctx, LOCATION, { valueBlock: true })),
      Uint8Array.of(5),
    );
    const nowShared = await clock.run(convertLease(ctx, exclusive, 'shared'));
    expect(area.memory.snapshot(LVB_AT, 1)).toEqual(Uint8Array.of(5));
    await releaseLease(ctx, nowShared);
  });

  it('refusals: no value block without asking for it, more than a sector, 4K sectors with 1M align', async () => {
    const { clock, ctx } = oneHost();
    const plain = await clock.run(acquireLease(ctx, LOCATION));
    expect(() => getValueBlock(plain)).toThrow(/not acquired with its value block/);
    expect(() => setValueBlock(plain, Uint8Array.of(1))).toThrow(/not acquired with its value block/);
    await releaseLease(ctx, plain);
    const held = await clock.run(acquireLease(ctx, LOCATION, { valueBlock: true }));
    expect(() => setValueBlock(held, new Uint8Array(SS + 1))).toThrow(/at most 512 bytes/);
    expect(() => getValueBlock(held, SS + 1)).toThrow(/0-512 bytes/);
    await releaseLease(ctx, held);
    const refused = await rejectionOf(
      acquireLease(ctx, LOCATION, { valueBlock: true, geometry: geometryFor(4096, MIB) }),
    );
    expect(refused.code).toBe('INVALID_ARGUMENT');
    expect(refused.message).toMatch(/past the lease/);
  });

  it('the manager keeps a set value with the held lease', async () => {
    const { area, clock, ctx } = oneHost();
    const manager = new PaxosLeaseManager(ctx);
    await clock.run(manager.acquire(LOCATION, { valueBlock: true }));
    manager.setValueBlock(LOCATION, Uint8Array.of(0x01, 0x01, 0, 0, 6, 0, 0, 0));
    await manager.release(LOCATION);
    expect(area.memory.snapshot(LVB_AT, 8)).toEqual(Uint8Array.of(0x01, 0x01, 0, 0, 6, 0, 0, 0));
  });
});

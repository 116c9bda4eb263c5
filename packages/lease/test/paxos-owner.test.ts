import { describe, expect, it } from 'vitest';
import { DBLOCK_FL_RELEASED } from '@leasehold/ondisk';
import { acquireLease, PaxosError, type HeldLease } from '@leasehold/lease';
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

const START = 1000;
const W = 60;

/** Host 2 holds the lease; host 1 (our side) has a table that sampled host 2 once at START. */
async function ownedByTwo(options: { ownerIoTimeoutSeconds?: number } = {}) {
  const lockspace = new FakeLockspace();
  const area = makeResourceArea({ lockspace });
  const clock = new FakeClock(START);
  const two = new FakeDelta(lockspace, clock, 2, {
    generation: 7n,
    hostName: 'uuid-2.node-b',
    ioTimeoutSeconds: options.ownerIoTimeoutSeconds ?? 1,
    watchdogFireTimeoutSeconds: W,
  });
  const one = new FakeDelta(lockspace, clock, 1, { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: W });
  const held: HeldLease = await clock.run(acquireLease(contextFor(area, clock, two), LOCATION));
  one.sample();
  area.disk.log.length = 0;
  return { area, clock, lockspace, one, two, held };
}

describe('owner liveness (§5.1 step 3)', () => {
  it('fails at once with ACQUIRE_IDLIVE naming the holder when our latest sample saw it renew', async () => {
    const { area, clock, one } = await ownedByTwo();
    const error = await rejectionOf(
      clock.run(acquireLease(contextFor(area, clock, one), LOCATION, { waitSeconds: Infinity })),
    );
    expect(error).toBeInstanceOf(PaxosError);
    const paxos = error as PaxosError;
    expect(paxos).toMatchObject({ code: 'ACQUIRE_IDLIVE', sanlockErrno: -243 });
    expect(paxos.details.holders).toEqual([
      expect.objectContaining({
        hostId: 2,
        generation: 7n,
        hostName: 'uuid-2.node-b',
        mode: 'exclusive',
        lastLiveSeconds: START,
      }),
    ]);
    expect(paxos.message).toContain('host_id 2 "uuid-2.node-b" generation 7');
    expect(clock.nowSeconds()).toBe(START);
    expect(area.disk.writes()).toEqual([]);
  });

  it('fails with ACQUIRE_IDLIVE when the owner renews while we watch', async () => {
    const { area, clock, lockspace, one } = await ownedByTwo();
    await clock.advance(2);
    one.sample(); // no change: last_check > last_live
    void clock.sleep(1.5).then(() => lockspace.renew(2));
    const error = await rejectionOf(
      clock.run(acquireLease(contextFor(area, clock, one), LOCATION, { waitSeconds: Infinity })),
    );
    expect(error).toMatchObject({ code: 'ACQUIRE_IDLIVE' });
    expect(clock.nowSeconds()).toBe(START + 4);
  });

  it('with no wait budget, an owner not seen renewing fails with OWNER_NOWAIT and its deadline', async () => {
    const { area, clock, one } = await ownedByTwo();
    await clock.advance(20);
    one.sample();
    const error = (await rejectionOf(acquireLease(contextFor(area, clock, one), LOCATION))) as PaxosError;
    expect(error).toMatchObject({ code: 'OWNER_NOWAIT', sanlockErrno: -247 });
    // The owner published io_timeout 1: 8·1 + W after the renewal we saw at START.
    expect(error.details.holders?.[0]).toMatchObject({ hostId: 2, state: 'FAIL', deadAtSeconds: START + 8 + W });
    expect(error.message).toContain('counts as dead in 48.0 s');
  });

  it("waits for host_dead_seconds of the OWNER's io_timeout after its last seen renewal, then takes over", async () => {
    const { area, clock, one } = await ownedByTwo({ ownerIoTimeoutSeconds: 1 });
    await clock.advance(2);
    one.sample();
    const held = await clock.run(acquireLease(contextFor(area, clock, one), LOCATION, { waitSeconds: Infinity }));
    // sanlock: now - last_live > 8N + W, polled every second.
    expect(clock.nowSeconds()).toBe(START + 8 + W + 1);
    expect(held.lver).toBe(2n);
    expect(area.leader()).toMatchObject({ ownerId: 1n, lver: 2n });
  });

  it("the owner's own io_timeout counts, not ours: io_timeout 10 means 140 s", async () => {
    const { area, clock, one } = await ownedByTwo({ ownerIoTimeoutSeconds: 10 });
    await clock.advance(2);
    one.sample();
    const error = await rejectionOf(
      clock.run(acquireLease(contextFor(area, clock, one), LOCATION, { waitSeconds: 100 })),
    );
    expect(error).toMatchObject({ code: 'OWNER_NOWAIT' });
    expect(clock.nowSeconds()).toBeLessThanOrEqual(START + 2 + 100);
    await clock.run(acquireLease(contextFor(area, clock, one), LOCATION, { waitSeconds: Infinity }));
    expect(clock.nowSeconds()).toBe(START + 80 + W + 1);
  });

  it('without any table data it waits a full host_dead_seconds from its first look', async () => {
    const { area, clock, lockspace } = await ownedByTwo();
    const three = new FakeDelta(lockspace, clock, 3, { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: W });
    await clock.advance(30);
    await clock.run(acquireLease(contextFor(area, clock, three), LOCATION, { waitSeconds: Infinity }));
    expect(clock.nowSeconds()).toBe(START + 30 + 8 + W + 1);
  });

  it("a free delta lease, or a newer generation of the owner's host_id, means the owner is gone: ballot at once", async () => {
    const { area, clock, lockspace, one } = await ownedByTwo();
    lockspace.release(2);
    await clock.run(acquireLease(contextFor(area, clock, one), LOCATION, { waitSeconds: 0 }));
    expect(area.leader()).toMatchObject({ ownerId: 1n, lver: 2n });

    const second = await ownedByTwo();
    second.lockspace.set(2, { generation: 8n, timestamp: 5n, ioTimeoutSeconds: 1, hostName: 'uuid-x.node-b' });
    await second.clock.run(acquireLease(contextFor(second.area, second.clock, second.one), LOCATION));
    expect(second.area.leader()).toMatchObject({ ownerId: 1n, lver: 2n });
    expect(second.clock.nowSeconds()).toBe(START);
  });

  it('restarts when the leader changes during the wait (the owner released)', async () => {
    const { area, clock, two, one, held } = await ownedByTwo();
    await clock.advance(2);
    one.sample();
    const { releaseLease } = await import('@leasehold/lease');
    void clock.sleep(3.5).then(() => releaseLease(contextFor(area, clock, two), held));
    const mine = await clock.run(acquireLease(contextFor(area, clock, one), LOCATION, { waitSeconds: 30 }));
    expect(mine.lver).toBe(2n);
    expect(clock.nowSeconds()).toBe(START + 2 + 4);
  });

  it('RELEASED: an owner committed by another host that has let go is not waited for (§5.3, §7.8)', async () => {
    const { area, clock, one, held } = await ownedByTwo();
    // The leader names host 2 but host 3 wrote it (it carried host 2's value forward).
    area.plantLeader({ ...area.leader(), writeId: 3n, writeGeneration: 1n });
    const live = await rejectionOf(acquireLease(contextFor(area, clock, one), LOCATION));
    expect(live).toMatchObject({ code: 'ACQUIRE_IDLIVE' });
    // Host 2 released: its dblock goes RELEASED; it leaves the leader alone since it did not write it.
    area.plantHostSector(2, { ...held.dblock, flags: DBLOCK_FL_RELEASED });
    const mine = await clock.run(acquireLease(contextFor(area, clock, one), LOCATION));
    expect(mine.lver).toBe(2n);
  });

  it('RELEASED of an older lver does not count', async () => {
    const { area, clock, one, held } = await ownedByTwo();
    area.plantLeader({ ...area.leader(), writeId: 3n });
    area.plantHostSector(2, { ...held.dblock, lver: 0n, flags: DBLOCK_FL_RELEASED });
    expect(await rejectionOf(acquireLease(contextFor(area, clock, one), LOCATION))).toMatchObject({
      code: 'ACQUIRE_IDLIVE',
    });
  });

  it('needs our delta lease: released or lost → NOT_JOINED before any I/O', async () => {
    const { area, clock, one } = await ownedByTwo();
    one.released = true;
    expect(await rejectionOf(acquireLease(contextFor(area, clock, one), LOCATION))).toMatchObject({
      code: 'NOT_JOINED',
    });
    expect(area.disk.log).toEqual([]);
  });

  it('ownerNowait fails at once instead of waiting (-247)', async () => {
    const { area, clock, one } = await ownedByTwo();
    await clock.advance(2);
    one.sample();
    expect(
      await rejectionOf(
        acquireLease(contextFor(area, clock, one), LOCATION, { ownerNowait: true, waitSeconds: Infinity }),
      ),
    ).toMatchObject({
      code: 'OWNER_NOWAIT',
    });
    expect(area.disk.log.every((io) => io.offsetBytes === RESOURCE_OFFSET_BYTES)).toBe(true);
  });
});

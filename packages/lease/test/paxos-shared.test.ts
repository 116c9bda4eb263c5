import { describe, expect, it } from 'vitest';
import { DBLOCK_FL_RELEASED, LFL_SHORT_HOLD, MBLOCK_SHARED } from '@leasehold/ondisk';
import { acquireLease, convertLease, type PaxosError, releaseLease, SH_RETRIES } from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import {
  contextFor,
  FakeDelta,
  FakeLockspace,
  fixedRandom,
  LOCATION,
  makeResourceArea,
  rejectionOf,
  RESOURCE_OFFSET_BYTES,
} from './paxos-fakes.js';

const START = 1000;
const SS = 512;
const W = 60;

function cluster(hostIds: number[]) {
  const lockspace = new FakeLockspace();
  const area = makeResourceArea({ lockspace });
  const clock = new FakeClock(START);
  const hosts = new Map(
    hostIds.map((id) => [
      id,
      new FakeDelta(lockspace, clock, id, {
        generation: BigInt(10 + id),
        ioTimeoutSeconds: 1,
        watchdogFireTimeoutSeconds: W,
      }),
    ]),
  );
  const ctx = (id: number) => contextFor(area, clock, hosts.get(id)!);
  const sampleAll = () => {
    for (const host of hosts.values()) host.sample();
  };
  return { area, clock, lockspace, hosts, ctx, sampleAll };
}

describe('shared mode (§5.4)', () => {
  it('acquire SH: a ballot with SHORT_HOLD, then {RELEASED dblock, SHARED + generation}, then the leader freed: 4 reads, 5 writes', async () => {
    const { area, clock, ctx, hosts } = cluster([2]);
    const held = await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    expect(held).toMatchObject({ mode: 'shared', lver: 1n, generation: 12n });
    const { dblock, mode } = area.hostSector(2);
    expect(mode).toEqual({ flags: MBLOCK_SHARED, generation: 12n });
    expect(dblock).toMatchObject({ mbal: 2n, bal: 2n, inp: 2n, lver: 1n, flags: DBLOCK_FL_RELEASED });
    // Shared holders never stay the leader's owner; the leader keeps the last acquirer as owner.
    expect(area.leader()).toMatchObject({ lver: 1n, ownerId: 2n, timestamp: 0n });
    expect(area.leader().flags & LFL_SHORT_HOLD).toBe(0);
    const kinds = area.disk.log.map(
      (io) => `${io.kind}@${(io.offsetBytes - RESOURCE_OFFSET_BYTES) / SS}+${io.lengthBytes / SS}`,
    );
    // The ballots read the host_ids in use (only 2: leader, request, hosts 1-2), after one membership read.
    expect(kinds).toEqual([
      'read@0+4',
      'write@3+1',
      'read@0+4',
      'write@3+1',
      'read@0+4',
      'write@0+1',
      'write@3+1',
      'read@0+1',
      'write@0+1',
    ]);
    expect(hosts.get(2)!.membershipReads).toBe(1);
  });

  it('the commit of a shared acquire carries SHORT_HOLD while it lasts', async () => {
    const { area, clock, ctx } = cluster([2]);
    let leaderFlagsAtShWrite = -1;
    area.disk.beforeWrite = (io) => {
      if (io.offsetBytes === RESOURCE_OFFSET_BYTES + 3 * SS && area.leader().lver === 1n && leaderFlagsAtShWrite < 0)
        leaderFlagsAtShWrite = area.leader().flags;
    };
    await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    expect(leaderFlagsAtShWrite & LFL_SHORT_HOLD).toBe(LFL_SHORT_HOLD);
  });

  it('release SH is one write: RELEASED dblock, mode block zero; the leader is not touched', async () => {
    const { area, clock, ctx } = cluster([2]);
    const held = await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    const leaderBefore = area.leader();
    area.disk.log.length = 0;
    expect(await releaseLease(ctx(2), held)).toBe('released');
    expect(area.disk.log).toEqual([{ kind: 'write', offsetBytes: RESOURCE_OFFSET_BYTES + 3 * SS, lengthBytes: SS }]);
    expect(area.hostSector(2).mode).toEqual({ flags: 0, generation: 0n });
    expect(area.hostSector(2).dblock.flags).toBe(DBLOCK_FL_RELEASED);
    expect(area.leader()).toEqual(leaderBefore);
  });

  it('lver goes ex(1) sh(2) sh(3) ex-EAGAIN(4) ex(5), as sanlock was observed to do', async () => {
    const { area, clock, ctx, sampleAll } = cluster([1, 2, 3]);
    sampleAll();
    const ex1 = await clock.run(acquireLease(ctx(1), LOCATION));
    expect(ex1.lver).toBe(1n);
    await clock.run(releaseLease(ctx(1), ex1));
    const sh2 = await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    const sh3 = await clock.run(acquireLease(ctx(3), LOCATION, { mode: 'shared' }));
    expect([sh2.lver, sh3.lver]).toEqual([2n, 3n]);

    const busy = (await rejectionOf(clock.run(acquireLease(ctx(1), LOCATION)))) as PaxosError;
    expect(busy).toMatchObject({ code: 'SHARED_HELD', sanlockErrno: -11 });
    expect(busy.details.holders?.map((h) => [h.hostId, h.mode, h.generation])).toEqual([
      [2, 'shared', 12n],
      [3, 'shared', 13n],
    ]);
    expect(busy.details.lver).toBe(4n);
    // The attempt committed (lver 4), then gave the leader back.
    expect(area.leader()).toMatchObject({ lver: 4n, ownerId: 1n, timestamp: 0n });
    expect(area.hostSector(1).dblock.flags).toBe(DBLOCK_FL_RELEASED);
    // The shared holders keep their mode blocks.
    expect(area.hostSector(2).mode.flags).toBe(MBLOCK_SHARED);

    await releaseLease(ctx(2), sh2);
    await releaseLease(ctx(3), sh3);
    const ex5 = await clock.run(acquireLease(ctx(1), LOCATION));
    expect(ex5.lver).toBe(5n);
  });

  it("an exclusive acquire clears a provably dead shared holder's whole sector", async () => {
    const { area, clock, ctx, hosts, lockspace, sampleAll } = cluster([1, 2]);
    await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    sampleAll();
    // Host 2 dies: no renewal; host 1 keeps sampling.
    await clock.advance(8 + W + 1);
    lockspace.renew(1);
    hosts.get(1)!.sample();
    expect(hosts.get(1)!.host(2)?.state).toBe('DEAD');
    const held = await clock.run(acquireLease(ctx(1), LOCATION));
    expect(held.lver).toBe(2n);
    expect(area.memory.snapshot(RESOURCE_OFFSET_BYTES + 3 * SS, SS).every((b) => b === 0)).toBe(true);
  });

  it('a shared holder whose delta lease is free, or has a newer generation, is dead at once', async () => {
    for (const change of ['free', 'newer'] as const) {
      const { area, clock, ctx, hosts, lockspace, sampleAll } = cluster([1, 2]);
      await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
      sampleAll();
      if (change === 'free') lockspace.release(2);
      else lockspace.set(2, { generation: 13n, timestamp: 1n, ioTimeoutSeconds: 1, hostName: 'new' });
      await clock.advance(2);
      hosts.get(1)!.sample();
      await clock.run(acquireLease(ctx(1), LOCATION));
      expect(area.hostSector(2).mode.flags).toBe(0);
    }
  });

  it('a shared holder we have no data about counts as alive', async () => {
    const { clock, ctx } = cluster([1, 2]);
    await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    expect(await rejectionOf(clock.run(acquireLease(ctx(1), LOCATION)))).toMatchObject({ code: 'SHARED_HELD' });
  });

  it('SH acquire meets an alive exclusive owner: ACQUIRE_IDLIVE (no SHORT_HOLD, no retry)', async () => {
    const { clock, ctx, sampleAll } = cluster([1, 2]);
    await clock.run(acquireLease(ctx(2), LOCATION));
    sampleAll();
    expect(await rejectionOf(clock.run(acquireLease(ctx(1), LOCATION, { mode: 'shared' })))).toMatchObject({
      code: 'ACQUIRE_IDLIVE',
    });
    expect(clock.nowSeconds()).toBe(START);
  });

  it('SH acquire meets a SHORT_HOLD owner: retries after random 0-1 s, 8 times, then ACQUIRE_SHRETRY (-246)', async () => {
    const { area, clock, ctx, sampleAll, hosts } = cluster([1, 2]);
    await clock.run(acquireLease(ctx(2), LOCATION));
    area.plantLeader({ ...area.leader(), flags: area.leader().flags | LFL_SHORT_HOLD });
    sampleAll();
    const random = fixedRandom([0.25]);
    const error = await rejectionOf(clock.run(acquireLease({ ...ctx(1), random }, LOCATION, { mode: 'shared' })));
    expect(error).toMatchObject({ code: 'ACQUIRE_SHRETRY', sanlockErrno: -246 });
    expect(random.draws).toBe(SH_RETRIES);
    expect(clock.nowSeconds()).toBe(START + SH_RETRIES * 0.25);
    expect(hosts.get(1)!.hostSectorReads.length).toBe(SH_RETRIES + 1);
  });

  it('SH acquire succeeds once the SHORT_HOLD holder lets go during the retries', async () => {
    const { area, clock, ctx, sampleAll } = cluster([1, 2]);
    const held = await clock.run(acquireLease(ctx(2), LOCATION));
    area.plantLeader({ ...area.leader(), flags: area.leader().flags | LFL_SHORT_HOLD });
    sampleAll();
    const heldWithFlag = { ...held, leader: area.leader() };
    void clock.sleep(1.2).then(() => releaseLease(ctx(2), heldWithFlag));
    const mine = await clock.run(acquireLease({ ...ctx(1), random: fixedRandom([0.5]) }, LOCATION, { mode: 'shared' }));
    expect(mine).toMatchObject({ mode: 'shared', lver: 2n });
  });
});

describe('conversion (§5.4)', () => {
  it('SH→EX alone: a ballot keeping our SHARED block, then the block dropped: exclusive with lver + 1', async () => {
    const { area, clock, ctx } = cluster([2]);
    const shared = await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    let modeDuringBallot = -1;
    area.disk.beforeWrite = (io) => {
      if (io.offsetBytes === RESOURCE_OFFSET_BYTES) modeDuringBallot = area.hostSector(2).mode.flags;
    };
    const exclusive = await clock.run(convertLease(ctx(2), shared, 'exclusive'));
    expect(modeDuringBallot).toBe(MBLOCK_SHARED);
    expect(exclusive).toMatchObject({ mode: 'exclusive', lver: 2n });
    expect(area.leader()).toMatchObject({ lver: 2n, ownerId: 2n });
    expect(area.leader().timestamp).not.toBe(0n);
    expect(area.hostSector(2).mode.flags).toBe(0);
    expect(area.hostSector(2).dblock).toMatchObject({ lver: 2n, flags: 0 });
  });

  it('SH→EX with another live shared holder: SHARED_HELD (EAGAIN), still shared, leader free', async () => {
    const { area, clock, ctx, sampleAll } = cluster([1, 2]);
    const mine = await clock.run(acquireLease(ctx(1), LOCATION, { mode: 'shared' }));
    await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    sampleAll();
    const error = (await rejectionOf(clock.run(convertLease(ctx(1), mine, 'exclusive')))) as PaxosError;
    expect(error).toMatchObject({ code: 'SHARED_HELD', sanlockErrno: -11 });
    expect(error.stillHeld).toMatchObject({ mode: 'shared', lver: 1n });
    expect(error.stillHeld?.dblock.lver).toBe(3n);
    expect(area.hostSector(1).mode).toEqual({ flags: MBLOCK_SHARED, generation: 11n });
    expect(area.leader()).toMatchObject({ lver: 3n, timestamp: 0n });
    // Releasing the kept shared hold writes the latest dblock values back (RELEASED), not older ones.
    await releaseLease(ctx(1), error.stillHeld!);
    expect(area.hostSector(1).dblock).toMatchObject({ lver: 3n, flags: DBLOCK_FL_RELEASED });
    expect(area.hostSector(1).mode.flags).toBe(0);
  });

  it('SH→EX with a dead other shared holder clears it and converts', async () => {
    const { area, clock, ctx, hosts, lockspace, sampleAll } = cluster([1, 2]);
    const mine = await clock.run(acquireLease(ctx(1), LOCATION, { mode: 'shared' }));
    await clock.run(acquireLease(ctx(2), LOCATION, { mode: 'shared' }));
    sampleAll();
    await clock.advance(8 + W + 1);
    lockspace.renew(1);
    hosts.get(1)!.sample();
    const exclusive = await clock.run(convertLease(ctx(1), mine, 'exclusive'));
    expect(exclusive.mode).toBe('exclusive');
    expect(area.hostSector(2).mode.flags).toBe(0);
  });

  it('EX→SH: no ballot (lver unchanged), {RELEASED dblock, SHARED}, leader freed', async () => {
    const { area, clock, ctx } = cluster([2]);
    const exclusive = await clock.run(acquireLease(ctx(2), LOCATION));
    area.disk.log.length = 0;
    const shared = await clock.run(convertLease(ctx(2), exclusive, 'shared'));
    expect(shared).toMatchObject({ mode: 'shared', lver: 1n });
    expect(area.leader()).toMatchObject({ lver: 1n, timestamp: 0n });
    expect(area.hostSector(2).mode).toEqual({ flags: MBLOCK_SHARED, generation: 12n });
    expect(area.hostSector(2).dblock.flags).toBe(DBLOCK_FL_RELEASED);
    expect(area.disk.log.map((io) => io.kind)).toEqual(['write', 'read', 'write']);
    // Back to exclusive: a ballot, lver 2.
    const again = await clock.run(convertLease(ctx(2), shared, 'exclusive'));
    expect(again.lver).toBe(2n);
  });
});

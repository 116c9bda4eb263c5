import { describe, expect, it } from 'vitest';
import { DBLOCK_FL_RELEASED, LFL_SHORT_HOLD, MIB } from '@leasehold/ondisk';
import { acquireLease, PaxosError, releaseLease } from '@leasehold/lease';
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
/** Ballot reads: roundup_pow2(2000 + 2) sectors = 1 MiB. */
/** Leader, request and the dblocks of host_ids 1-3 (3 is the highest in use). */
const BALLOT_READ_BYTES = 5 * SS;

function setup(options: { numHosts?: number } = {}) {
  const lockspace = new FakeLockspace();
  const area = makeResourceArea({ ...options, lockspace });
  const clock = new FakeClock(START);
  return { area, clock, lockspace };
}

describe('exclusive acquire of a free lease (§5.1)', () => {
  it('commits us with lver 1, our ballot ≡ host_id, and does 3 small reads + 3 one-sector writes', async () => {
    const { area, clock, lockspace } = setup();
    const delta = new FakeDelta(lockspace, clock, 3, { generation: 5n });
    const held = await clock.run(acquireLease(contextFor(area, clock, delta), LOCATION));

    expect(held).toMatchObject({ mode: 'exclusive', lver: 1n, hostId: 3, generation: 5n });
    const leader = area.leader();
    expect(leader).toMatchObject({ lver: 1n, ownerId: 3n, ownerGeneration: 5n, writeId: 3n, writeGeneration: 5n });
    expect(leader.timestamp).toBe(BigInt(START));
    expect(leader.flags & LFL_SHORT_HOLD).toBe(0);
    expect(leader).toEqual({ ...held.leader });
    const { dblock, mode } = area.hostSector(3);
    expect(dblock).toMatchObject({ mbal: 3n, bal: 3n, inp: 3n, inp2: 5n, inp3: BigInt(START), lver: 1n, flags: 0 });
    expect(mode.flags).toBe(0);

    const own = RESOURCE_OFFSET_BYTES + 4 * SS;
    expect(area.disk.log).toEqual([
      { kind: 'read', offsetBytes: RESOURCE_OFFSET_BYTES, lengthBytes: 5 * SS }, // leader .. our sector
      { kind: 'write', offsetBytes: own, lengthBytes: SS }, // phase 1
      { kind: 'read', offsetBytes: RESOURCE_OFFSET_BYTES, lengthBytes: BALLOT_READ_BYTES }, // host_ids 1..3
      { kind: 'write', offsetBytes: own, lengthBytes: SS }, // phase 2
      { kind: 'read', offsetBytes: RESOURCE_OFFSET_BYTES, lengthBytes: BALLOT_READ_BYTES },
      { kind: 'write', offsetBytes: RESOURCE_OFFSET_BYTES, lengthBytes: SS }, // commit
    ]);
    // The ballot's bound: one whole-area read of the lockspace (ballot-range.ts).
    expect(delta.membershipReads).toBe(1);
    expect(clock.nowSeconds()).toBe(START);
  });

  it('reads only roundup_pow2(num_hosts + 2) sectors in ballots when the lease has fewer hosts', async () => {
    const { area, clock, lockspace } = setup({ numHosts: 6 });
    const delta = new FakeDelta(lockspace, clock, 2);
    await clock.run(acquireLease(contextFor(area, clock, delta), LOCATION));
    const reads = area.disk.log.filter((io) => io.kind === 'read').map((io) => io.lengthBytes);
    expect(reads).toEqual([4 * SS, 8 * SS, 8 * SS]);
  });

  it('reads the leader and our sector apart when our sector is far from the leader', async () => {
    const { area, clock, lockspace } = setup();
    const delta = new FakeDelta(lockspace, clock, 1500);
    await clock.run(acquireLease(contextFor(area, clock, delta), LOCATION));
    expect(area.disk.log.slice(0, 2)).toEqual([
      { kind: 'read', offsetBytes: RESOURCE_OFFSET_BYTES, lengthBytes: SS },
      { kind: 'read', offsetBytes: RESOURCE_OFFSET_BYTES + 1501 * SS, lengthBytes: SS },
    ]);
    expect(area.leader().ownerId).toBe(1500n);
    expect(area.hostSector(1500).dblock.mbal).toBe(1500n);
  });

  it('release: RELEASED dblock (values kept), then the leader freed with owner and lver kept (3 I/Os)', async () => {
    const { area, clock, lockspace } = setup();
    const delta = new FakeDelta(lockspace, clock, 1);
    const ctx = contextFor(area, clock, delta);
    const held = await clock.run(acquireLease(ctx, LOCATION));
    area.disk.log.length = 0;
    await clock.advance(5);
    expect(await clock.run(releaseLease(ctx, held))).toBe('released');
    expect(area.disk.log.map((io) => [io.kind, io.offsetBytes - RESOURCE_OFFSET_BYTES, io.lengthBytes])).toEqual([
      ['write', 2 * SS, SS],
      ['read', 0, SS],
      ['write', 0, SS],
    ]);
    expect(area.leader()).toMatchObject({
      ownerId: 1n,
      ownerGeneration: 1n,
      lver: 1n,
      timestamp: 0n,
      writeId: 1n,
      writeTimestamp: BigInt(START + 5),
    });
    expect(area.hostSector(1).dblock).toMatchObject({ ...held.dblock, flags: DBLOCK_FL_RELEASED });
  });

  it('the next acquire by another host gets lver + 1 and a ballot number above every mbal its read 1 saw', async () => {
    const { area, clock, lockspace } = setup();
    const one = new FakeDelta(lockspace, clock, 1);
    const two = new FakeDelta(lockspace, clock, 2);
    const held1 = await clock.run(acquireLease(contextFor(area, clock, one), LOCATION));
    await clock.run(releaseLease(contextFor(area, clock, one), held1));
    const held2 = await clock.run(acquireLease(contextFor(area, clock, two), LOCATION));
    expect(held2.lver).toBe(2n);
    expect(area.leader()).toMatchObject({ lver: 2n, ownerId: 2n });
    // Read 1 of host_id 2 covers host 1's dblock (mbal 1): 2002, where sanlock's max_mbal puts it too.
    expect(area.hostSector(2).dblock.mbal).toBe(2002n);
    // Host 1 again: its read 1 sees only its own last mbal, 1, so its next ballot is 2001 (≡ 1 mod
    // 2000); host 2's 2002 was for lver 2 and does not count for lver 3.
    await clock.run(releaseLease(contextFor(area, clock, two), held2));
    const held3 = await clock.run(acquireLease(contextFor(area, clock, one), LOCATION));
    expect(held3.lver).toBe(3n);
    expect(area.hostSector(1).dblock.mbal).toBe(2001n);
  });

  it('re-acquires a lease it still owns (same generation) or owned with an older generation', async () => {
    const { area, clock, lockspace } = setup();
    const old = new FakeDelta(lockspace, clock, 4, { generation: 1n });
    await clock.run(acquireLease(contextFor(area, clock, old), LOCATION));
    const again = await clock.run(acquireLease(contextFor(area, clock, old), LOCATION));
    expect(again.lver).toBe(2n);
    const reborn = new FakeDelta(lockspace, clock, 4, { generation: 2n });
    const held = await clock.run(acquireLease(contextFor(area, clock, reborn), LOCATION));
    expect(held.lver).toBe(3n);
    expect(area.leader()).toMatchObject({ ownerId: 4n, ownerGeneration: 2n });
  });
});

describe('read 1 checks (§5.1 step 1-2)', () => {
  it('a cleared (CLEAR magic) lease fails quietly with LEADER_CLEARED and nothing written', async () => {
    const area = makeResourceArea({ clear: true });
    const clock = new FakeClock(START);
    const delta = new FakeDelta(new FakeLockspace(), clock, 1);
    const error = await rejectionOf(clock.run(acquireLease(contextFor(area, clock, delta), LOCATION)));
    expect(error).toBeInstanceOf(PaxosError);
    expect(error).toMatchObject({ code: 'LEADER_CLEARED', sanlockErrno: -223 });
    expect(area.disk.writes()).toEqual([]);
  });

  it("a wrong resource name or lockspace is refused with sanlock's errno", async () => {
    const { area, clock, lockspace } = setup();
    const delta = new FakeDelta(lockspace, clock, 1);
    const ctx = contextFor(area, clock, delta);
    expect(await rejectionOf(acquireLease(ctx, { ...LOCATION, resourceName: 'OTHER' }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      sanlockErrno: -227,
    });
    expect(await rejectionOf(acquireLease(ctx, { ...LOCATION, spaceName: 'LS2' }))).toMatchObject({
      code: 'NOT_JOINED',
      sanlockErrno: -241,
    });
    expect(area.disk.writes()).toEqual([]);
  });

  it('a host_id above num_hosts is refused (-228)', async () => {
    const { area, clock, lockspace } = setup({ numHosts: 4 });
    const delta = new FakeDelta(lockspace, clock, 5);
    expect(await rejectionOf(acquireLease(contextFor(area, clock, delta), LOCATION))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      sanlockErrno: -228,
    });
  });

  it('a damaged dblock of any q < num_hosts fails the acquire (-214) and nothing is committed', async () => {
    const { area, clock, lockspace } = setup();
    const delta = new FakeDelta(lockspace, clock, 1);
    area.plantHostSector(1999, { mbal: 1999n, bal: 0n, inp: 0n, inp2: 0n, inp3: 0n, lver: 1n, checksum: 0, flags: 0 });
    // encodeHostSector computes the checksum: corrupt one byte of it afterwards.
    const at = RESOURCE_OFFSET_BYTES + 2000 * SS + 48;
    area.memory.overwrite(at, new Uint8Array([area.memory.snapshot(at, 1)[0]! ^ 0xff]));
    const error = await rejectionOf(clock.run(acquireLease(contextFor(area, clock, delta), LOCATION)));
    expect(error).toMatchObject({ code: 'CORRUPT', sanlockErrno: -214 });
    expect(area.leader().lver).toBe(0n);
  });

  it("the caller's lver must be the leader's (-240)", async () => {
    const { area, clock, lockspace } = setup();
    const delta = new FakeDelta(lockspace, clock, 1);
    const ctx = contextFor(area, clock, delta);
    expect(await rejectionOf(acquireLease(ctx, LOCATION, { lver: 3n }))).toMatchObject({
      code: 'ACQUIRE_LVER',
      sanlockErrno: -240,
    });
    const held = await clock.run(acquireLease(ctx, LOCATION, { lver: 0n }));
    expect(held.lver).toBe(1n);
  });

  it('a 4K lease on a 512-byte device is found from its leader and used with 4K sectors', async () => {
    const { MemoryDisk } = await import('@leasehold/disk');
    const { buildResourceArea, geometryFor, decodeLeader } = await import('@leasehold/ondisk');
    const memory = new MemoryDisk({ sectorSize: 512, sizeBytes: 16 * MIB });
    const geometry = geometryFor(4096, 8 * MIB);
    memory.overwrite(8 * MIB, buildResourceArea({ spaceName: 'LS1', resourceName: 'R1', geometry }));
    const clock = new FakeClock(START);
    const delta = new FakeDelta(new FakeLockspace(), clock, 2);
    const location = { ...LOCATION, offsetBytes: 8 * MIB };
    const held = await clock.run(acquireLease({ disk: memory, clock, random: fixedRandom(), delta }, location));
    expect(held.geometry).toEqual(geometry);
    expect(decodeLeader(memory.snapshot(8 * MIB, 512))).toMatchObject({ lver: 1n, ownerId: 2n });
    expect(memory.snapshot(8 * MIB + 3 * 4096, 8)).toEqual(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0])); // mbal of host 2 in 4K sector 3
  });
});

describe('our delta lease must be current (§7.5)', () => {
  it('past 8N since our last renewal: no acquire, and a release writes nothing', async () => {
    const { area, clock, lockspace } = setup();
    const delta = new FakeDelta(lockspace, clock, 1, { ioTimeoutSeconds: 1 });
    const ctx = contextFor(area, clock, delta);
    const held = await clock.run(acquireLease(ctx, LOCATION));
    delta.stopRenewing();
    await clock.advance(7.9);
    area.disk.log.length = 0;
    await clock.advance(0.2);
    expect(await rejectionOf(acquireLease(ctx, LOCATION))).toMatchObject({ code: 'NOT_JOINED' });
    expect(await releaseLease(ctx, held)).toBe('skipped-not-joined');
    expect(area.disk.log).toEqual([]);
  });

  it('a ballot that finishes after our deadline does not commit', async () => {
    const { area, clock, lockspace } = setup();
    const delta = new FakeDelta(lockspace, clock, 1, { ioTimeoutSeconds: 1 });
    delta.stopRenewing();
    // The phase-2 read takes 9 s (a hung path): the deadline passes inside the ballot.
    let reads = 0;
    area.disk.beforeRead = async () => {
      if (++reads === 3) await clock.sleep(9);
    };
    const error = await rejectionOf(clock.run(acquireLease(contextFor(area, clock, delta), LOCATION)));
    expect(error).toMatchObject({ code: 'NOT_JOINED' });
    expect(area.leader().lver).toBe(0n);
    // Nothing written after the deadline either: the phase-2 dblock stays as it was (no retract).
    expect(area.hostSector(1).dblock.flags).toBe(0);
  });
});

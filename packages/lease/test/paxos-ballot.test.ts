import { describe, expect, it } from 'vitest';
import { DiskError } from '@leasehold/disk';
import { DBLOCK_FL_RELEASED, MBLOCK_SHARED } from '@leasehold/ondisk';
import {
  acquireLease,
  ballotAbove,
  nextBallotAfterAbort,
  OWNER_COMMIT_POLL_SECONDS,
  OWNER_COMMIT_WAIT_SECONDS,
  type PaxosError,
} from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import {
  contextFor,
  dblock,
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

function setup() {
  const lockspace = new FakeLockspace();
  const area = makeResourceArea({ lockspace });
  const clock = new FakeClock(START);
  const one = new FakeDelta(lockspace, clock, 1, { generation: 4n });
  // Host 3 races us in several tests: a member of the lockspace from the start, as it must be
  // (a host_id acquired after our ballot began could not write a dblock in it: ballot-range.ts).
  lockspace.markUsed(3);
  return { area, clock, lockspace, one };
}

/** A ballot's read: from the leader past our own sector (read 1 of host 1 covers 3 sectors). */
const isBallotRead = (io: { offsetBytes: number; lengthBytes: number }): boolean =>
  io.offsetBytes === RESOURCE_OFFSET_BYTES && io.lengthBytes > 3 * SS;

const ownSectorOffset = (hostId: number): number => RESOURCE_OFFSET_BYTES + (hostId + 1) * SS;

describe('ballot numbers (§7.3)', () => {
  it("are ≡ host_id mod max_hosts and follow sanlock's formula", () => {
    expect(ballotAbove(0n, 7, 2000n)).toBe(7n);
    expect(ballotAbove(1n, 2, 2000n)).toBe(2002n);
    expect(ballotAbove(4002n, 2, 2000n)).toBe(6002n);
    expect(ballotAbove(10001n, 2, 2000n)).toBe(12002n);
    expect(ballotAbove(3999n, 2000, 2000n)).toBe(6000n);
    expect(nextBallotAfterAbort(2n, 0n, 2, 2000n)).toBe(2002n);
    expect(nextBallotAfterAbort(2n, 50001n, 2, 2000n)).toBe(52002n);
  });
});

describe('ballot rules (§5.1 step 4)', () => {
  it('a stale higher mbal for the same lver costs one immediate retry above it', async () => {
    const { area, clock, one } = setup();
    area.plantHostSector(3, dblock({ mbal: 10003n, lver: 1n }));
    const random = fixedRandom();
    const held = await clock.run(acquireLease(contextFor(area, clock, one, random), LOCATION));
    expect(held.dblock.mbal).toBe(12001n);
    expect(held.lver).toBe(1n);
    expect(random.draws).toBe(0);
    expect(clock.nowSeconds()).toBe(START);
  });

  it("a lower host_id's higher mbal, seen by read 1, is started above: no abort, one ballot", async () => {
    // A sanlock host with host_id 1 balloted last (its mbal sits in our read 1: leader to own sector).
    const { area, clock, lockspace } = setup();
    const two = new FakeDelta(lockspace, clock, 2, { generation: 1n });
    area.plantHostSector(1, dblock({ mbal: 10001n, lver: 1n }));
    const random = fixedRandom();
    const held = await clock.run(acquireLease(contextFor(area, clock, two, random), LOCATION));
    expect(held.dblock.mbal).toBe(12002n);
    expect(held.lver).toBe(1n);
    // Read 1 (leader to our sector: 4 sectors for host_id 2), then phase 1 and phase 2 once each:
    // one ballot. Started from our own mbal instead, phase 1 aborted first: 4 such reads.
    expect(area.disk.log.filter((entry) => entry.kind === 'read' && isBallotRead(entry))).toHaveLength(3);
    expect(random.draws).toBe(0);
  });

  it('dblocks of older lvers are ignored whatever their mbal', async () => {
    const { area, clock, one } = setup();
    area.plantHostSector(3, dblock({ mbal: 90003n, bal: 90003n, inp: 3n, inp2: 1n, inp3: 5n, lver: 0n }));
    const held = await clock.run(acquireLease(contextFor(area, clock, one), LOCATION));
    expect(held.dblock.mbal).toBe(1n);
    expect(area.leader().ownerId).toBe(1n);
  });

  it('carries the accepted value with the largest bal forward; its owner alive: ACQUIRE_OTHER (-245) and no commit', async () => {
    const { area, clock, one } = setup();
    area.plantHostSector(3, dblock({ mbal: 3n, bal: 3n, inp: 3n, inp2: 9n, inp3: 777n, lver: 1n }));
    area.plantHostSector(5, dblock({ mbal: 5n, bal: 5n, inp: 5n, inp2: 2n, inp3: 888n, lver: 1n }));
    // Host 5 is not in our table: it counts as alive and commits its value itself.
    const error = (await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)))) as PaxosError;
    expect(error).toMatchObject({ code: 'ACQUIRE_OTHER', sanlockErrno: -245 });
    expect(error.details.holders?.[0]).toMatchObject({ hostId: 5, generation: 2n });
    expect(area.leader()).toMatchObject({ lver: 0n, timestamp: 0n });
    expect(area.hostSector(1).dblock).toMatchObject({ bal: 2001n, inp: 5n, lver: 1n });
    // It gave the owner OWNER_COMMIT_WAIT_SECONDS to commit, reading only: no ballot of ours after.
    expect(clock.nowSeconds() - START).toBeGreaterThanOrEqual(OWNER_COMMIT_WAIT_SECONDS);
    expect(clock.nowSeconds() - START).toBeLessThan(OWNER_COMMIT_WAIT_SECONDS + 1);
  });

  it('waits for a live owner to commit its carried value (no ballot meanwhile), then names it at that lver', async () => {
    // sanlock's retry after our ballot aborted it: it commits its own value 1.5 s later. Balloting
    // again meanwhile would abort that retry too (a VG lock stayed uncommitted for minutes so).
    const { area, clock, one } = setup();
    area.plantHostSector(5, dblock({ mbal: 5n, bal: 5n, inp: 5n, inp2: 2n, inp3: 888n, lver: 1n }));
    const OWNER_COMMITS_AFTER_SECONDS = 1.5;
    void clock
      .sleep(OWNER_COMMITS_AFTER_SECONDS)
      .then(() => area.plantLeader({ ...area.leader(), lver: 1n, ownerId: 5n, ownerGeneration: 2n, timestamp: 888n }));
    const error = (await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)))) as PaxosError;
    expect(error).toMatchObject({ code: 'ACQUIRE_OTHER', sanlockErrno: -245 });
    expect(error.details.holders?.[0]).toMatchObject({ hostId: 5, generation: 2n });
    expect(error.details).toMatchObject({ lver: 1n });
    const waitedSeconds = clock.nowSeconds() - START;
    expect(waitedSeconds).toBeGreaterThanOrEqual(OWNER_COMMITS_AFTER_SECONDS);
    expect(waitedSeconds).toBeLessThan(OWNER_COMMITS_AFTER_SECONDS + 2 * OWNER_COMMIT_POLL_SECONDS);
    // Our sector still holds the one phase-2 write: the owner's retry was never aborted again.
    expect(area.hostSector(1).dblock).toMatchObject({ mbal: 2001n, bal: 2001n, inp: 5n, lver: 1n });
    expect(area.leader()).toMatchObject({ lver: 1n, ownerId: 5n });
  });

  it('commits the carried value for its owner when the owner has let go (RELEASED) or is gone', async () => {
    for (const gone of ['released', 'delta-free'] as const) {
      const { area, clock, one, lockspace } = setup();
      area.plantHostSector(
        5,
        dblock({
          mbal: 5n,
          bal: 5n,
          inp: 5n,
          inp2: 2n,
          inp3: 888n,
          lver: 1n,
          flags: gone === 'released' ? DBLOCK_FL_RELEASED : 0,
        }),
      );
      if (gone === 'delta-free') {
        lockspace.set(5, { generation: 2n, timestamp: 0n, ioTimeoutSeconds: 10, hostName: 'five' });
        one.sample();
      }
      expect(await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)))).toMatchObject({
        code: 'ACQUIRE_OTHER',
      });
      expect(area.leader()).toMatchObject({ lver: 1n, ownerId: 5n, ownerGeneration: 2n, timestamp: 888n, writeId: 1n });
    }
  });

  it('carries the accepted value with the largest bal forward and commits it for a dead owner', async () => {
    const { area, clock, one, lockspace } = setup();
    area.plantHostSector(3, dblock({ mbal: 3n, bal: 3n, inp: 3n, inp2: 9n, inp3: 777n, lver: 1n }));
    area.plantHostSector(5, dblock({ mbal: 5n, bal: 5n, inp: 5n, inp2: 2n, inp3: 888n, lver: 1n }));
    lockspace.set(5, { generation: 3n, timestamp: 50n, ioTimeoutSeconds: 10, hostName: 'five-reborn' });
    one.sample(); // host_id 5 now has a newer generation: generation 2 is dead
    // Our mbal starts at 1 (below 5): one abort, then above both, carrying bal 5's value.
    const error = (await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)))) as PaxosError;
    expect(error).toMatchObject({ code: 'ACQUIRE_OTHER', sanlockErrno: -245 });
    expect(error.details.holders?.[0]).toMatchObject({ hostId: 5, generation: 2n });
    expect(area.leader()).toMatchObject({
      lver: 1n,
      ownerId: 5n,
      ownerGeneration: 2n,
      timestamp: 888n,
      writeId: 1n,
      writeGeneration: 4n,
    });
    expect(area.hostSector(1).dblock).toMatchObject({
      mbal: 2001n,
      bal: 2001n,
      inp: 5n,
      inp2: 2n,
      inp3: 888n,
      lver: 1n,
      flags: 0,
    });
  });

  it('an accepted value without bal is not carried (sanlock\'s "zero bal inp")', async () => {
    const { area, clock, one } = setup();
    area.plantHostSector(3, dblock({ mbal: 0n, bal: 0n, inp: 3n, inp2: 9n, lver: 1n }));
    await clock.run(acquireLease(contextFor(area, clock, one), LOCATION));
    expect(area.leader().ownerId).toBe(1n);
  });

  it('another host commits next_lver during our ballot: re-read leader → ACQUIRE_OWNED (-244)', async () => {
    const { area, clock, one } = setup();
    let phase2Seen = false;
    area.disk.beforeWrite = (io) => {
      if (io.offsetBytes !== ownSectorOffset(1)) return;
      if (phase2Seen) return;
      if (area.hostSector(1).dblock.mbal !== 0n) {
        // Our phase-2 write is next: host 3 wins meanwhile with a higher ballot and commits lver 1.
        phase2Seen = true;
        area.plantHostSector(3, dblock({ mbal: 2003n, bal: 2003n, inp: 3n, inp2: 1n, inp3: 55n, lver: 1n }));
        area.plantLeader({ ...area.leader(), lver: 1n, ownerId: 3n, ownerGeneration: 1n, timestamp: 55n, writeId: 3n });
      }
    };
    const error = (await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)))) as PaxosError;
    expect(error).toMatchObject({ code: 'ACQUIRE_OWNED', sanlockErrno: -244 });
    expect(error.details.holders?.[0]).toMatchObject({ hostId: 3 });
    // A settled lver: no retract needed, our dblock is left as the ballot wrote it.
    expect(area.hostSector(1).dblock.flags).toBe(0);
  });

  it('another host commits OUR value: success, and release leaves the leader it wrote alone', async () => {
    const { area, clock, one } = setup();
    const { releaseLease } = await import('@leasehold/lease');
    let done = false;
    area.disk.beforeRead = (io) => {
      // After our phase-2 write: host 3 carries our value with a higher ballot and commits it.
      const ours = area.hostSector(1).dblock;
      if (done || !isBallotRead(io) || ours.bal === 0n) return;
      done = true;
      area.plantHostSector(
        3,
        dblock({ mbal: 2003n, bal: 2003n, inp: ours.inp, inp2: ours.inp2, inp3: ours.inp3, lver: 1n }),
      );
      area.plantLeader({
        ...area.leader(),
        lver: 1n,
        ownerId: 1n,
        ownerGeneration: 4n,
        timestamp: ours.inp3,
        writeId: 3n,
        writeGeneration: 1n,
      });
    };
    const held = await clock.run(acquireLease(contextFor(area, clock, one), LOCATION));
    expect(held).toMatchObject({ lver: 1n, mode: 'exclusive' });
    expect(held.leader.writeId).toBe(3n);
    expect(await releaseLease(contextFor(area, clock, one), held)).toBe('released-leader-left');
    expect(area.leader().timestamp).not.toBe(0n);
    expect(area.hostSector(1).dblock).toMatchObject({ lver: 1n, flags: DBLOCK_FL_RELEASED });
  });

  it('our value committed by another host before any phase-1 read of ours: no grant without a look at shared holders', async () => {
    const { area, clock, one } = setup();
    // From an earlier attempt: our accepted value for lver 1 (RELEASED), carried by host 3 at mbal 2003.
    const ours = { mbal: 1n, bal: 1n, inp: 1n, inp2: 4n, inp3: 500n, lver: 1n };
    area.plantHostSector(1, dblock({ ...ours, flags: DBLOCK_FL_RELEASED }));
    area.plantHostSector(3, dblock({ ...ours, mbal: 2003n, bal: 2003n }));
    // Host 5 holds the lease shared (no data about it: alive).
    area.plantHostSector(
      5,
      dblock({ mbal: 5n, bal: 5n, inp: 5n, inp2: 1n, inp3: 9n, lver: 0n, flags: DBLOCK_FL_RELEASED }),
      { flags: MBLOCK_SHARED, generation: 1n },
    );
    let planted = false;
    area.disk.beforeRead = (io) => {
      // Our phase 1 aborts on host 3's mbal; before we look at the leader again, host 3 commits our value.
      if (
        !planted &&
        io.lengthBytes === SS &&
        area.disk.log.filter((entry) => entry.kind === 'read' && isBallotRead(entry)).length === 1
      ) {
        planted = true;
        area.plantLeader({
          ...area.leader(),
          lver: 1n,
          ownerId: 1n,
          ownerGeneration: 4n,
          timestamp: 500n,
          writeId: 3n,
          writeGeneration: 1n,
        });
      }
    };
    const error = (await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)))) as PaxosError;
    expect(planted).toBe(true);
    expect(error).toMatchObject({ code: 'SHARED_HELD' });
    expect(error.details.holders?.map((holder) => holder.hostId)).toEqual([5]);
  });

  it('contention backs off a random 0-1 s and retries with a higher ballot', async () => {
    const { area, clock, one } = setup();
    let round = 0;
    area.disk.beforeWrite = (io) => {
      if (io.offsetBytes !== ownSectorOffset(1) || round >= 2) return;
      // Before each of our first two phase-1 writes, host 3 shows a higher mbal for lver 1.
      if (area.hostSector(1).dblock.bal === 0n) {
        round++;
        area.plantHostSector(3, dblock({ mbal: BigInt(round * 4000 + 3), lver: 1n }));
      }
    };
    const random = fixedRandom([0.3, 0.6]);
    const held = await clock.run(acquireLease(contextFor(area, clock, one, random), LOCATION));
    expect(held.lver).toBe(1n);
    // First abort: no back-off (stale-mbal rule); second: 0.3 s.
    expect(random.draws).toBe(1);
    expect(clock.nowSeconds()).toBeCloseTo(START + 0.3);
    expect(held.dblock.mbal % 2000n).toBe(1n);
  });

  it('a dblock ahead of an unchanged leader fails with DBLOCK_LVER (-212) instead of spinning', async () => {
    const { area, clock, one } = setup();
    area.plantHostSector(7, dblock({ mbal: 7n, lver: 5n }));
    expect(await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)))).toMatchObject({
      code: 'DBLOCK_LVER',
      sanlockErrno: -212,
    });
  });

  it('our sector changing under us (a second writer of our host_id) stops the ballot', async () => {
    const { area, clock, one } = setup();
    area.disk.beforeRead = (io) => {
      if (isBallotRead(io)) area.plantHostSector(1, dblock({ mbal: 99n, lver: 1n }));
    };
    const error = await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)));
    expect(error).toMatchObject({ code: 'CORRUPT' });
    expect(area.leader().lver).toBe(0n);
  });
});

describe('failures after our value may be on disk: retract', () => {
  it('a failed phase-2 write: IO_ERROR, our dblock RELEASED, no commit', async () => {
    const { area, clock, one } = setup();
    let writes = 0;
    area.disk.beforeWrite = (io) => {
      if (io.offsetBytes === ownSectorOffset(1) && ++writes === 2)
        throw new DiskError('EIO', 'injected', 'mem', io.offsetBytes, io.lengthBytes);
    };
    const error = await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)));
    expect(error).toMatchObject({ code: 'IO_ERROR' });
    expect(area.hostSector(1).dblock).toMatchObject({ bal: 1n, inp: 1n, lver: 1n, flags: DBLOCK_FL_RELEASED });
    expect(area.leader()).toMatchObject({ lver: 0n, timestamp: 0n });
  });

  it('a commit write that landed but reported an error: the leader is freed again', async () => {
    const { area, clock, one } = setup();
    let failed = false;
    const inner = area.disk.write.bind(area.disk);
    area.disk.write = async (offsetBytes, data) => {
      await inner(offsetBytes, data);
      if (offsetBytes === RESOURCE_OFFSET_BYTES && !failed) {
        failed = true;
        throw new DiskError('EIO', 'landed, then failed', 'mem', offsetBytes, data.byteLength);
      }
    };
    const error = await rejectionOf(clock.run(acquireLease(contextFor(area, clock, one), LOCATION)));
    expect(error).toMatchObject({ code: 'IO_ERROR' });
    expect(area.leader()).toMatchObject({ lver: 1n, ownerId: 1n, timestamp: 0n, writeId: 1n });
    expect(area.hostSector(1).dblock.flags).toBe(DBLOCK_FL_RELEASED);
  });
});

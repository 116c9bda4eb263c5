/**
 * paxos/ballot-range.ts: ballots read the leader, the request sector and the dblocks of host_ids
 * 1..M (M: the highest host_id a recent membership read showed as ever acquired); a phase whose
 * bound is too old reads the whole range, as sanlock does.
 */
import { describe, expect, it } from 'vitest';
import { encodeHostSector, hostSectorOffset, geometryFor, MIB } from '@leasehold/ondisk';
import {
  acquireLease,
  MEMBERSHIP_REUSE_SECONDS,
  MEMBERSHIP_VALID_SECONDS,
  releaseLease,
  type Clock,
} from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import {
  contextFor,
  dblock,
  FakeDelta,
  FakeLockspace,
  LOCATION,
  makeResourceArea,
  RESOURCE_OFFSET_BYTES,
} from './paxos-fakes.js';

const START = 1000;
const SS = 512;
/** roundup_pow2(2000 + 2) sectors: the whole range at num_hosts 2000. */
const FULL_SECTORS = 2048;

/** Our clock, which a test can jump forward by `extraSeconds` (a stall between two of our own steps). */
function setup(ourHostId = 3) {
  const lockspace = new FakeLockspace();
  const area = makeResourceArea({ lockspace });
  const fake = new FakeClock(START);
  let extraSeconds = 0;
  const clock: Clock & { jump(seconds: number): void } = {
    nowSeconds: () => fake.nowSeconds() + extraSeconds,
    sleep: (seconds) => fake.sleep(seconds),
    jump: (seconds) => (extraSeconds += seconds),
  };
  const delta = new FakeDelta(lockspace, clock, ourHostId);
  const ballotReads = (): number[] =>
    area.disk.log
      .filter(
        (io) => io.kind === 'read' && io.offsetBytes === RESOURCE_OFFSET_BYTES && io.lengthBytes > (ourHostId + 2) * SS,
      )
      .map((io) => io.lengthBytes / SS);
  return { lockspace, area, fake, clock, delta, ctx: contextFor(area, clock, delta), ballotReads };
}

describe('ballot reads bounded by lockspace membership', () => {
  it('read the leader, the request sector and the dblocks up to the highest host_id ever acquired', async () => {
    const { lockspace, fake, ctx, area, delta } = setup();
    lockspace.markUsed(700);
    await fake.run(acquireLease(ctx, LOCATION));
    const reads = area.disk.log.filter((io) => io.kind === 'read').map((io) => io.lengthBytes / SS);
    // read 1 (leader .. our sector), phase 1, phase 2: 2 + 700 sectors each.
    expect(reads).toEqual([5, 702, 702]);
    expect(delta.membershipReads).toBe(1);
  });

  it('a phase whose partial read completes after the window reads the whole range; a bound already stale skips the partial read', async () => {
    const { fake, clock, ctx, area, ballotReads } = setup();
    let stalled = false;
    area.disk.beforeRead = (io) => {
      // The phase-1 partial read hangs for longer than the window.
      if (
        !stalled &&
        io.offsetBytes === RESOURCE_OFFSET_BYTES &&
        io.lengthBytes === 5 * SS &&
        area.hostSector(3).dblock.mbal !== 0n
      ) {
        stalled = true;
        clock.jump(MEMBERSHIP_VALID_SECONDS + 0.5);
      }
    };
    const held = await fake.run(acquireLease(ctx, LOCATION));
    expect(stalled).toBe(true);
    expect(held.lver).toBe(1n);
    // Phase 1: the partial read (completed too late), then the whole range; phase 2: the whole range only.
    expect(ballotReads()).toEqual([FULL_SECTORS, FULL_SECTORS]);
    expect(area.disk.log.filter((io) => io.kind === 'read').map((io) => io.lengthBytes / SS)).toEqual([
      5,
      5,
      FULL_SECTORS,
      FULL_SECTORS,
    ]);
  });

  it('ballots within MEMBERSHIP_REUSE_SECONDS share one membership read; later ones read it again', async () => {
    const { fake, ctx, delta } = setup();
    await fake.run(releaseLease(ctx, await fake.run(acquireLease(ctx, LOCATION))));
    await fake.advance(MEMBERSHIP_REUSE_SECONDS / 2);
    await fake.run(releaseLease(ctx, await fake.run(acquireLease(ctx, LOCATION))));
    expect(delta.membershipReads).toBe(1);
    await fake.advance(MEMBERSHIP_REUSE_SECONDS);
    await fake.run(releaseLease(ctx, await fake.run(acquireLease(ctx, LOCATION))));
    expect(delta.membershipReads).toBe(2);
  });

  it('the dblock of a host_id nobody ever acquired is not read (the precondition ballot-range.ts relies on); fullReads reads it', async () => {
    for (const fullReads of [false, true]) {
      const { fake, area, delta, ctx } = setup();
      // A stray dblock with a high mbal in the sector of host_id 1500, which the lockspace has never seen.
      area.memory.overwrite(
        hostSectorOffset(RESOURCE_OFFSET_BYTES, 1500, geometryFor(512, MIB)),
        encodeHostSector(dblock({ mbal: 1500n, lver: 1n }), null, SS),
      );
      const held = await fake.run(acquireLease({ ...ctx, ballotRange: { fullReads } }, LOCATION));
      // Read: it aborts phase 1 once and retries above it (mbal 2003); not read: the first ballot (3) wins.
      expect(held.dblock.mbal).toBe(fullReads ? 2003n : 3n);
      expect(delta.membershipReads).toBe(fullReads ? 0 : 1);
    }
  });

  it('small ranges are read whole, without a membership read', async () => {
    const lockspace = new FakeLockspace();
    const area = makeResourceArea({ lockspace, numHosts: 8 });
    const fake = new FakeClock(START);
    const delta = new FakeDelta(lockspace, fake, 3);
    await fake.run(acquireLease(contextFor(area, fake, delta), LOCATION));
    expect(area.disk.log.filter((io) => io.kind === 'read').map((io) => io.lengthBytes / SS)).toEqual([5, 16, 16]);
    expect(delta.membershipReads).toBe(0);
  });
});

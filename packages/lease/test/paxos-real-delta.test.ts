/**
 * The paxos layer over the real delta lease (not the fake): two hosts join one lockspace on a shared
 * in-memory disk that also holds the resource lease, renew, and contend.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDisk } from '@leasehold/disk';
import { buildLockspaceArea, buildResourceArea, FORCE_MODE_KILL, geometryFor, MIB } from '@leasehold/ondisk';
import {
  acquireDeltaLease,
  acquireLease,
  PaxosLeaseManager,
  releaseLease,
  requestLease,
  type HeldDeltaLease,
  type LeaseRequestNotice,
  type PaxosContext,
} from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import { fixedRandom, LOCATION, rejectionOf, SPACE } from './paxos-fakes.js';

const N = 1;
const W = 10;
const START = 1000;

async function twoHosts() {
  const geometry = geometryFor(512, MIB);
  const disk = new MemoryDisk({ sectorSize: 512, sizeBytes: 2 * MIB });
  disk.overwrite(0, buildLockspaceArea({ spaceName: SPACE, geometry, ioTimeoutSeconds: N }));
  disk.overwrite(MIB, buildResourceArea({ spaceName: SPACE, resourceName: LOCATION.resourceName, geometry }));
  const clock = new FakeClock(START);
  const settings = (hostId: number) => ({
    spaceName: SPACE,
    hostId,
    areaOffsetBytes: 0,
    hostName: `host-${hostId}`,
    ioTimeoutSeconds: N,
    watchdogFireTimeoutSeconds: W,
  });
  const [one, two] = await clock.run(
    Promise.all([
      acquireDeltaLease(disk, clock.view(0), settings(1)),
      acquireDeltaLease(disk, clock.view(300), settings(2)),
    ]),
  );
  const ctx = (delta: HeldDeltaLease): PaxosContext => ({
    disk,
    clock: delta === one ? clock.view(0) : clock.view(300),
    random: fixedRandom(),
    delta,
  });
  const round = async (): Promise<void> => {
    await one.renew();
    await two.renew();
    await clock.advance(2 * N);
  };
  return { disk, clock, one, two, ctx, round };
}

describe('paxos over the real delta lease', () => {
  it('the other host fails while the holder renews; after release it gets lver + 1', async () => {
    const { clock, one, two, ctx, round } = await twoHosts();
    await round();
    await round();
    const held = await clock.run(acquireLease(ctx(one), LOCATION));
    await round();
    const error = await rejectionOf(clock.run(acquireLease(ctx(two), LOCATION, { waitSeconds: 30 })));
    expect(error).toMatchObject({ code: 'ACQUIRE_IDLIVE' });
    expect(error.message).toContain('host_id 1 "host-1" generation 1');
    await releaseLease(ctx(one), held);
    const mine = await clock.run(acquireLease(ctx(two), LOCATION));
    expect(mine.lver).toBe(2n);
  });

  it('a holder that stops renewing is taken over only after 8N + W from its last seen renewal', async () => {
    const { clock, one, two, ctx } = await twoHosts();
    await one.renew();
    await two.renew();
    await clock.run(acquireLease(ctx(one), LOCATION));
    await clock.advance(2 * N);
    await one.renew(); // host 1's last renewal
    await two.renew(); // ... seen here
    const lastSeen = clock.nowSeconds();
    // §8 check 3: -243 while the latest sample has just seen a change ...
    expect(await rejectionOf(clock.run(acquireLease(ctx(two), LOCATION, { waitSeconds: Infinity })))).toMatchObject({
      code: 'ACQUIRE_IDLIVE',
    });
    // ... after that, an acquire blocks until the deadline. Host 1 "died"; host 2 keeps renewing.
    await clock.advance(2 * N);
    await two.renew();
    let stop = false;
    const renewing = (async () => {
      while (!stop) {
        await clock.sleep(2 * N);
        if (!stop) await two.renew();
      }
    })();
    const mine = await clock.run(acquireLease(ctx(two), LOCATION, { waitSeconds: Infinity }));
    stop = true;
    await clock.run(renewing);
    expect(mine.lver).toBe(2n);
    expect(clock.nowSeconds() - lastSeen).toBeGreaterThan(8 * N + W);
    expect(clock.nowSeconds() - lastSeen).toBeLessThanOrEqual(8 * N + W + 2);
  });

  it('a request reaches the holder through the delta-lease ping bitmap', async () => {
    const { disk, clock, one, two, ctx, round } = await twoHosts();
    const manager = new PaxosLeaseManager(ctx(two));
    const held = await clock.run(manager.acquire(LOCATION));
    const notices: LeaseRequestNotice[] = [];
    const watcher = manager.watchRequests((notice) => notices.push(notice));
    const result = await requestLease({ disk, delta: one }, LOCATION, {
      lver: held.lver + 1n,
      forceMode: FORCE_MODE_KILL,
    });
    expect(result).toMatchObject({ ownerId: 2n, pinged: true });
    await round(); // host 1's renewal carries host 2's bit ...
    await round(); // ... and host 2's sample sees it
    await watcher.poll();
    expect(notices.map((n) => [n.action, n.requestLver, n.fromHostIds])).toEqual([['kill', 2n, [1]]]);
  });
});

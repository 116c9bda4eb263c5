import { describe, expect, it } from 'vitest';
import { acquireDeltaLease, LockspaceObserver, readLockspaceHosts, runRenewalLoop } from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import { AREA_OFFSET_BYTES, config, makeLockspace, SPACE } from './support/lockspace.js';

const N = 1;
const W = 10;
const where = { spaceName: SPACE, areaOffsetBytes: AREA_OFFSET_BYTES };

describe('reading the host table without joining', () => {
  it('readLockspaceHosts: one read of the area, used slots only, with validity and bitmap', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(1000);
    const settings = { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W };
    const one = await clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'one', settings)));
    await clock.run(acquireDeltaLease(ls.disk, clock, config(7, 'seven', settings)));
    one.pingHost(7);
    await one.renew();
    ls.disk.log.length = 0;
    const snapshot = await readLockspaceHosts(ls.disk, where);
    expect(ls.disk.log.map((io) => io.lengthBytes)).toEqual([4096, 1024 * 1024]);
    expect(snapshot.geometry.maxHosts).toBe(2000);
    expect(snapshot.slots.map((s) => [s.hostId, s.leader.resourceName, s.valid, s.bitmapHostIds])).toEqual([
      [1, 'one', true, [7]],
      [7, 'seven', true, []],
    ]);
  });

  it('LockspaceObserver: UNKNOWN after one sample, LIVE once a renewal is seen, FAIL and DEAD when it stops', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(1000);
    const host = await clock.run(
      acquireDeltaLease(ls.disk, clock, config(2, 'two', { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W })),
    );
    const stop = new AbortController();
    const loop = runRenewalLoop(host, clock, {}, stop.signal);
    const observer = await LockspaceObserver.open(ls.disk, clock, {
      ...where,
      ioTimeoutSeconds: 5,
      watchdogFireTimeoutSeconds: W,
    });
    await observer.sample();
    expect(observer.hosts().map((h) => [h.hostId, h.state])).toEqual([[2, 'UNKNOWN']]);
    await clock.advance(2 * N);
    expect(await observer.sample()).toEqual([2]);
    expect(observer.hosts()[0]?.state).toBe('LIVE');
    stop.abort(); // stops renewing without release
    await loop;
    await observer.sample();
    const lastLive = observer.hosts()[0]!.lastLiveSeconds!;
    await clock.advanceTo(lastLive + 8 * N + 0.5);
    await observer.sample();
    expect(observer.hosts()[0]?.state).toBe('FAIL');
    await clock.advanceTo(lastLive + 8 * N + W + 0.5);
    await observer.sample();
    expect(observer.hosts()[0]?.state).toBe('DEAD');
    await host.release().catch(() => undefined);
  });

  it('LockspaceObserver judges from its samples: without a new sample nothing changes, however long', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(1000);
    const host = await clock.run(
      acquireDeltaLease(ls.disk, clock, config(2, 'two', { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W })),
    );
    const stop = new AbortController();
    const loop = runRenewalLoop(host, clock, {}, stop.signal);
    const observer = await LockspaceObserver.open(ls.disk, clock, { ...where, watchdogFireTimeoutSeconds: W });
    await observer.sample();
    await clock.advance(2 * N);
    await observer.sample();
    expect(observer.hosts()[0]).toMatchObject({ state: 'LIVE', lastCheckStartSeconds: clock.nowSeconds() });
    // We stop looking for a long time (the host keeps renewing): still LIVE, from an old sample.
    await clock.advance(1000);
    expect(observer.hosts()[0]).toMatchObject({ state: 'LIVE', lastCheckStartSeconds: clock.nowSeconds() - 1000 });
    expect(await observer.sample()).toEqual([2]);
    expect(observer.hosts()[0]?.state).toBe('LIVE');
    stop.abort();
    await loop;
    await host.release();
  });

  it('LockspaceObserver: a sample whose read returned old data late proves silence only up to when it was issued', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(1000);
    const host = await clock.run(
      acquireDeltaLease(ls.disk, clock, config(2, 'two', { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W })),
    );
    // A disk whose area reads can be made to take their data at once and deliver it much later.
    let delaySeconds = 0;
    const slowDisk = Object.create(ls.disk) as typeof ls.disk;
    slowDisk.read = async (offsetBytes: number, lengthBytes: number) => {
      const data = await ls.disk.read(offsetBytes, lengthBytes);
      if (delaySeconds > 0) await clock.sleep(delaySeconds);
      return data;
    };
    const observer = await LockspaceObserver.open(slowDisk, clock, { ...where, watchdogFireTimeoutSeconds: W });
    await observer.sample();
    await clock.advance(1);
    await host.renew();
    await observer.sample(); // LIVE: a renewal seen
    const lastLive = observer.hosts()[0]!.lastLiveSeconds!;
    // The host stops renewing. Our next read takes its data 1 s later but delivers it 100 s later.
    await clock.advance(1);
    delaySeconds = 100;
    await clock.run(observer.sample());
    expect(observer.hosts()[0]).toMatchObject({
      state: 'LIVE',
      lastCheckStartSeconds: lastLive + 1,
      lastCheckSeconds: lastLive + 101,
    });
    // A fresh sample proves the silence.
    delaySeconds = 0;
    await observer.sample();
    expect(observer.hosts()[0]?.state).toBe('DEAD');
  });

  it('LockspaceObserver reports a released host FREE', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(1000);
    const host = await clock.run(
      acquireDeltaLease(ls.disk, clock, config(3, 'three', { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W })),
    );
    await host.release();
    const observer = await LockspaceObserver.open(ls.disk, clock, where);
    await observer.sample();
    expect(observer.hosts()).toMatchObject([{ hostId: 3, state: 'FREE', generation: 1n, hostName: 'three' }]);
  });

  it('fails CORRUPT for a lockspace name that is not there', async () => {
    const ls = makeLockspace();
    await expect(readLockspaceHosts(ls.disk, { spaceName: 'NOPE', areaOffsetBytes: 0 })).rejects.toMatchObject({
      code: 'CORRUPT',
    });
  });
});

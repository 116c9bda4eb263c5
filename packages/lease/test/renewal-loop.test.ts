import { describe, expect, it } from 'vitest';
import {
  acquireDeltaLease,
  runRenewalLoop,
  type Clock,
  type DeltaErrorShape,
  type HostChange,
  type HeldDeltaLease,
} from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import { config, makeLockspace, type TestLockspace } from './support/lockspace.js';

const W = 10;

/** Joins with clock.view(offsetSeconds) as the host's clock; the loop must then run on that same view. */
async function join(
  ls: TestLockspace,
  clock: FakeClock,
  hostId: number,
  ioTimeoutSeconds: number,
  hostClock: Clock = clock,
): Promise<HeldDeltaLease> {
  return clock.run(
    acquireDeltaLease(
      ls.disk,
      hostClock,
      config(hostId, `host-${hostId}`, { ioTimeoutSeconds, watchdogFireTimeoutSeconds: W }),
    ),
  );
}

describe('runRenewalLoop (§4 renew step 4)', () => {
  it('renews every 2N', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(1000);
    const lease = await join(ls, clock, 1, 1);
    const renewedAt: number[] = [];
    const stop = new AbortController();
    const loop = runRenewalLoop(lease, clock, { onRenewed: () => renewedAt.push(clock.nowSeconds()) }, stop.signal);
    const t0 = clock.nowSeconds();
    await clock.advance(10);
    stop.abort();
    expect(await loop).toBe('stopped');
    expect(renewedAt).toEqual([t0 + 2, t0 + 4, t0 + 6, t0 + 8, t0 + 10]);
    await lease.release();
    expect(ls.sector(1).leader.timestamp).toBe(0n);
  });

  it('reports another host LIVE, then FAIL and DEAD at 8·N_other and 8·N_other + W after its last renewal was seen', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(1000);
    const observer = await join(ls, clock, 1, 1);
    const otherClock = clock.view(4242);
    const other = await join(ls, clock, 2, 3, otherClock); // N_other = 3: fail 24, dead 34
    const changes: { at: number; change: HostChange }[] = [];
    const stopObserver = new AbortController();
    const observing = runRenewalLoop(
      observer,
      clock,
      { onHostChange: (change) => changes.push({ at: clock.nowSeconds(), change }) },
      stopObserver.signal,
    );
    const stopOther = new AbortController();
    const otherLoop = runRenewalLoop(other, otherClock, {}, stopOther.signal);
    await clock.advance(20);
    stopOther.abort(); // the other host stops renewing (crash: no release)
    await otherLoop;
    await clock.advance(60);
    stopObserver.abort();
    await observing;
    const states = changes.map(({ at, change }) => ({
      at,
      state: change.status.state,
      previous: change.previousState,
    }));
    expect(states.map((s) => s.state)).toEqual(['LIVE', 'FAIL', 'DEAD']);
    const lastLive = observer.host(2)!.lastLiveSeconds!;
    // Transitions are noticed at the observer's renewals (every 2 s): the first one after the formula time.
    const fail = states[1]!.at;
    const dead = states[2]!.at;
    expect(fail).toBeGreaterThan(lastLive + 24);
    expect(fail).toBeLessThanOrEqual(lastLive + 24 + 2);
    expect(dead).toBeGreaterThan(lastLive + 34);
    expect(dead).toBeLessThanOrEqual(lastLive + 34 + 2);
    expect(changes[0]!.change.status).toMatchObject({
      hostId: 2,
      generation: 1n,
      hostName: 'host-2',
      ioTimeoutSeconds: 3,
    });
  });

  it('an observer whose own renewal read stalls (its longer 8N still running) never calls a live host DEAD', async () => {
    // Observer: N = 3, renews every 6 s, its lease lasts 24 s. Other host: N = 1, DEAD after
    // 8 + W = 18 s of silence. The observer's renewal read (due 6 s after its last sample) hangs for
    // 15 s while the other host renews all along: nothing is known about it meanwhile, so the
    // observer keeps the verdict of its last sample (§3); judging now - last_live would say DEAD
    // from 18 s after that sample on.
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(1000);
    const observer = await join(ls, clock, 1, 3);
    const otherClock = clock.view(4242);
    const other = await join(ls, clock, 2, 1, otherClock);
    const stop = new AbortController();
    const otherLoop = runRenewalLoop(other, otherClock, {}, stop.signal);
    const changes: string[] = [];
    const observing = runRenewalLoop(
      observer,
      clock,
      { onHostChange: (change) => changes.push(change.status.state) },
      stop.signal,
    );
    await clock.advance(13); // two observer renewals: host 2 seen LIVE
    expect(observer.host(2)?.state).toBe('LIVE');
    // Hold the observer's next area read (only its reads: the other host's disk is the same object,
    // so tell them apart by the clock time at which each renewal is due).
    let releaseRead: () => void = () => undefined;
    let held = false;
    ls.disk.beforeRead = (io) => {
      if (held || io.lengthBytes <= 512 || observer.lastRenewalSeconds + 6 > clock.nowSeconds()) return undefined;
      held = true;
      return new Promise<void>((resolve) => (releaseRead = resolve));
    };
    const lastSampleSeconds = observer.lastRenewalSeconds;
    const statesDuringStall: string[] = [];
    while (clock.nowSeconds() < lastSampleSeconds + 6 + 15) {
      await clock.advance(0.5);
      statesDuringStall.push(observer.host(2)?.state ?? '-');
    }
    expect(held).toBe(true);
    expect(observer.lost).toBe(false);
    expect(observer.host(2)?.lastCheckStartSeconds).toBe(lastSampleSeconds);
    expect(clock.nowSeconds() - observer.host(2)!.lastLiveSeconds!).toBeGreaterThan(18);
    expect(statesDuringStall.every((state) => state === 'LIVE')).toBe(true);
    releaseRead();
    await clock.advance(6);
    expect(observer.host(2)?.state).toBe('LIVE');
    expect(changes).toEqual(['UNKNOWN', 'LIVE']);
    stop.abort();
    await Promise.all([otherLoop, observing]);
  });

  it('retries every 0.5 s after a failure, warns at 6N and declares the lease lost at 8N, then writes nothing', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(1000);
    const lease = await join(ls, clock, 1, 1);
    ls.disk.beforeWrite = () => {
      throw new Error('EIO');
    };
    const failuresAt: number[] = [];
    const warnedAt: number[] = [];
    const lost: DeltaErrorShape[] = [];
    const loop = runRenewalLoop(lease, clock, {
      onRenewalError: () => failuresAt.push(clock.nowSeconds()),
      onWarn: () => warnedAt.push(clock.nowSeconds()),
      onLost: (error) => lost.push(error),
    });
    const t0 = lease.lastRenewalSeconds;
    expect(await clock.run(loop)).toBe('lost');
    expect(clock.nowSeconds()).toBe(t0 + 8);
    expect(failuresAt[0]).toBe(t0 + 2);
    expect(failuresAt[1]).toBe(t0 + 2.5);
    expect(failuresAt.at(-1)).toBe(t0 + 7.5);
    expect(warnedAt).toEqual([t0 + 6]);
    expect(lost.map((e) => e.code)).toEqual(['LEASE_LOST']);
    expect(lease.lost).toBe(true);
    const writes = ls.disk.writes().length;
    await lease.release();
    expect(ls.disk.writes()).toHaveLength(writes);
  });

  it('declares the lease lost at exactly 8N when a renewal I/O hangs, and warns at 6N', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 2 });
    const clock = new FakeClock(1000);
    const lease = await join(ls, clock, 1, 2);
    const writesBefore = ls.disk.writes().length;
    ls.disk.beforeRead = () => new Promise<void>(() => undefined); // never completes
    const warnedAt: number[] = [];
    const lostAt: number[] = [];
    const t0 = lease.lastRenewalSeconds;
    const outcome = await clock.run(
      runRenewalLoop(lease, clock, {
        onWarn: () => warnedAt.push(clock.nowSeconds()),
        onLost: () => lostAt.push(clock.nowSeconds()),
      }),
    );
    expect(outcome).toBe('lost');
    expect(warnedAt).toEqual([t0 + 12]);
    expect(lostAt).toEqual([t0 + 16]);
    expect(ls.disk.writes()).toHaveLength(writesBefore);
    expect(lease.released).toBe(true);
  });

  it('loses the lease at once when another host took our sector (RENEW_OWNER)', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(1000);
    const lease = await join(ls, clock, 1, 1);
    const t0 = lease.lastRenewalSeconds;
    const leader = ls.sector(1).leader;
    ls.writeSector(1, { ...leader, resourceName: 'thief', ownerGeneration: leader.ownerGeneration + 1n });
    const lost: DeltaErrorShape[] = [];
    expect(await clock.run(runRenewalLoop(lease, clock, { onLost: (e) => lost.push(e) }))).toBe('lost');
    expect(clock.nowSeconds()).toBe(t0 + 2);
    expect(lost.map((e) => e.code)).toEqual(['RENEW_OWNER']);
  });

  it('hands received events and pings to the handlers', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(1000);
    const receiver = await join(ls, clock, 1, 1);
    const senderClock = clock.view(77);
    const sender = await join(ls, clock, 2, 1, senderClock);
    const events: bigint[] = [];
    const pings: number[] = [];
    const stop = new AbortController();
    const loops = [
      runRenewalLoop(
        receiver,
        clock,
        { onEvent: (e) => events.push(e.event), onPing: (h) => pings.push(h) },
        stop.signal,
      ),
      runRenewalLoop(sender, senderClock, {}, stop.signal),
    ];
    sender.setEvent(1, 42n, 1n);
    await clock.advance(20);
    stop.abort();
    await Promise.all(loops);
    expect(events).toEqual([42n]);
    expect(pings.length).toBeGreaterThanOrEqual(2);
    expect(new Set(pings)).toEqual(new Set([2]));
  });

  it('keeps renewing when a handler throws', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(1000);
    const lease = await join(ls, clock, 1, 1);
    let renewals = 0;
    const stop = new AbortController();
    const loop = runRenewalLoop(
      lease,
      clock,
      {
        onRenewed: () => {
          renewals++;
          throw new Error('handler bug');
        },
      },
      stop.signal,
    );
    await clock.advance(10);
    stop.abort();
    expect(await loop).toBe('stopped');
    expect(renewals).toBe(5);
  });

  it('returns "released" when the lease is released while the loop runs', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(1000);
    const lease = await join(ls, clock, 1, 1);
    const loop = runRenewalLoop(lease, clock);
    await clock.advance(3);
    await lease.release();
    expect(await clock.run(loop)).toBe('released');
  });
});

/**
 * A stalled observer must not call a live host dead (§3: liveness is judged only by observed change;
 * silence is proven only up to the moment a read that saw no change was ISSUED, never up to now).
 * Our own sampling can stall for longer than another host's host_dead_seconds while our delta lease
 * is still valid: hosts are judged with THEIR io_timeout (8N_other + W), our lease lasts 8N_ours,
 * and N differs per host (§3). Each test here fails when "now" stands in for the issue time.
 */
import { describe, expect, it } from 'vitest';
import { MBLOCK_SHARED } from '@leasehold/ondisk';
import { acquireLease, PaxosError } from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import {
  contextFor,
  dblock,
  FakeDelta,
  FakeLockspace,
  LOCATION,
  makeResourceArea,
  rejectionOf,
} from './paxos-fakes.js';
import { keepRenewing, StallingDelta } from './paxos-stalling-delta.js';

const START = 1000;
const W = 60;
/** The other host publishes io_timeout 1: host_dead_seconds = 8·1 + 60 = 68. */
const OTHER_IO_TIMEOUT_SECONDS = 1;
const OTHER_DEAD_SECONDS = 8 * OTHER_IO_TIMEOUT_SECONDS + W;
/** Ours is 10: our delta lease lasts 8·10 = 80 s without a renewal, longer than the stalls below. */
const OUR_IO_TIMEOUT_SECONDS = 10;
/** Longer than the other host's host_dead_seconds, shorter than our own 8N. */
const STALL_SECONDS = 70;
const RENEWAL_INTERVAL_SECONDS = 2;

function world() {
  const lockspace = new FakeLockspace();
  const area = makeResourceArea({ lockspace });
  const clock = new FakeClock(START);
  const other = (hostId: number, generation: bigint): FakeDelta =>
    new FakeDelta(lockspace, clock, hostId, {
      generation,
      hostName: `host-${hostId}`,
      ioTimeoutSeconds: OTHER_IO_TIMEOUT_SECONDS,
      watchdogFireTimeoutSeconds: W,
    });
  const us = (hostId: number): StallingDelta =>
    new StallingDelta(lockspace, clock, hostId, {
      generation: 4n,
      ioTimeoutSeconds: OUR_IO_TIMEOUT_SECONDS,
      watchdogFireTimeoutSeconds: W,
    });
  return { area, clock, lockspace, other, us };
}

describe('an observer whose sampling stalled keeps the verdict its last sample proved (§3, §5.4)', () => {
  it('an exclusive acquire does not clear a shared holder that kept renewing while our sampling was stalled', async () => {
    const { area, clock, lockspace, other, us } = world();
    const two = other(2, 12n);
    const one = us(1);
    await clock.run(acquireLease(contextFor(area, clock, two), LOCATION, { mode: 'shared' }));
    one.sample();
    await clock.advance(RENEWAL_INTERVAL_SECONDS);
    lockspace.renew(2);
    one.sample(); // host 2 seen renewing: LIVE, last_live = START + 2
    expect(one.host(2)?.state).toBe('LIVE');

    // Our renewals (which do the sampling) hang from here on; host 2 renews on disk all along.
    one.stopRenewing();
    keepRenewing(clock, lockspace, 2, RENEWAL_INTERVAL_SECONDS, START + 10 * STALL_SECONDS);
    await clock.advance(STALL_SECONDS);
    // now - last_live = 70 > 68, but our latest sample proves 0 s of silence; we are still joined (8N = 80).
    expect(clock.nowSeconds() - (one.host(2)?.lastLiveSeconds ?? 0)).toBeGreaterThan(OTHER_DEAD_SECONDS);
    expect(one.host(2)?.state).toBe('LIVE');

    const error = (await rejectionOf(
      clock.run(acquireLease(contextFor(area, clock, one), LOCATION), 10),
    )) as PaxosError;
    expect(error).toBeInstanceOf(PaxosError);
    expect(error).toMatchObject({ code: 'SHARED_HELD', sanlockErrno: -11 });
    expect(error.details.holders).toEqual([expect.objectContaining({ hostId: 2, generation: 12n, mode: 'shared' })]);
    // Host 2 keeps its shared hold; our attempt gave the leader back.
    expect(area.hostSector(2).mode).toEqual({ flags: MBLOCK_SHARED, generation: 12n });
    expect(area.leader()).toMatchObject({ lver: 2n, ownerId: 1n, timestamp: 0n });
  });

  it("does not commit a live host's carried value for it when only our stalled sampling makes it look silent", async () => {
    const { area, clock, lockspace, us } = world();
    const one = us(1);
    // Host 5 (alive, renewing) accepted its own value for lver 1 and will commit it itself.
    area.plantHostSector(5, dblock({ mbal: 5n, bal: 5n, inp: 5n, inp2: 2n, inp3: 888n, lver: 1n }));
    lockspace.set(5, { generation: 2n, timestamp: 50n, ioTimeoutSeconds: OTHER_IO_TIMEOUT_SECONDS, hostName: 'five' });
    one.sample();
    await clock.advance(RENEWAL_INTERVAL_SECONDS);
    lockspace.renew(5);
    one.sample();
    one.stopRenewing();
    keepRenewing(clock, lockspace, 5, RENEWAL_INTERVAL_SECONDS, START + 10 * STALL_SECONDS);
    await clock.advance(STALL_SECONDS);

    const error = (await rejectionOf(
      clock.run(acquireLease(contextFor(area, clock, one), LOCATION), 10),
    )) as PaxosError;
    expect(error).toMatchObject({ code: 'ACQUIRE_OTHER', sanlockErrno: -245 });
    expect(error.details.holders?.[0]).toMatchObject({ hostId: 5, generation: 2n });
    // Not helped: the leader was not written (a late help could put it back behind host 5's progress).
    expect(area.leader()).toMatchObject({ lver: 0n, timestamp: 0n });
  });
});

describe('owner liveness with a stalled read (§5.1 step 3)', () => {
  it('a read that hangs past host_dead_seconds and returns the old timestamp does not make a renewing owner dead', async () => {
    const { area, clock, lockspace, other, us } = world();
    const two = other(2, 7n);
    const one = us(1);
    await clock.run(acquireLease(contextFor(area, clock, two), LOCATION));
    one.sample(); // host 2's change seen at START (last_live)
    await clock.advance(RENEWAL_INTERVAL_SECONDS);
    one.sample(); // no change since: the owner-liveness wait starts from last_live = START

    // Our first read of host 2's delta lease samples the disk at once (START + 2) and then hangs for
    // 70 s; our renewals hang with it. Host 2 renews every 2 s from START + 4 on.
    one.stallRead(1, { seconds: STALL_SECONDS, sampleAt: 'issue', onIssue: () => one.stopRenewing() });
    keepRenewing(clock, lockspace, 2, RENEWAL_INTERVAL_SECONDS, START + 10 * STALL_SECONDS);

    const error = (await rejectionOf(
      clock.run(acquireLease(contextFor(area, clock, one), LOCATION, { waitSeconds: Infinity }), 1000),
    )) as PaxosError;
    // The hung read proved 2 s of silence (START .. its issue at START + 2), not 72: keep waiting;
    // the next read (after the 1 s poll) sees the owner's newer timestamp.
    expect(error).toMatchObject({ code: 'ACQUIRE_IDLIVE', sanlockErrno: -243 });
    expect(clock.nowSeconds()).toBe(START + RENEWAL_INTERVAL_SECONDS + STALL_SECONDS + 1);
    expect(area.leader()).toMatchObject({ lver: 1n, ownerId: 2n, ownerGeneration: 7n });
    expect(area.leader().timestamp).not.toBe(0n);
  });

  it('without table data the silence counts from when the first read COMPLETED: a slow first read sees a fresh renewal', async () => {
    const { area, clock, lockspace, other, us } = world();
    const two = other(2, 7n);
    const three = us(3); // has never sampled the lockspace: no table data about host 2
    await clock.run(acquireLease(contextFor(area, clock, two), LOCATION));
    // Host 2 renews every 2 s up to START + 68, then dies: its watchdog has fired by START + 68 + 68.
    const lastRenewalSeconds = START + 34 * RENEWAL_INTERVAL_SECONDS;
    keepRenewing(clock, lockspace, 2, RENEWAL_INTERVAL_SECONDS, lastRenewalSeconds);
    const deadBySeconds = lastRenewalSeconds + OTHER_DEAD_SECONDS;
    // Our first read is issued at START but is only served (samples the disk) 70 s later: it shows
    // the renewal of START + 68.
    three.stallRead(1, { seconds: STALL_SECONDS, sampleAt: 'completion' });

    const held = await clock.run(
      acquireLease(contextFor(area, clock, three), LOCATION, { waitSeconds: Infinity }),
      1000,
    );
    expect(held).toMatchObject({ mode: 'exclusive', lver: 2n });
    // Never before the owner is dead: waiting from the first read's completion (START + 70), the
    // first read issued more than 68 s after it (START + 139) takes over.
    expect(clock.nowSeconds()).toBeGreaterThan(deadBySeconds);
    expect(clock.nowSeconds()).toBe(START + STALL_SECONDS + OTHER_DEAD_SECONDS + 1);
  });
});

/**
 * The daemon's Lockspace keeps its state in the host core's LockspaceMachine: the state users see
 * follows the transitions, and a transition from the wrong state is refused (InvariantError)
 * instead of silently overwriting a public field.
 */
import { describe, expect, it } from 'vitest';
import { geometryFor, MIB } from '@leasehold/ondisk';
import { InvariantError } from '@leasehold/host-core';
import type { Clock } from '@leasehold/lease';
import { Lockspace } from '../src/lockspaces/lockspace.js';

const N = 10;
const joined = { hostId: 4, generation: 3n, geometry: geometryFor(512, MIB), lastRenewalSeconds: 100 };

function lockspace(now: { seconds: number }): Lockspace {
  const clock: Clock = { nowSeconds: () => now.seconds, sleep: () => Promise.resolve() };
  return new Lockspace('ls', '/dev/x', 0, 'auto', N, 60, clock);
}

describe('daemon Lockspace states', () => {
  it('starting -> joined -> lost, usable only while joined and within 8 x io_timeout', () => {
    const now = { seconds: 100 };
    const ls = lockspace(now);
    expect(ls.state).toBe('starting');
    expect(() => ls.joinedFacts()).toThrow(InvariantError);
    ls.becomeJoined(joined);
    expect(ls.state).toBe('joined');
    expect(ls.joinedFacts()).toEqual(joined);
    expect(ls.joinedDeadlineSeconds()).toBe(100 + 8 * N);
    now.seconds = 100 + 8 * N - 0.001;
    expect(ls.usable).toBe(true);
    now.seconds = 100 + 8 * N;
    expect(ls.usable).toBe(false);
    ls.becomeLost({ code: 'LEASE_LOST', message: 'deadline' });
    expect(ls.state).toBe('lost');
    expect(ls.error?.code).toBe('LEASE_LOST');
    expect(() => ls.becomeStopping()).toThrow(InvariantError);
    expect(() => ls.becomeJoined(joined)).toThrow(InvariantError);
  });

  it('a cancelled start shows as stopping and can no longer join or fail', () => {
    const ls = lockspace({ seconds: 1 });
    ls.cancelStart();
    expect(ls.state).toBe('stopping');
    expect(() => ls.becomeJoined(joined)).toThrow(InvariantError);
    expect(() => ls.becomeLost({ code: 'X', message: 'x' })).toThrow(InvariantError);
  });

  it('a failed start is failed; a joined lockspace stops only through stopping', () => {
    const failed = lockspace({ seconds: 1 });
    failed.becomeFailed({ code: 'IO_ERROR', message: 'eio' });
    expect(failed.state).toBe('failed');
    expect(() => failed.becomeFailed({ code: 'IO_ERROR', message: 'again' })).toThrow(InvariantError);
    const stopping = lockspace({ seconds: 100 });
    expect(() => stopping.becomeStopping()).toThrow(InvariantError);
    stopping.becomeJoined(joined);
    stopping.becomeStopping();
    expect(stopping.state).toBe('stopping');
    expect(stopping.usable).toBe(false);
  });

  it('a resource operation that ended and forgot its wait is not rejected at the next move; one in flight is', async () => {
    const ls = lockspace({ seconds: 100 });
    const finished = ls.whenResourceMoved(ls.resourceEpoch);
    finished.forget();
    const inFlight = ls.whenResourceMoved(ls.resourceEpoch);
    let finishedSettled = false;
    finished.moved.catch(() => {
      finishedSettled = true;
    });
    ls.markResourceMoved();
    await expect(inFlight.moved).rejects.toThrow();
    await Promise.resolve();
    expect(finishedSettled).toBe(false);
    // An epoch already gone is rejected at once.
    await expect(ls.whenResourceMoved(ls.resourceEpoch - 1).moved).rejects.toThrow();
  });
});

/** The rules the fixed daemon bugs broke, and restart adoption, at the level of the core's actions. */
import { describe, expect, it } from 'vitest';
import type { HostEvent, LeaseRow } from '../src/types.js';
import { CLIENT, IO_TIMEOUT, joinOk, lockstart, newCore, ofType, PERSISTENT } from './support.js';

describe('host core rules', () => {
  it('is not joined, and grants nothing, before the companion acknowledged the registration', () => {
    const { core, step, clock } = newCore();
    step(lockstart());
    step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
    const actions = step(joinOk(clock.now));
    expect(ofType(actions, 'reply')).toEqual([]);
    expect(core.lockspace('ls')?.kind).toBe('starting');
    const refused = step({ type: 'acquire', reqId: 5, lockspace: 'ls', resource: 'r', mode: 'EX', holder: CLIENT });
    expect(ofType(refused, 'reply')[0]?.reply).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_STARTING' } });
  });

  it('with the ack fix reverted (test-only flag) it is joined before the acknowledgement', () => {
    const { core, step, clock } = newCore({ revertedFix: 'watchdog-ack' });
    step(lockstart());
    step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
    step(joinOk(clock.now));
    expect(core.lockspace('ls')?.kind).toBe('joined');
  });

  it('a lockstop on a hung device finishes after 2 x io_timeout, the companion told first', () => {
    const { core, step, clock } = newCore();
    step(lockstart());
    step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
    step(joinOk(clock.now));
    step({ type: 'companion_ack', name: 'ls', step: 'add', ok: true });
    const stop = step({ type: 'lockstop', reqId: 2, name: 'ls' });
    expect(ofType(stop, 'watchdog')[0]?.message.type).toBe('remove');
    clock.now += 2 * IO_TIMEOUT;
    const tick = step({ type: 'expiry_tick' });
    expect(ofType(tick, 'reply')[0]?.reply).toMatchObject({ reqId: 2, ok: true });
    expect(core.lockspace('ls')).toBeUndefined();
  });

  it('a start cancelled by the shutdown keeps its row (started again next time); one lockstopped loses it', () => {
    const stateOf = (actions: ReturnType<ReturnType<typeof newCore>['step']>) =>
      ofType(actions, 'state').map((action) => action.change.type);
    for (const how of ['shutdown', 'lockstop'] as const) {
      const { core, step } = newCore();
      step(lockstart());
      step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
      const stop = step(how === 'shutdown' ? { type: 'shutdown' } : { type: 'lockstop', reqId: 2, name: 'ls' });
      expect(ofType(stop, 'lane')[0]?.command).toEqual({ type: 'cancel_join', name: 'ls' });
      const cancelled = step({
        type: 'join_result',
        name: 'ls',
        result: { ok: false, error: { code: 'CANCELLED', message: 'cancelled' } },
      });
      expect(core.lockspace('ls')).toBeUndefined();
      const changes = [...stateOf(stop), ...stateOf(cancelled)];
      expect(changes).toEqual(how === 'shutdown' ? ['put_lockspace'] : ['delete_lockspace', 'delete_lockspace']);
    }
  });

  it('a lockstop of a start waiting for an old persistent holder drops it and finishes', () => {
    const stored: LeaseRow[] = [{ lockspace: 'ls', resource: 'lv1', mode: 'EX', holder: PERSISTENT, token: 'tok' }];
    const loaded: HostEvent = {
      type: 'state_loaded',
      lockspaces: [
        { name: 'ls', path: '/dev/x', offsetBytes: 0, hostIdRequest: 3, hostId: 3, generation: 4n, state: 'lost' },
      ],
      leases: stored,
      sameBoot: true,
    };
    for (const reverted of [false, true]) {
      const { core, step } = newCore(reverted ? { revertedFix: 'lockstop-starting' } : {});
      step(loaded);
      const prepared = step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
      expect(ofType(prepared, 'kill')[0]).toMatchObject({ holders: [PERSISTENT] });
      step({ type: 'lockstop', reqId: 2, name: 'ls' });
      expect(core.lockspace('ls')?.kind).toBe(reverted ? 'starting' : undefined);
      expect(core.killCampaignNames()).toEqual(reverted ? ['ls'] : []);
    }
  });

  it('a new generation joins only after the old generation holders are gone (host_id reuse)', () => {
    const { core, step, clock } = newCore();
    step(lockstart());
    step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
    step(joinOk(clock.now));
    step({ type: 'companion_ack', name: 'ls', step: 'add', ok: true });
    step({ type: 'acquire', reqId: 9, lockspace: 'ls', resource: 'r', mode: 'EX', holder: CLIENT });
    step({ type: 'acquire_result', lockspace: 'ls', resource: 'r', result: { ok: true, token: 't' } });
    clock.now += 8 * IO_TIMEOUT;
    step({ type: 'expiry_tick' });
    step(lockstart(10));
    const prepared = step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
    expect(ofType(prepared, 'lane')).toEqual([]);
    clock.now += 5;
    expect(ofType(step({ type: 'expiry_tick' }), 'kill')[0]).toMatchObject({ signal: 'kill', holders: [CLIENT] });
    const gone = step({ type: 'client_exit', pid: 100, startTime: 7n });
    expect(ofType(gone, 'lane')[0]?.command).toMatchObject({ type: 'join' });
    expect(core.lockspace('ls')?.kind).toBe('starting');
  });

  it('after a restart with the same generation, exactly the recorded held leases are adopted', () => {
    const { core, step, clock } = newCore();
    step({
      type: 'state_loaded',
      lockspaces: [
        {
          name: 'ls',
          path: '/dev/x',
          offsetBytes: 0,
          hostIdRequest: 'auto',
          hostId: 3,
          generation: 4n,
          state: 'joined',
        },
      ],
      leases: [
        { lockspace: 'ls', resource: 'a', mode: 'EX', holder: CLIENT, token: 'ta' },
        { lockspace: 'ls', resource: 'b', mode: 'SH', holder: PERSISTENT, token: 'tb' },
        { lockspace: 'ls', resource: 'c', mode: 'EX', holder: CLIENT, token: '' },
      ],
      sameBoot: true,
    });
    const prepared = step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
    expect(ofType(prepared, 'lane')[0]?.command).toMatchObject({ type: 'resume', hostId: 3, generation: 4n });
    step({
      type: 'join_result',
      name: 'ls',
      result: { ok: true, facts: { hostId: 3, generation: 4n, lastRenewalSeconds: clock.now } },
    });
    const adopted = step({ type: 'companion_ack', name: 'ls', step: 'add', ok: true });
    expect(
      core
        .leaseRecords()
        .map((r) => `${r.resource}:${r.state}`)
        .sort(),
    ).toEqual(['a:held', 'b:held']);
    expect(ofType(adopted, 'lane').map((a) => a.command)).toEqual([
      { type: 'clean_intent', lockspace: 'ls', resource: 'c' },
    ]);
    expect(ofType(adopted, 'watch_holder')).toEqual([{ type: 'watch_holder', holder: CLIENT }]);
  });

  it('bounded: leases per client, lockspaces and requests have named limits with clear codes', () => {
    const { step, clock } = newCore({ limits: { leasesPerClient: 1, lockspaces: 1, pendingRequests: 3 } });
    step(lockstart());
    step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
    step(joinOk(clock.now));
    step({ type: 'companion_ack', name: 'ls', step: 'add', ok: true });
    const other = step({ type: 'lockstart', reqId: 2, name: 'ls2', path: '/dev/y', offsetBytes: 0, hostIdRequest: 1 });
    expect(ofType(other, 'reply')[0]?.reply).toMatchObject({ ok: false, error: { code: 'TOO_MANY_LOCKSPACES' } });
    step({ type: 'acquire', reqId: 3, lockspace: 'ls', resource: 'a', mode: 'EX', holder: CLIENT });
    const second = step({ type: 'acquire', reqId: 4, lockspace: 'ls', resource: 'b', mode: 'EX', holder: CLIENT });
    expect(ofType(second, 'reply')[0]?.reply).toMatchObject({ ok: false, error: { code: 'TOO_MANY_LEASES' } });
    step({ type: 'acquire', reqId: 5, lockspace: 'ls', resource: 'c', mode: 'EX', holder: PERSISTENT });
    step({ type: 'acquire', reqId: 6, lockspace: 'ls', resource: 'd', mode: 'EX', holder: PERSISTENT });
    const many = step({ type: 'acquire', reqId: 7, lockspace: 'ls', resource: 'e', mode: 'EX', holder: PERSISTENT });
    expect(ofType(many, 'reply')[0]?.reply).toMatchObject({ ok: false, error: { code: 'TOO_MANY_REQUESTS' } });
  });
});

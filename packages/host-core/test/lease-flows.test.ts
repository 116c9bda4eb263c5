/**
 * The resource-lease flows the daemon executes through the core: conversions, value-block tokens,
 * and a requester or holder that goes away while the lane works.
 */
import { describe, expect, it } from 'vitest';
import type { HostAction } from '../src/types.js';
import { CLIENT, joinOk, lockstart, newCore, ofType } from './support.js';

function joinedWithLease(): ReturnType<typeof newCore> {
  const env = newCore();
  env.step(lockstart());
  env.step({ type: 'companion_ack', name: 'ls', step: 'prepare', ok: true });
  env.step(joinOk(env.clock.now));
  env.step({ type: 'companion_ack', name: 'ls', step: 'add', ok: true });
  env.step({ type: 'acquire', reqId: 9, lockspace: 'ls', resource: 'r', mode: 'EX', holder: CLIENT });
  env.step({ type: 'acquire_result', lockspace: 'ls', resource: 'r', result: { ok: true, token: 't' } });
  return env;
}

const replyOf = (actions: HostAction[], reqId: number) =>
  ofType(actions, 'reply').find((a) => a.reply.reqId === reqId)?.reply;
const laneTypes = (actions: HostAction[]) => ofType(actions, 'lane').map((a) => a.command.type);

describe('host core: resource lease flows', () => {
  it('a conversion is busy until its result: no release beside it, and the new mode and token are recorded', () => {
    const { step, core } = joinedWithLease();
    expect(
      laneTypes(step({ type: 'convert', reqId: 30, lockspace: 'ls', resource: 'r', mode: 'SH', holder: CLIENT })),
    ).toEqual(['convert']);
    const refused = step({ type: 'release', reqId: 31, lockspace: 'ls', resource: 'r', holder: CLIENT });
    expect(replyOf(refused, 31)).toMatchObject({ ok: false, error: { code: 'NOT_HELD' } });
    expect(laneTypes(refused)).toEqual([]);
    const done = step({
      type: 'convert_result',
      lockspace: 'ls',
      resource: 'r',
      result: { ok: true, token: 'c', mode: 'SH' },
    });
    expect(replyOf(done, 30)).toMatchObject({ ok: true, value: { kind: 'lease', mode: 'SH', token: 'c' } });
    expect(ofType(done, 'state')[0]?.change).toMatchObject({ type: 'put_lease', row: { mode: 'SH', token: 'c' } });
    expect(core.leaseRecords()[0]).toMatchObject({ state: 'held', mode: 'SH', token: 'c' });
  });

  it('a conversion to the mode held answers at once, without I/O', () => {
    const { step } = joinedWithLease();
    const actions = step({ type: 'convert', reqId: 30, lockspace: 'ls', resource: 'r', mode: 'EX', holder: CLIENT });
    expect(laneTypes(actions)).toEqual([]);
    expect(replyOf(actions, 30)).toMatchObject({ ok: true, value: { mode: 'EX', token: 't' } });
  });

  it('a failed conversion keeps what the lane says is still held, and fails the request', () => {
    const { step, core } = joinedWithLease();
    step({ type: 'convert', reqId: 30, lockspace: 'ls', resource: 'r', mode: 'SH', holder: CLIENT });
    const done = step({
      type: 'convert_result',
      lockspace: 'ls',
      resource: 'r',
      result: { ok: false, error: { code: 'IO_ERROR', message: 'eio' }, still: { token: 's', mode: 'EX' } },
    });
    expect(replyOf(done, 30)).toMatchObject({ ok: false, error: { code: 'IO_ERROR' } });
    expect(core.leaseRecords()[0]).toMatchObject({ state: 'held', mode: 'EX', token: 's' });
  });

  it('a holder that exits during its conversion has the lease given back when the conversion ends', () => {
    const { step, core } = joinedWithLease();
    step({ type: 'convert', reqId: 30, lockspace: 'ls', resource: 'r', mode: 'SH', holder: CLIENT });
    expect(laneTypes(step({ type: 'client_exit', pid: 100, startTime: 7n }))).toEqual([]);
    const done = step({
      type: 'convert_result',
      lockspace: 'ls',
      resource: 'r',
      result: { ok: true, token: 'c', mode: 'SH' },
    });
    expect(ofType(done, 'lane')[0]?.command).toEqual({ type: 'release', lockspace: 'ls', resource: 'r', token: 'c' });
    step({ type: 'release_result', lockspace: 'ls', resource: 'r' });
    expect(core.leaseRecords()).toEqual([]);
  });

  it('a requester gone during the acquire: the lease is given back when it comes and the request fails CLIENT_GONE', () => {
    const { step, core } = joinedWithLease();
    step({ type: 'acquire', reqId: 40, lockspace: 'ls', resource: 'q', mode: 'EX', holder: CLIENT });
    step({ type: 'cancel_acquire', lockspace: 'ls', resource: 'q' });
    const done = step({ type: 'acquire_result', lockspace: 'ls', resource: 'q', result: { ok: true, token: 'x' } });
    expect(replyOf(done, 40)).toMatchObject({ ok: false, error: { code: 'CLIENT_GONE' } });
    expect(ofType(done, 'lane')[0]?.command).toEqual({ type: 'release', lockspace: 'ls', resource: 'q', token: 'x' });
    step({ type: 'release_result', lockspace: 'ls', resource: 'q' });
    expect(core.leaseRecords().map((record) => record.resource)).toEqual(['r']);
  });

  it('a new token (value block) is recorded for the holder only', () => {
    const { step, core } = joinedWithLease();
    const other = { kind: 'process' as const, pid: 200, startTime: 1n };
    const refused = step({
      type: 'update_token',
      reqId: 50,
      lockspace: 'ls',
      resource: 'r',
      holder: other,
      token: 'z',
    });
    expect(replyOf(refused, 50)).toMatchObject({ ok: false, error: { code: 'NOT_OWNER' } });
    expect(core.ownedRefusal('ls', 'r', other)?.code).toBe('NOT_OWNER');
    expect(core.ownedRefusal('ls', 'r', CLIENT)).toBeUndefined();
    step({ type: 'update_token', reqId: 51, lockspace: 'ls', resource: 'r', holder: CLIENT, token: 'u' });
    const released = step({ type: 'release', reqId: 52, lockspace: 'ls', resource: 'r', holder: CLIENT });
    expect(ofType(released, 'lane')[0]?.command).toMatchObject({ type: 'release', token: 'u' });
  });

  it('a loss during a conversion fails it and drops the lease; its late result changes nothing', () => {
    const { step, core, clock } = joinedWithLease();
    step({ type: 'convert', reqId: 30, lockspace: 'ls', resource: 'r', mode: 'SH', holder: CLIENT });
    clock.now += 80;
    const lost = step({ type: 'expiry_tick' });
    expect(replyOf(lost, 30)).toMatchObject({ ok: false, error: { code: 'LOCKSPACE_LOST' } });
    const late = step({
      type: 'convert_result',
      lockspace: 'ls',
      resource: 'r',
      result: { ok: true, token: 'c', mode: 'SH' },
    });
    expect(late.filter((a) => a.type !== 'wake')).toEqual([]);
    expect(core.leaseRecords()).toEqual([]);
  });

  it("the kill plan: 'term' at the loss, 'term' again every second of the grace period, 'kill' exactly at its end and every second after", () => {
    const { step, clock } = joinedWithLease();
    const lossAt = clock.now + 80;
    clock.now = lossAt;
    const lost = step({ type: 'expiry_tick' });
    expect(ofType(lost, 'kill')).toEqual([{ type: 'kill', name: 'ls', holders: [CLIENT], signal: 'term' }]);
    const rounds: string[] = [];
    // Grace 5 s (support.ts): wake where the core asks, 7.5 s in all.
    for (let i = 0; i < 12; i++) {
      const wake = ofType(step({ type: 'expiry_tick' }), 'wake')[0];
      if (wake === undefined || wake.atSeconds > lossAt + 7.5) break;
      clock.now = wake.atSeconds;
      for (const round of ofType(step({ type: 'expiry_tick' }), 'kill'))
        rounds.push(`${clock.now - lossAt}:${round.signal}${round.repeat === true ? '+' : ''}`);
    }
    expect(rounds).toEqual(['1:term+', '2:term+', '3:term+', '4:term+', '5:kill', '6:kill', '7:kill']);
    const gone = step({ type: 'client_exit', pid: 100, startTime: 7n });
    expect(ofType(gone, 'watchdog')[0]?.message).toEqual({ type: 'remove', name: 'ls' });
    clock.now += 5;
    expect(ofType(step({ type: 'expiry_tick' }), 'kill')).toEqual([]);
  });
});

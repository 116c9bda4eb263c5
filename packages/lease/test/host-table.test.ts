import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { HostTable, hostState, type HostSample, type LivenessParameters } from '@leasehold/lease';

const OUR_IO_TIMEOUT = 10;
const W = 60;
const params: LivenessParameters = { selfHostId: 1, ourIoTimeoutSeconds: OUR_IO_TIMEOUT, watchdogFireTimeoutSeconds: W };

function sample(timestamp: bigint, overrides: Partial<HostSample> = {}): HostSample {
  return { ownerId: 2n, ownerGeneration: 3n, timestamp, ioTimeoutSeconds: 2, hostName: 'two', ...overrides };
}

describe('HostTable (§3 liveness by observed change)', () => {
  it('reports UNKNOWN after one sample and LIVE once a change is seen', () => {
    const table = new HostTable(params);
    expect(table.observe(2, sample(500n), 100)).toBe(true);
    expect(table.status(2, 100)?.state).toBe('UNKNOWN');
    expect(table.observe(2, sample(500n), 102)).toBe(false);
    expect(table.status(2, 102)?.state).toBe('UNKNOWN');
    expect(table.observe(2, sample(501n), 104)).toBe(true);
    const status = table.status(2, 104)!;
    expect(status).toMatchObject({ state: 'LIVE', firstCheckSeconds: 100, lastCheckSeconds: 104, lastLiveSeconds: 104, generation: 3n });
  });

  it('goes LIVE -> FAIL -> DEAD at exactly 8·N_other and 8·N_other + W after the last change, with the OTHER host io_timeout', () => {
    const table = new HostTable(params);
    table.observe(2, sample(500n), 100);
    table.observe(2, sample(501n), 110); // last_live = 110; N_other = 2: fail 16, dead 76
    expect(table.status(2, 110 + 16)?.state).toBe('LIVE');
    expect(table.status(2, 110 + 16.5)?.state).toBe('FAIL');
    expect(table.status(2, 110 + 76)?.state).toBe('FAIL');
    expect(table.status(2, 110 + 76.5)?.state).toBe('DEAD');
  });

  it('uses our io_timeout when the host published 0', () => {
    const table = new HostTable(params);
    table.observe(2, sample(500n, { ioTimeoutSeconds: 0 }), 100);
    table.observe(2, sample(501n, { ioTimeoutSeconds: 0 }), 110);
    expect(table.status(2, 110 + 80)?.state).toBe('LIVE');
    expect(table.status(2, 110 + 81)?.state).toBe('FAIL');
    expect(table.status(2, 110 + 140)?.state).toBe('FAIL');
    expect(table.status(2, 110 + 141)?.state).toBe('DEAD');
  });

  it('judges a host seen only once from first_check (UNKNOWN, then FAIL, then DEAD)', () => {
    const table = new HostTable(params);
    table.observe(2, sample(500n), 100);
    expect(table.status(2, 116)?.state).toBe('UNKNOWN');
    expect(table.status(2, 117)?.state).toBe('FAIL');
    expect(table.status(2, 177)?.state).toBe('DEAD');
  });

  it('compares only the (owner, generation, timestamp) triple for change, never with our clock', () => {
    const table = new HostTable(params);
    table.observe(2, sample(1n << 40n), 100); // a remote clock far ahead of ours
    expect(table.observe(2, sample(1n << 40n, { ioTimeoutSeconds: 7, hostName: 'renamed' }), 105)).toBe(false);
    expect(table.status(2, 105)).toMatchObject({ ioTimeoutSeconds: 2, hostName: 'two', lastLiveSeconds: 100, lastCheckSeconds: 105 });
    expect(table.observe(2, sample(1n << 40n, { ownerGeneration: 4n }), 106)).toBe(true);
  });

  it('treats a slot that was free at first check and then acquired as LIVE', () => {
    const table = new HostTable(params);
    expect(table.observe(3, { ownerId: 0n, ownerGeneration: 0n, timestamp: 0n, ioTimeoutSeconds: 10, hostName: '' }, 100)).toBe(false);
    expect(table.statuses(100)).toEqual([]);
    table.observe(3, sample(7n, { ownerId: 3n }), 102);
    expect(table.status(3, 102)?.state).toBe('LIVE');
  });

  it('reports FREE for timestamp 0 (a released lease keeps owner and generation)', () => {
    const table = new HostTable(params);
    table.observe(2, sample(0n), 100);
    expect(table.status(2, 100)?.state).toBe('FREE');
    expect(table.statuses(100).map((s) => s.hostId)).toEqual([2]);
  });

  it('always reports ourselves LIVE while joined, and by change once we are not', () => {
    const table = new HostTable(params);
    table.observe(1, sample(5n, { ownerId: 1n }), 100);
    expect(table.status(1, 10_000)?.state).toBe('LIVE');
    table.setSelfHostId(0);
    expect(table.status(1, 10_000)?.state).toBe('DEAD');
  });

  test.prop([
    fc.array(fc.record({ gapSeconds: fc.integer({ min: 0, max: 40 }), renews: fc.boolean() }), { minLength: 1, maxLength: 30 }),
    fc.integer({ min: 0, max: 200 }),
  ])('state follows the §3 formulas from first_check / last_live', (steps, extraSeconds) => {
    const table = new HostTable(params);
    let now = 0;
    let timestamp = 1n;
    let firstCheck: number | undefined;
    let lastLive: number | undefined;
    for (const step of steps) {
      now += step.gapSeconds;
      if (step.renews || firstCheck === undefined) timestamp++;
      const changed = table.observe(2, sample(timestamp), now);
      firstCheck ??= now;
      if (changed) lastLive = now;
    }
    const at = now + extraSeconds;
    const last = lastLive ?? firstCheck!;
    const since = at - last;
    const expected = since > 16 + W ? 'DEAD' : since > 16 ? 'FAIL' : lastLive === firstCheck ? 'UNKNOWN' : 'LIVE';
    expect(table.status(2, at)?.state).toBe(expected);
    expect(hostState({ timestamp, ioTimeoutSeconds: 2, firstCheckSeconds: firstCheck, lastLiveSeconds: lastLive }, at, params, false)).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import {
  HostTable,
  hostDeadAtSeconds,
  hostState,
  provenSilenceSeconds,
  type HostSample,
  type LivenessParameters,
} from '@leasehold/lease';

const OUR_IO_TIMEOUT = 10;
const W = 60;
const params: LivenessParameters = {
  selfHostId: 1,
  ourIoTimeoutSeconds: OUR_IO_TIMEOUT,
  watchdogFireTimeoutSeconds: W,
};

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
    expect(status).toMatchObject({
      state: 'LIVE',
      firstCheckSeconds: 100,
      lastCheckSeconds: 104,
      lastCheckStartSeconds: 104,
      lastLiveSeconds: 104,
      generation: 3n,
    });
  });

  it('remembers the check times of a slot seen empty, compactly, and carries them over once it is taken', () => {
    const table = new HostTable(params);
    const empty = { ownerId: 0n, ownerGeneration: 0n, timestamp: 0n };
    expect(table.status(7, 100)).toBeUndefined();
    expect(table.observeIfUnchanged(7, 0n, 0n, 0n, 100, 99)).toBe(true);
    expect(table.observe(7, sample(0n, empty), 102, 101)).toBe(false);
    // A slot far beyond the others grows the compact store; its neighbours stay never sampled.
    expect(table.observeIfUnchanged(1999, 0n, 0n, 0n, 102, 101)).toBe(true);
    expect(table.status(1998, 102)).toBeUndefined();
    expect(table.status(7, 102)).toMatchObject({
      state: 'FREE',
      firstCheckSeconds: 100,
      lastCheckSeconds: 102,
      lastCheckStartSeconds: 101,
      lastLiveSeconds: undefined,
    });
    expect(table.statuses(102)).toEqual([]);
    // Taken: the first non-zero sample is a change after the first check, so LIVE at once.
    expect(table.observeIfUnchanged(7, 2n, 3n, 500n, 104, 103)).toBe(false);
    expect(table.observe(7, sample(500n), 104, 103)).toBe(true);
    expect(table.status(7, 104)).toMatchObject({
      state: 'LIVE',
      firstCheckSeconds: 100,
      lastCheckSeconds: 104,
      lastCheckStartSeconds: 103,
      lastLiveSeconds: 104,
    });
    expect(table.statuses(104).map((status) => status.hostId)).toEqual([7]);
  });

  it('goes LIVE -> FAIL -> DEAD when a sample shows no change for more than 8·N_other and 8·N_other + W, with the OTHER host io_timeout', () => {
    const table = new HostTable(params);
    table.observe(2, sample(500n), 100);
    table.observe(2, sample(501n), 110); // last_live = 110; N_other = 2: fail 16, dead 76
    const stateAfterSampleAt = (at: number): string | undefined => {
      table.observe(2, sample(501n), at);
      return table.status(2, at)?.state;
    };
    expect(stateAfterSampleAt(110 + 16)).toBe('LIVE');
    expect(stateAfterSampleAt(110 + 16.5)).toBe('FAIL');
    expect(stateAfterSampleAt(110 + 76)).toBe('FAIL');
    expect(stateAfterSampleAt(110 + 76.5)).toBe('DEAD');
  });

  it('uses our io_timeout when the host published 0', () => {
    const table = new HostTable(params);
    table.observe(2, sample(500n, { ioTimeoutSeconds: 0 }), 100);
    table.observe(2, sample(501n, { ioTimeoutSeconds: 0 }), 110);
    for (const [at, state] of [
      [110 + 80, 'LIVE'],
      [110 + 81, 'FAIL'],
      [110 + 140, 'FAIL'],
      [110 + 141, 'DEAD'],
    ] as const) {
      table.observe(2, sample(501n, { ioTimeoutSeconds: 0 }), at);
      expect(table.status(2, at)?.state).toBe(state);
    }
  });

  it('judges a host seen only once from first_check (UNKNOWN, then FAIL, then DEAD)', () => {
    const table = new HostTable(params);
    table.observe(2, sample(500n), 100);
    table.observe(2, sample(500n), 116);
    expect(table.status(2, 116)?.state).toBe('UNKNOWN');
    table.observe(2, sample(500n), 117);
    expect(table.status(2, 117)?.state).toBe('FAIL');
    table.observe(2, sample(500n), 177);
    expect(table.status(2, 177)?.state).toBe('DEAD');
  });

  it('judges from the latest sample, not from now: a stale sample keeps the state it proved (paused observer)', () => {
    const table = new HostTable(params);
    table.observe(2, sample(500n), 100);
    table.observe(2, sample(501n), 110); // LIVE; DEAD would need a sample after 110 + 76 showing no change
    // We were paused (or our reads stalled) for a long time: nothing is known about host 2 since 110.
    expect(table.status(2, 110 + 1000)).toMatchObject({
      state: 'LIVE',
      lastCheckStartSeconds: 110,
      lastLiveSeconds: 110,
    });
    expect(table.statuses(110 + 1000).map((s) => s.state)).toEqual(['LIVE']);
    // The deadline is still where it was; only a sample taken after it can prove it.
    expect(hostDeadAtSeconds(table.status(2, 0)!, params)).toBe(110 + 76);
    // The next sample shows a change: the host renewed all along.
    table.observe(2, sample(530n), 1110.2, 1110);
    expect(table.status(2, 1110.2)?.state).toBe('LIVE');
  });

  it("proves silence only up to when the sample's read was issued (a hung read returns old data late)", () => {
    const table = new HostTable(params);
    table.observe(2, sample(500n), 100);
    table.observe(2, sample(501n), 110);
    // A read issued at 120 hangs and completes at 200 with the same data: it may have sampled the
    // disk at 120, so the host is proven silent for 10 s, not 90 s.
    table.observe(2, sample(501n), 200, 120);
    const status = table.status(2, 200)!;
    expect(status).toMatchObject({
      state: 'LIVE',
      lastCheckSeconds: 200,
      lastCheckStartSeconds: 120,
      lastLiveSeconds: 110,
    });
    expect(provenSilenceSeconds(status)).toBe(10);
    // A change seen by such a read counts from its completion (late: the safe side).
    table.observe(2, sample(502n), 300, 210);
    expect(table.status(2, 300)).toMatchObject({ state: 'LIVE', lastLiveSeconds: 300, lastCheckStartSeconds: 210 });
    expect(provenSilenceSeconds(table.status(2, 300)!)).toBe(0);
  });

  it('hostState judges from lastCheckStartSeconds (or lastCheckSeconds), capped at now', () => {
    const facts = { timestamp: 9n, ioTimeoutSeconds: 2, firstCheckSeconds: 100, lastLiveSeconds: 110 };
    expect(hostState({ ...facts, lastCheckSeconds: 500, lastCheckStartSeconds: 150 }, 500, params, false)).toBe('FAIL');
    expect(hostState({ ...facts, lastCheckSeconds: 500, lastCheckStartSeconds: 187 }, 500, params, false)).toBe('DEAD');
    expect(hostState({ ...facts, lastCheckSeconds: 500 }, 500, params, false)).toBe('DEAD');
    expect(hostState({ ...facts, lastCheckSeconds: 500 }, 150, params, false)).toBe('FAIL');
    expect(hostState({ ...facts, lastCheckSeconds: undefined }, 500, params, false)).toBe('LIVE');
  });

  it('compares only the (owner, generation, timestamp) triple for change, never with our clock', () => {
    const table = new HostTable(params);
    table.observe(2, sample(1n << 40n), 100); // a remote clock far ahead of ours
    expect(table.observe(2, sample(1n << 40n, { ioTimeoutSeconds: 7, hostName: 'renamed' }), 105)).toBe(false);
    expect(table.status(2, 105)).toMatchObject({
      ioTimeoutSeconds: 2,
      hostName: 'two',
      lastLiveSeconds: 100,
      lastCheckSeconds: 105,
    });
    expect(table.observe(2, sample(1n << 40n, { ownerGeneration: 4n }), 106)).toBe(true);
  });

  it('treats a slot that was free at first check and then acquired as LIVE', () => {
    const table = new HostTable(params);
    expect(
      table.observe(3, { ownerId: 0n, ownerGeneration: 0n, timestamp: 0n, ioTimeoutSeconds: 10, hostName: '' }, 100),
    ).toBe(false);
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
    expect(table.status(1, 10_000)?.state).toBe('UNKNOWN');
    table.observe(1, sample(5n, { ownerId: 1n }), 10_000);
    expect(table.status(1, 10_000)?.state).toBe('DEAD');
  });

  test.prop([
    fc.array(
      fc.record({
        gapSeconds: fc.integer({ min: 0, max: 40 }),
        readSeconds: fc.integer({ min: 0, max: 30 }),
        renews: fc.boolean(),
      }),
      { minLength: 1, maxLength: 30 },
    ),
    fc.integer({ min: 0, max: 200 }),
  ])(
    'state follows the §3 formulas with the proven silence: last sample issue time - first_check / last_live',
    (steps, extraSeconds) => {
      const table = new HostTable(params);
      let now = 0;
      let timestamp = 1n;
      let firstCheck: number | undefined;
      let lastLive: number | undefined;
      let lastCheckStart = 0;
      for (const step of steps) {
        now += step.gapSeconds;
        const readStart = now;
        now += step.readSeconds;
        if (step.renews || firstCheck === undefined) timestamp++;
        const changed = table.observe(2, sample(timestamp), now, readStart);
        firstCheck ??= now;
        if (changed) lastLive = now;
        lastCheckStart = readStart;
      }
      // Asked later than the last sample (extraSeconds): the answer is the same.
      const at = now + extraSeconds;
      const last = lastLive ?? firstCheck!;
      const silence = Math.max(0, lastCheckStart - last);
      const expected = silence > 16 + W ? 'DEAD' : silence > 16 ? 'FAIL' : lastLive === firstCheck ? 'UNKNOWN' : 'LIVE';
      expect(table.status(2, at)?.state).toBe(expected);
      expect(table.status(2, now)?.state).toBe(expected);
      const status = table.status(2, at)!;
      expect(provenSilenceSeconds(status)).toBe(silence);
      expect(
        hostState(
          {
            timestamp,
            ioTimeoutSeconds: 2,
            firstCheckSeconds: firstCheck,
            lastCheckSeconds: now,
            lastCheckStartSeconds: lastCheckStart,
            lastLiveSeconds: lastLive,
          },
          at,
          params,
          false,
        ),
      ).toBe(expected);
    },
  );
});

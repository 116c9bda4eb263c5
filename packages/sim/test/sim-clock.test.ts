/**
 * The simulated clock's wake time (wakeTimeSeconds): whatever the offset between a host's clock and
 * global time, a sleep of more than zero ends at a later global moment at which the local clock has
 * moved and reads at least the target, and a program sleeping "the rest" until a local deadline
 * gets there in a few wakes. A huge offset made that program spin at one moment
 * (delta-ownership, seed -1977161556): the example below is that moment.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextFloatUp, wakeTimeSeconds } from '@leasehold/sim';

/** A program sleeping until a local deadline, as lease code does: how many wakes it takes. */
function wakesUntil(nowGlobalSeconds: number, offsetSeconds: number, deadlineLocalSeconds: number): number {
  const MAX_WAKES = 8;
  let nowGlobal = nowGlobalSeconds;
  for (let wakes = 0; wakes < MAX_WAKES; wakes++) {
    const remaining = deadlineLocalSeconds - (nowGlobal + offsetSeconds);
    if (remaining <= 0) return wakes;
    nowGlobal = wakeTimeSeconds(nowGlobal, offsetSeconds, remaining);
  }
  return MAX_WAKES;
}

const globalTime = fc.double({ min: 0, max: 10_000, noNaN: true });
const offset = fc.oneof(
  fc.double({ min: 0, max: 1e7, noNaN: true }),
  fc.constantFrom(0, 262033.485, 443467.156, 2 ** 18, 2 ** 30 + 0.5),
);
const sleep = fc.oneof(
  fc.double({ min: Number.MIN_VALUE, max: 1e-9, noNaN: true }),
  fc.double({ min: 1e-9, max: 100, noNaN: true }),
  fc.constantFrom(2.9103830456733704e-11, 5.820766091346741e-11, 1e-15, 0.1, 3),
);

describe('SimClock wake time', () => {
  it('a sleep of more than zero moves global and local time, and reaches the target', () => {
    fc.assert(
      fc.property(globalTime, offset, sleep, (nowGlobal, offsetSeconds, seconds) => {
        const wakeAt = wakeTimeSeconds(nowGlobal, offsetSeconds, seconds);
        const nowLocal = nowGlobal + offsetSeconds;
        expect(wakeAt).toBeGreaterThan(nowGlobal);
        expect(wakeAt + offsetSeconds).toBeGreaterThan(nowLocal);
        expect(wakeAt + offsetSeconds).toBeGreaterThanOrEqual(nowLocal + seconds);
        // Not late by more than rounding: one ulp of local time plus the sleep.
        expect(wakeAt - nowGlobal).toBeLessThanOrEqual(seconds + 2 * (nextFloatUp(nowLocal) - nowLocal) + 1e-12);
      }),
      { numRuns: 20_000 },
    );
  });

  it('a sleep of zero (or less) ends now', () => {
    fc.assert(
      fc.property(globalTime, offset, fc.constantFrom(0, -1, -1e-20), (nowGlobal, offsetSeconds, seconds) => {
        expect(wakeTimeSeconds(nowGlobal, offsetSeconds, seconds)).toBe(nowGlobal);
      }),
    );
  });

  it('sleeping the rest until a local deadline gets there in at most two wakes', () => {
    fc.assert(
      fc.property(globalTime, offset, sleep, (nowGlobal, offsetSeconds, seconds) => {
        const deadline = nowGlobal + offsetSeconds + seconds;
        expect(wakesUntil(nowGlobal, offsetSeconds, deadline)).toBeLessThanOrEqual(2);
      }),
      { numRuns: 20_000 },
    );
  });

  it("the moment delta-ownership spun at: c1's clock 262033.485 s ahead, half a local ulp to sleep", () => {
    const nowGlobal = 120.99699999997483;
    const offsetSeconds = 262033.485;
    const seconds = 2.9103830456733704e-11;
    const wakeAt = wakeTimeSeconds(nowGlobal, offsetSeconds, seconds);
    expect(wakeAt).toBeGreaterThan(nowGlobal);
    expect(wakeAt + offsetSeconds).toBeGreaterThan(nowGlobal + offsetSeconds);
  });
});

import type { Clock } from '@leasehold/lease';
import type { SimHost } from './host.js';
import type { SimWorld } from './world.js';

/**
 * One host incarnation's monotonic clock over the global timeline: global time plus an offset, so
 * hosts read different values at the same moment (as real CLOCK_MONOTONIC does after different
 * boot times). It keeps running while the host is paused, like the clock of a SIGSTOPped process.
 * Timers fire through the host's gate: dropped after a crash, held while paused.
 */
export class SimClock implements Clock {
  constructor(
    private readonly world: SimWorld,
    private readonly host: SimHost,
    readonly incarnation: number,
    /** This clock's reading at global time 0. */
    readonly offsetSeconds: number,
  ) {}

  nowSeconds(): number {
    return this.world.nowSeconds + this.offsetSeconds;
  }

  sleep(seconds: number): Promise<void> {
    if (Number.isNaN(seconds)) return Promise.reject(new RangeError('sleep(NaN)'));
    const wakeAtSeconds = wakeTimeSeconds(this.world.nowSeconds, this.offsetSeconds, seconds);
    return new Promise<void>((resolve) => {
      this.world.at(wakeAtSeconds, `${this.host.machine}#${this.incarnation} wake`, () =>
        this.host.deliver(this.incarnation, resolve),
      );
    });
  }

  /** The global time at which this clock reads `localSeconds` (for oracles only: hosts never convert). */
  toGlobalSeconds(localSeconds: number): number {
    return localSeconds - this.offsetSeconds;
  }

  toLocalSeconds(globalSeconds: number): number {
    return globalSeconds + this.offsetSeconds;
  }
}

/**
 * Doublings of the climb below: each doubles the step, so 64 cover any gap between two doubles
 * (the gap is at most a few thousand ulps of global time: one ulp of local time).
 */
const MAX_ROUNDING_STEPS = 64;

/**
 * The global time at which a clock reading global + `offsetSeconds` has advanced by `seconds` from
 * `nowGlobalSeconds`. Float rounding makes this subtle when the offset is much larger than global
 * time: one ulp of local time is then thousands of ulps of global time, and local + seconds rounds
 * back to local for a sleep below half a local ulp. A program that sleeps "the rest" until a local
 * deadline would then wake at once, read the same local time and sleep the same sliver again: an
 * endless loop at one moment that no real clock has (found by delta-ownership, seed -1977161556).
 * So a sleep of more than zero always ends at a later global time at which the local clock reads
 * more than now, and at least the target; a sleep of zero ends now (after what is already due).
 */
export function wakeTimeSeconds(nowGlobalSeconds: number, offsetSeconds: number, seconds: number): number {
  if (!(seconds > 0)) return nowGlobalSeconds;
  const nowLocalSeconds = nowGlobalSeconds + offsetSeconds;
  const targetLocalSeconds = Math.max(nowLocalSeconds + seconds, nextFloatUp(nowLocalSeconds));
  let wakeAtSeconds = Math.max(targetLocalSeconds - offsetSeconds, nextFloatUp(nowGlobalSeconds));
  let stepSeconds = nextFloatUp(wakeAtSeconds) - wakeAtSeconds;
  for (let step = 0; wakeAtSeconds + offsetSeconds < targetLocalSeconds; step++) {
    if (step >= MAX_ROUNDING_STEPS) {
      throw new Error(`wakeTimeSeconds(${nowGlobalSeconds}, ${offsetSeconds}, ${seconds}) did not converge`);
    }
    wakeAtSeconds += stepSeconds;
    stepSeconds *= 2;
  }
  return wakeAtSeconds;
}

const scratch = new Float64Array(1);
const scratchBits = new BigInt64Array(scratch.buffer);

/** The smallest double greater than `value` (value finite and non-negative, or negative). */
export function nextFloatUp(value: number): number {
  if (value === 0) return Number.MIN_VALUE;
  scratch[0] = value;
  scratchBits[0] = (scratchBits[0] as bigint) + (value > 0 ? 1n : -1n);
  return scratch[0] as number;
}

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
    const wakeAtSeconds = this.wakeTime(Math.max(0, seconds));
    return new Promise<void>((resolve) => {
      this.world.at(wakeAtSeconds, `${this.host.machine}#${this.incarnation} wake`, () =>
        this.host.deliver(this.incarnation, resolve),
      );
    });
  }

  /**
   * The global time at which this clock has advanced by `seconds`. Float rounding in
   * global + offset could leave the local clock a hair short of the target, and a program that
   * sleeps "the rest" would then sleep an amount too small to move global time: an endless loop
   * no real clock has. So step up to the first global time whose local reading is far enough.
   */
  private wakeTime(seconds: number): number {
    const nowGlobal = this.world.nowSeconds;
    const targetLocal = nowGlobal + this.offsetSeconds + seconds;
    let wakeAt = targetLocal - this.offsetSeconds;
    for (
      let step = 0;
      step < MAX_ROUNDING_STEPS && (wakeAt + this.offsetSeconds < targetLocal || (seconds > 0 && wakeAt <= nowGlobal));
      step++
    ) {
      wakeAt = nextFloatUp(wakeAt);
    }
    return wakeAt;
  }

  /** The global time at which this clock reads `localSeconds` (for oracles only: hosts never convert). */
  toGlobalSeconds(localSeconds: number): number {
    return localSeconds - this.offsetSeconds;
  }

  toLocalSeconds(globalSeconds: number): number {
    return globalSeconds + this.offsetSeconds;
  }
}

/** Enough to climb out of any rounding error of one addition. */
const MAX_ROUNDING_STEPS = 64;

const scratch = new Float64Array(1);
const scratchBits = new BigInt64Array(scratch.buffer);

/** The smallest double greater than `value` (value finite and non-negative, or negative). */
export function nextFloatUp(value: number): number {
  if (value === 0) return Number.MIN_VALUE;
  scratch[0] = value;
  scratchBits[0] = (scratchBits[0] as bigint) + (value > 0 ? 1n : -1n);
  return scratch[0] as number;
}

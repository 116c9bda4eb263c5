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
    return new Promise<void>((resolve) => {
      this.world.after(seconds, `${this.host.machine}#${this.incarnation} wake`, () => this.host.deliver(this.incarnation, resolve));
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

import type { Random } from '@leasehold/lease';

/**
 * A small seeded PRNG (sfc32, seeded through splitmix32). Every random choice the simulator makes
 * comes from one of these, so a run is a pure function of its seed and the scenario.
 */
export class Prng implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let state = seed >>> 0;
    const splitmix32 = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix32();
    this.b = splitmix32();
    this.c = splitmix32();
    this.d = splitmix32();
    // Discard the first outputs: sfc32 mixes poorly right after seeding.
    for (let i = 0; i < WARM_UP_ROUNDS; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / UINT32_RANGE;
  }

  /** Uniform in [minimum, maximum). */
  uniform(minimum: number, maximum: number): number {
    return minimum + (maximum - minimum) * this.next();
  }

  /** Uniform integer in [minimum, maximum] (both included). */
  integer(minimum: number, maximum: number): number {
    return minimum + Math.floor(this.next() * (maximum - minimum + 1));
  }

  /** True with the given probability. */
  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /**
   * An independent stream derived from this one. Giving each host its own stream keeps one host's
   * extra draws from shifting every other host's choices, which makes shrunk runs easier to read.
   */
  fork(): Prng {
    return new Prng(this.nextUint32());
  }
}

const UINT32_RANGE = 0x1_0000_0000;
const WARM_UP_ROUNDS = 12;

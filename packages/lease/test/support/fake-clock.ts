/**
 * Virtual time for deterministic tests. Sleeps wait for the clock to be advanced; run() advances it
 * from timer to timer until a promise settles, so multi-minute waits take no real time.
 * view(offset) gives another host's monotonic clock on the same timeline.
 */
import type { Clock } from '@leasehold/lease';

interface Timer {
  atSeconds: number;
  sequence: number;
  resolve: () => void;
}

/** Lets every pending microtask (and promise chain over in-memory I/O) run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private now: number;
  private timers: Timer[] = [];
  private sequence = 0;

  constructor(startSeconds = 1000) {
    this.now = startSeconds;
  }

  nowSeconds(): number {
    return this.now;
  }

  sleep(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.push({ atSeconds: this.now + Math.max(0, seconds), sequence: this.sequence++, resolve });
    });
  }

  /** The same timeline seen through another host's clock (monotonic clocks differ per machine). */
  view(offsetSeconds: number): Clock {
    return { nowSeconds: () => this.now + offsetSeconds, sleep: (seconds) => this.sleep(seconds) };
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Advances to `targetSeconds`, firing every timer due on the way, in order. */
  async advanceTo(targetSeconds: number): Promise<void> {
    await flush();
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.atSeconds > targetSeconds) break;
      this.fire(next);
      await flush();
    }
    this.now = Math.max(this.now, targetSeconds);
    await flush();
  }

  advance(seconds: number): Promise<void> {
    return this.advanceTo(this.now + seconds);
  }

  /** Advances from timer to timer until `work` settles; fails if it would need to pass `limitSeconds`. */
  async run<T>(work: Promise<T>, limitSeconds = 10_000): Promise<T> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    const limitAt = this.now + limitSeconds;
    for (;;) {
      await flush();
      if (settled) return work;
      const next = this.earliest();
      if (next === undefined) throw new Error('FakeClock.run: no timer pending and the work is not done (deadlock)');
      if (next.atSeconds > limitAt) throw new Error(`FakeClock.run: work not done within ${limitSeconds} s`);
      this.fire(next);
    }
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.timers) {
      if (
        best === undefined ||
        timer.atSeconds < best.atSeconds ||
        (timer.atSeconds === best.atSeconds && timer.sequence < best.sequence)
      )
        best = timer;
    }
    return best;
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.now = Math.max(this.now, timer.atSeconds);
    timer.resolve();
  }
}

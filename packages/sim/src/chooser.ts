import type { Scheduler } from 'fast-check';
import type { SimEvent } from './event-queue.js';

/**
 * Decides which of several events due at the same virtual moment runs first. That order is where
 * races live (two hosts' writes landing "at once", a completion racing a timer), so it is pluggable:
 * a seeded PRNG by default, or fast-check's scheduler, which records and shrinks the order it chose.
 */
export interface TieChooser {
  /** `events` holds two or more live events due at the same moment; returns the index to run. */
  choose(events: readonly SimEvent[]): Promise<number>;
}

/** Waits until every microtask queued so far (and those they queue) has run. */
export function drainMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Lets `fc.scheduler()` pick the order: each tied event becomes one scheduled task, and the task
 * the scheduler releases first is the event that runs. Its report shows up in fast-check's
 * counterexample, and shrinking simplifies the order.
 */
export class FastCheckTieChooser implements TieChooser {
  private readonly scheduled = new Set<SimEvent>();
  private readonly released = new Set<SimEvent>();

  constructor(private readonly scheduler: Scheduler) {}

  async choose(events: readonly SimEvent[]): Promise<number> {
    for (const event of events) {
      if (this.scheduled.has(event)) continue;
      this.scheduled.add(event);
      void this.scheduler.schedule(Promise.resolve(event.sequence), event.label).then(() => {
        this.released.add(event);
      });
    }
    for (let attempt = 0; ; attempt++) {
      const index = events.findIndex((event) => this.released.has(event));
      if (index >= 0) {
        const event = events[index] as SimEvent;
        this.released.delete(event);
        this.scheduled.delete(event);
        return index;
      }
      // Tasks of events cancelled meanwhile may come out first; they are simply skipped.
      if (this.scheduler.count() === 0 || attempt > events.length + this.scheduled.size) return 0;
      await this.scheduler.waitOne();
      await drainMicrotasks();
      this.forgetCancelled();
    }
  }

  private forgetCancelled(): void {
    for (const event of this.released) {
      if (event.cancelled) {
        this.released.delete(event);
        this.scheduled.delete(event);
      }
    }
  }
}

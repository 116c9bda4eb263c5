/** Virtual time for FaultyDisk tests: sleeps resolve only when the test advances the clock. */
export class ManualClock {
  nowSeconds = 0;
  readonly sleeps: number[] = [];
  private waiting: { wakeSeconds: number; resolve: () => void }[] = [];

  readonly sleep = (seconds: number): Promise<void> => {
    this.sleeps.push(seconds);
    return new Promise((resolve) => this.waiting.push({ wakeSeconds: this.nowSeconds + seconds, resolve }));
  };

  get pendingSleeps(): number {
    return this.waiting.length;
  }

  /** Moves time forward and wakes every sleeper that is due, then lets their continuations run. */
  async advance(seconds: number): Promise<void> {
    this.nowSeconds += seconds;
    const due = this.waiting.filter((entry) => entry.wakeSeconds <= this.nowSeconds);
    this.waiting = this.waiting.filter((entry) => entry.wakeSeconds > this.nowSeconds);
    for (const entry of due) entry.resolve();
    await settleMicrotasks();
  }
}

/** Lets pending promise chains run (a macrotask boundary drains the microtask queue). */
export function settleMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A deterministic random source that returns the given values in turn. */
export function sequenceRandom(values: number[]): () => number {
  let index = 0;
  return () => {
    const value = values[index % values.length];
    index++;
    if (value === undefined) throw new Error('empty random sequence');
    return value;
  };
}

/** Tracks whether a promise has settled yet, without awaiting it. */
export function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { settled: () => done, promise };
}

/** The real Clock: CLOCK_MONOTONIC seconds (what sanlock writes as timestamps) and real timers. */
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '@leasehold/lease';

export const realClock: Clock = {
  // process.hrtime is CLOCK_MONOTONIC on Linux: seconds since boot, like sanlock's monotime().
  nowSeconds: () => Number(process.hrtime.bigint()) / 1e9,
  sleep: (seconds: number, signal?: AbortSignal) =>
    delay(Math.max(0, seconds * 1000), undefined, signal ? { signal } : undefined),
};

/** The real monotonic clock, for interop tests against the real sanlock daemon. */
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '@leasehold/lease';

const NANOSECONDS_PER_SECOND = 1e9;
const MILLISECONDS_PER_SECOND = 1000;

export const realClock: Clock = {
  nowSeconds: () => Number(process.hrtime.bigint()) / NANOSECONDS_PER_SECOND,
  sleep: (seconds) => delay(Math.max(0, seconds * MILLISECONDS_PER_SECOND)),
};

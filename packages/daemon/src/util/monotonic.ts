import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '@leasehold/lease';
/** CLOCK_MONOTONIC seconds: the clock the lane workers and the lease layer use (process-wide). */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function sleepMs(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** The daemon's Clock: CLOCK_MONOTONIC and real timers (only the daemon binds time to the machine). */
export const monotonicClock: Clock = {
  nowSeconds: monotonicSeconds,
  sleep: (seconds, signal) => delay(Math.max(0, seconds * 1000), undefined, signal ? { signal } : undefined),
};

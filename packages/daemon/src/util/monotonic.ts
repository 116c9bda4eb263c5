/** CLOCK_MONOTONIC seconds: the clock the lane workers and the lease layer use (process-wide). */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function sleepMs(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

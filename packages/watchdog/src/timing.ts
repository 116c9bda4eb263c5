/**
 * The companion's timing, derived from the watchdog fire timeout W as wdmd derives it.
 *
 * The companion tests every registration once per interval and pets the device only if all pass. A
 * registration fails `interval` seconds before its expiry (wdmd's "test warning"): the device is then
 * closed without the magic character, and because that close counts as one last keepalive, the
 * device fires at most W after it, i.e. no later than expiry - interval + W. Other hosts may take the
 * host's leases only from expiry + W (8 x io_timeout + W after the last renewal), so the interval is
 * the safety margin between the reset and any takeover.
 */

/** Shortest and longest fire timeouts the companion accepts (Linux drivers allow 1..65535). */
export const MIN_FIRE_TIMEOUT_SECONDS = 2;
export const MAX_FIRE_TIMEOUT_SECONDS = 600;
/** sanlock's and wdmd's default W. */
export const DEFAULT_FIRE_TIMEOUT_SECONDS = 60;

/** wdmd's test interval for a fire timeout: >= 60 -> 10 s, 30-59 -> 5 s, 10-29 -> 2 s, else 1 s. */
export function defaultIntervalSeconds(fireTimeoutSeconds: number): number {
  if (fireTimeoutSeconds >= 60) return 10;
  if (fireTimeoutSeconds >= 30) return 5;
  if (fireTimeoutSeconds >= 10) return 2;
  return 1;
}

/**
 * The interval must leave the device at least two keepalives per fire timeout, or a healthy host
 * would be reset between two pets.
 */
export function isValidInterval(intervalSeconds: number, fireTimeoutSeconds: number): boolean {
  return Number.isFinite(intervalSeconds) && intervalSeconds > 0 && intervalSeconds * 2 <= fireTimeoutSeconds;
}

/** CLOCK_MONOTONIC seconds: the clock the daemon's expiries are written in (shared by every process of the host). */
export function monotonicSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

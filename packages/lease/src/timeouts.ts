/**
 * Every timeout derives from io_timeout (N) and watchdog_fire_timeout (W), as sanlock's do.
 * W is not on disk: every host of a cluster must use the same value.
 */
export interface Timeouts {
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
}

/** sanlock's default watchdog fire timeout. */
export const DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS = 60;
export const DEFAULT_IO_TIMEOUT_SECONDS = 10;
/** io_timeout is stored as a u16 whose low byte sanlock honours. */
export const MAX_IO_TIMEOUT_SECONDS = 255;

/** Pause between renewals: 2N. */
export const idRenewalSeconds = (ioTimeoutSeconds: number): number => 2 * ioTimeoutSeconds;
/** Renewal warning threshold: 6N. */
export const idRenewalWarnSeconds = (ioTimeoutSeconds: number): number => 6 * ioTimeoutSeconds;
/** No successful renewal for this long: the lease is lost (FAIL for observers): 8N. */
export const idRenewalFailSeconds = (ioTimeoutSeconds: number): number => 8 * ioTimeoutSeconds;
/** A host is DEAD (its watchdog has fired) this long after its last observed renewal: 8N + W. */
export const hostDeadSeconds = (ioTimeoutSeconds: number, watchdogFireTimeoutSeconds: number): number =>
  8 * ioTimeoutSeconds + watchdogFireTimeoutSeconds;
/** How long a bitmap ping bit stays set: 6N. */
export const setBitmapSeconds = (ioTimeoutSeconds: number): number => 6 * ioTimeoutSeconds;
/** Wait after writing a delta lease during acquire: 2N' (N' read from disk). */
export const deltaShortDelaySeconds = (ioTimeoutSeconds: number): number => 2 * ioTimeoutSeconds;

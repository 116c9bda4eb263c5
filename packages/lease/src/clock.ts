/**
 * Time and randomness, injected. Lease algorithms never read the real clock:
 * the daemon binds these to CLOCK_MONOTONIC and timers, the simulator to virtual time.
 */
export interface Clock {
  /** Monotonic seconds (may be fractional). Never goes backwards. */
  nowSeconds(): number;
  /** Resolves after `seconds` of this clock's time. */
  sleep(seconds: number): Promise<void>;
}

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
}

/**
 * The timestamp a host writes to disk: whole monotonic seconds, never 0 (0 means FREE on disk).
 * sanlock writes CLOCK_MONOTONIC seconds; observers only compare timestamps for inequality.
 */
export function diskTimestamp(clock: Clock): bigint {
  const seconds = Math.floor(clock.nowSeconds());
  return BigInt(seconds < 1 ? 1 : seconds);
}

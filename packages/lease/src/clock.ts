/**
 * Time and randomness, injected. Lease algorithms never read the real clock:
 * the daemon binds these to CLOCK_MONOTONIC and timers, the simulator to virtual time.
 */
export interface Clock {
  /** Monotonic seconds (may be fractional). Never goes backwards. */
  nowSeconds(): number;
  /**
   * Resolves after `seconds` of this clock's time. With `signal`, a clock may cancel its timer when
   * the signal aborts and reject (so deadlines raced against finished work do not linger); a clock
   * that ignores the signal is still correct, its timer just runs out.
   */
  sleep(seconds: number, signal?: AbortSignal): Promise<void>;
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
  return BigInt(Math.max(1, seconds));
}

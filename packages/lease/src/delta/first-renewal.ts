/**
 * The deadlines of the first renewal after an acquire (§3, §4).
 *
 * Our acquire write is the first "renewal" other hosts see: from the moment they sample it, they
 * judge our silence with the io_timeout N we published in it, and call us DEAD once they have seen
 * no change for 8N + W. Whatever the acquire does after that write (the 2N' wait, the re-read, the
 * first renewal) must therefore put our next write on the disk within 8N + W of the acquire's
 * write, or a host already declared dead comes back. The normal renewal rule (no write more than 8N
 * after the last renewal started) does not fit here: with N' >= 4N the 2N' wait alone is 8N or
 * more, which sanlock accepts (e.g. an area initialized with io_timeout 10 joined with -o 1 waits
 * 20 s and renews straight after).
 *
 * So, on our clock, with t0 = when the acquire's write was issued:
 *   - the first renewal's write is issued before t0 + 8N + max(0, W - N): one io_timeout (the time a
 *     healthy write may take) before observers may call us dead, and never earlier than the normal
 *     8N rule would allow;
 *   - the acquire is complete (re-read done, first renewal written) by t0 + 8N + W. A later
 *     completion means that the write may have landed after an observer found us silent for
 *     8N + W: the acquire fails (LEASE_LOST) and nothing more is written for that generation.
 * Observers' last_live is never earlier than t0 (they see the write after it was issued), and they
 * prove silence only up to when their sample's read was issued, so a write on the disk by
 * t0 + 8N + W is seen by every sample that could otherwise have proven us DEAD.
 */
import { hostDeadSeconds, idRenewalFailSeconds } from '../timeouts.js';

export interface FirstRenewalDeadlines {
  /** Our clock: the first renewal's write must be issued before this. */
  writeBySeconds: number;
  /** Our clock: the whole acquire (first renewal included) must be done by this. */
  doneBySeconds: number;
}

export function firstRenewalDeadlines(
  acquiredAtSeconds: number,
  timeouts: { ioTimeoutSeconds: number; watchdogFireTimeoutSeconds: number },
): FirstRenewalDeadlines {
  const { ioTimeoutSeconds, watchdogFireTimeoutSeconds } = timeouts;
  const writeMarginSeconds = Math.min(ioTimeoutSeconds, watchdogFireTimeoutSeconds);
  return {
    writeBySeconds:
      acquiredAtSeconds + idRenewalFailSeconds(ioTimeoutSeconds) + watchdogFireTimeoutSeconds - writeMarginSeconds,
    doneBySeconds: acquiredAtSeconds + hostDeadSeconds(ioTimeoutSeconds, watchdogFireTimeoutSeconds),
  };
}

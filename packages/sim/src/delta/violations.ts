/**
 * What the delta oracle can find. Each violation has a kind, so a test can tell a known, reported
 * issue from a new one, and a text that says who, what and when.
 */
export type DeltaViolationKind =
  /** Two incarnations owned one host_id at the same time. */
  | 'overlap'
  /** A holder reported a renewal after its own deadline had passed. */
  | 'resurrection'
  /** A lease's next write came after the lease had been silent past its deadline. */
  | 'silence'
  /** An observer said DEAD before the host's deadline, from a fresh sample. */
  | 'early-dead'
  /** The same, but judged from a sample older than one renewal interval (observer paused or stalled). */
  | 'early-dead-stale-sample'
  /** The same, about a lease that had been silent past its deadline and then wrote again. */
  | 'early-dead-after-silence'
  /** An observer reported a record nobody wrote. */
  | 'phantom-record'
  /** A healthy observer did not report FAIL (or DEAD) in time. */
  | 'late-fail'
  | 'late-dead'
  | 'dead-without-fail'
  /** A program failed in a way a correct lease never makes it fail (exception, unexpected code). */
  | 'program-error';

export interface DeltaViolation {
  kind: DeltaViolationKind;
  text: string;
}

export function describeViolation(violation: DeltaViolation): string {
  return `[${violation.kind}] ${violation.text}`;
}

/** A time window in which a machine (or, with no machine, the shared storage) was not healthy. */
export interface Disturbance {
  machine?: string;
  fromSeconds: number;
  toSeconds: number;
  what: string;
}

/** Slack for float rounding in the oracle's bounds. */
export const EPSILON_SECONDS = 1e-6;

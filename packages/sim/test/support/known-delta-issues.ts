import type { DeltaViolationKind } from '@leasehold/sim';

/**
 * Violations the simulator finds in the current delta-lease code, reported to its owners. Each has a
 * deterministic reproduction in delta-known-issues.test.ts (written as `it.fails`: it starts
 * failing once the lease code is fixed, and then both that test and this entry should go).
 * The random properties leave these kinds out so they keep hunting for new problems meanwhile.
 *
 * - early-dead-stale-sample: hosts() judges DEAD from its last sample however old it is. An
 *   observer that was paused (or whose own renewals stalled while its longer 8N kept its lease)
 *   reports live hosts DEAD.
 * - silence / early-dead-after-silence: acquireDeltaLease() completes however long it was held up
 *   (paused, or slow/hung I/O) between its write and the re-read / first renewal, so a lease that
 *   observers have already seen silent for more than 8N + W, and called DEAD, comes back.
 */
export const KNOWN_DELTA_ISSUES: readonly DeltaViolationKind[] = ['early-dead-stale-sample', 'silence', 'early-dead-after-silence'];

import type { DeltaViolationKind } from '@leasehold/sim';

/**
 * Violations the simulator finds in the current delta-lease code, reported to its owners. Each has a
 * deterministic reproduction in delta-known-issues.test.ts (written as `it.fails`: it starts
 * failing once the lease code is fixed, and then both that test and this entry should go).
 * The random properties leave these kinds out so they keep hunting for new problems meanwhile.
 *
 * None at the moment. Fixed, with their reproductions kept as regression tests in
 * delta-known-issues.test.ts:
 * - early-dead-stale-sample: hosts() judged DEAD as now - last_live however old its newest sample
 *   was. The host table now judges from the proven silence (the issue time of the latest sample's
 *   read - last_live), so a paused or stalled observer keeps what its last sample proved.
 * - silence / early-dead-after-silence: acquireDeltaLease() completed however long it was held up
 *   after its write. It now has to be done (first renewal written) within 8N + W of its write, and
 *   fails with LEASE_LOST otherwise (lease/src/delta/first-renewal.ts).
 */
export const KNOWN_DELTA_ISSUES: readonly DeltaViolationKind[] = [];

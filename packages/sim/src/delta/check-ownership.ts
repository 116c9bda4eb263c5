import { describeOverlap } from '../checkers/ownership.js';
import type { DeltaObservations } from './observations.js';
import type { DeltaViolation } from './violations.js';

/** Two incarnations never own one host_id at the same time; nobody renews after its own deadline. */
export function checkExclusiveOwnership(observations: DeltaObservations): DeltaViolation[] {
  return [
    ...observations.ownership.problems.map((text): DeltaViolation => ({ kind: 'resurrection', text })),
    ...observations.ownership
      .overlaps()
      .map((overlap): DeltaViolation => ({ kind: 'overlap', text: describeOverlap(overlap) })),
  ];
}

import fc from 'fast-check';
import { runDeltaScenario, type DeltaRunOptions, type DeltaRunResult, type DeltaScenario } from '@leasehold/sim';
import { KNOWN_DELTA_ISSUES } from './known-delta-issues.js';

/** Totals over every run of one property, to show a property was not vacuous. */
export interface DeltaPropertyTotals {
  runs: number;
  checkedDetections: number;
  ignoredKnownIssues: number;
}

export function emptyTotals(): DeltaPropertyTotals {
  return { runs: 0, checkedDetections: 0, ignoredKnownIssues: 0 };
}

/**
 * A fast-check property that runs one delta scenario with the real lease code and fails with the
 * full report (violations and trace) on any violation of a kind not already known and reported.
 */
export function deltaProperty(
  scenarios: fc.Arbitrary<DeltaScenario>,
  totals: DeltaPropertyTotals,
  options: (scheduler: fc.Scheduler | undefined) => DeltaRunOptions = () => ({}),
): fc.IAsyncProperty<[DeltaScenario]> {
  return fc.asyncProperty(scenarios, async (scenario) => {
    record(totals, await runDeltaScenario(scenario, { ignoreKinds: KNOWN_DELTA_ISSUES, ...options(undefined) }));
  });
}

function record(totals: DeltaPropertyTotals, result: DeltaRunResult): void {
  totals.runs++;
  totals.checkedDetections += result.checkedDetections;
  totals.ignoredKnownIssues += result.ignored.length;
  if (result.violations.length > 0) throw new Error(result.report());
}

/** The same, with fast-check's scheduler choosing the order of events due at the same moment. */
export function deltaSchedulerProperty(
  scenarios: fc.Arbitrary<DeltaScenario>,
  totals: DeltaPropertyTotals,
  makeOptions: (scheduler: fc.Scheduler) => DeltaRunOptions,
): fc.IAsyncProperty<[DeltaScenario, fc.Scheduler]> {
  return fc.asyncProperty(scenarios, fc.scheduler(), async (scenario, scheduler) => {
    record(totals, await runDeltaScenario(scenario, { ignoreKinds: KNOWN_DELTA_ISSUES, ...makeOptions(scheduler) }));
  });
}

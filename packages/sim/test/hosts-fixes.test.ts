/**
 * The bugs found in the daemon's decisions, each as a whole-host scenario that runs the host core
 * with and without its fix (the test-only `revertedFix` switch puts the bug back, in the core or, for
 * lockstop-hung-join, in the simulated daemon's shell): with
 * the fix no invariant breaks; without it the scenario's invariant does. That is what makes these
 * scenarios, and the invariants behind them, able to fail. With each fix reverted the first
 * violation reads (seeded, so every run reads the same):
 *   watchdog-ack:         3.280s h1#1: daemon 1 reported the lockspace joined before the companion acknowledged the registration
 *   lockstop-hung-device: 22.600s h1#1: lockstop of a joined lockspace issued at 16.000 did not finish within 6.6 s
 *   lockstop-starting:    29.600s h1#1: lockstop of a starting lockspace issued at 23.000 did not finish within 6.6 s
 *   host-id-reuse:        51.049s h1#1:pid100 used r1 until 51.049s (released), past its host's fencing deadline 27.303s,
 *                         and the host was not reset (and h2 was granted r1 meanwhile: r1 owned twice)
 *   lockstop-hung-join:   9.600s h1#1: lockstop of a starting lockspace issued at 3.000 did not finish within 6.6 s
 */
import { describe, expect, it } from 'vitest';
import type { RevertedFix } from '@leasehold/host-core';
import { runHostScenario } from '@leasehold/sim';
import { FIX_SCENARIOS } from './hosts-support.js';

describe('whole hosts: the fixed daemon bugs', () => {
  for (const [fix, { scenario, violation }] of Object.entries(FIX_SCENARIOS) as Array<
    [RevertedFix, (typeof FIX_SCENARIOS)[RevertedFix]]
  >) {
    it(`${fix}: passes with the fix`, async () => {
      const result = await runHostScenario(scenario);
      if (result.violations.length > 0) throw new Error(result.report());
      expect(result.stats.grants + result.stats.lockstops).toBeGreaterThan(0);
    });

    it(`${fix}: fails with the fix reverted`, async () => {
      const result = await runHostScenario({ ...scenario, revertedFix: fix });
      expect(
        result.violations.some((text) => violation.test(text)),
        result.report(),
      ).toBe(true);
    });
  }
});

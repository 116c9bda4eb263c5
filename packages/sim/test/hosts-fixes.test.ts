/**
 * The four bugs found in the daemon's decisions, each as a whole-host scenario that runs the host
 * core with and without its fix (the core's test-only `revertedFix` switch puts the bug back): with
 * the fix no invariant breaks; without it the scenario's invariant does. That is what makes these
 * scenarios, and the invariants behind them, able to fail.
 */
import { describe, expect, it } from 'vitest';
import type { RevertedFix } from '@leasehold/host-core';
import { runHostScenario } from '@leasehold/sim';
import { FIX_SCENARIOS } from './hosts-support.js';

describe('whole hosts: the fixed daemon bugs', () => {
  for (const [fix, { scenario, violation }] of Object.entries(FIX_SCENARIOS) as Array<[RevertedFix, (typeof FIX_SCENARIOS)[RevertedFix]]>) {
    it(`${fix}: passes with the fix`, async () => {
      const result = await runHostScenario(scenario);
      if (result.violations.length > 0) throw new Error(result.report());
      expect(result.stats.grants + result.stats.lockstops).toBeGreaterThan(0);
    });

    it(`${fix}: fails with the fix reverted`, async () => {
      const result = await runHostScenario({ ...scenario, revertedFix: fix });
      expect(result.violations.some((text) => violation.test(text)), result.report()).toBe(true);
    });
  }
});

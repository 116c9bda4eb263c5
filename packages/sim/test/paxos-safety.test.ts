/**
 * Simulator properties of the paxos resource leases (issue 4), on the real lease code:
 *   - never two exclusive holders, nor an exclusive and a shared holder, at the same time;
 *   - the leader's lver never decreases, and one lver is never committed with two different owners;
 *   - no unexpected failures.
 * Sized for CI; `npm run sim:long` (SIM_RUNS) runs many more. A failure prints a replay command.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { checkSimProperty, simRunSettings, simTimeoutMs } from '@leasehold/sim';
import { paxosScenario, runPaxosScenario, type PaxosScenarioShape } from './paxos-support.js';

const TEST_PATH = 'packages/sim/test/paxos-safety.test.ts';
const MS_PER_RUN = 150;

const cases: { name: string; shape: PaxosScenarioShape; runs: number }[] = [
  {
    name: 'paxos: contention without faults, 2-8 hosts',
    shape: { minHosts: 2, maxHosts: 8, maxOps: 5, maxFaults: 0, durationSeconds: 40, faults: false },
    runs: 300,
  },
  {
    name: 'paxos: contention with crashes, pauses and slow, failing and hanging I/O',
    shape: { minHosts: 2, maxHosts: 6, maxOps: 4, maxFaults: 4, durationSeconds: 70, faults: true },
    runs: 300,
  },
  {
    name: 'paxos: 8 hosts with faults',
    shape: { minHosts: 8, maxHosts: 8, maxOps: 3, maxFaults: 3, durationSeconds: 60, faults: true },
    runs: 100,
  },
];

describe('paxos resource leases in the simulator', () => {
  for (const { name, shape, runs } of cases) {
    it(
      name,
      async () => {
        await checkSimProperty(
          fc.asyncProperty(paxosScenario(shape), async (scenario) => {
            const result = await runPaxosScenario(scenario);
            if (result.violations.length > 0) throw new Error(result.report());
          }),
          { testName: name, testPath: TEST_PATH, defaultRuns: runs },
        );
      },
      simTimeoutMs(simRunSettings(runs).numRuns, MS_PER_RUN),
    );
  }
});

/**
 * Simulator property: an uncontended acquire always succeeds. One host uses the lease (exclusive,
 * shared, conversions, releases) while the other joined hosts stay idle; I/O latency is random and
 * sometimes slow. Every operation must succeed, and the lver must go up by exactly one per ballot
 * (every acquire and every SH→EX conversion), never for a release or an EX→SH conversion (§5.1).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { checkSimProperty, simRunSettings, simTimeoutMs } from '@leasehold/sim';
import { paxosScenario, runPaxosScenario, type PaxosScenario } from './paxos-support.js';

const TEST_PATH = 'packages/sim/test/paxos-uncontended.test.ts';
const NAME = 'paxos: an uncontended acquire always succeeds';
const RUNS = 250;
const MS_PER_RUN = 60;

/** One active host; the others only join (no operations). */
const uncontended: fc.Arbitrary<{ scenario: PaxosScenario; slow: boolean }> = fc
  .record({
    base: paxosScenario({ minHosts: 1, maxHosts: 3, maxOps: 5, maxFaults: 0, durationSeconds: 55, faults: false }),
    slow: fc.boolean(),
  })
  .map(({ base, slow }) => ({
    slow,
    scenario: {
      ...base,
      // Idle hosts join first; the active one starts once they are in (their joins take 2N').
      hosts: base.hosts.map((host, index) =>
        index === 0 ? { ...host, startAtSeconds: 5 } : { ...host, ops: [], leaveAtEnd: false },
      ),
      // Slow, but within io_timeout (1 s): slower than that and the host loses its lockspace.
      faults: slow
        ? [
            {
              kind: 'io' as const,
              machine: 'h1',
              atSeconds: 6,
              durationSeconds: 20,
              mode: 'slow' as const,
              slowMaxLatencySeconds: 0.4,
            },
          ]
        : [],
    },
  }));

describe('paxos resource leases in the simulator', () => {
  it(
    NAME,
    async () => {
      await checkSimProperty(
        fc.asyncProperty(uncontended, async ({ scenario }) => {
          const result = await runPaxosScenario(scenario);
          const active = scenario.hosts[0]!;
          const problems = [...result.violations];
          const failed = Object.entries(result.stats.errors);
          if (failed.length > 0)
            problems.push(`operations failed: ${failed.map(([code, n]) => `${code} x${n}`).join(', ')}`);
          if (result.stats.acquired !== active.ops.length)
            problems.push(`${result.stats.acquired} of ${active.ops.length} acquires succeeded`);
          const ballots = active.ops.length + active.ops.filter((op) => op.convert && op.mode === 'shared').length;
          if (result.stats.maxLver !== BigInt(ballots))
            problems.push(`lver is ${result.stats.maxLver} after ${ballots} ballots`);
          if (problems.length > 0) throw new Error(`${problems.join('\n')}\n\n${result.report()}`);
        }),
        { testName: NAME, testPath: TEST_PATH, defaultRuns: RUNS },
      );
    },
    simTimeoutMs(simRunSettings(RUNS).numRuns, MS_PER_RUN),
  );
});

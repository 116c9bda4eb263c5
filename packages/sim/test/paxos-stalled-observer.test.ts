/**
 * Simulator property: an acquirer whose owner-liveness read (§5.1 step 3) stalls must not take the
 * lease from a live owner. h2 (io_timeout 1: host_dead_seconds 8·1 + W = 18 s) takes the lease
 * exclusive and holds it, renewing its delta lease all along. h1 publishes io_timeout 4, so its own
 * delta lease lasts 8·4 = 32 s without a renewal, and it acquires right after joining, before its
 * first renewal has sampled h2 (no table data: it must watch h2's delta lease itself). While its
 * second read of h2's sector is in flight, h1's I/O path hangs, or h1 is paused, for longer than
 * 18 s but well within its own 32 s: the read sampled the disk on time and is handed back late.
 * Counting that delay as h2's silence (now - wait_start) would take the lease from a live holder:
 * the ownership oracle then reports the overlap. Silence is only proven up to the read's issue time
 * (§3), so h1 keeps waiting and sees h2 renew.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { checkSimProperty, simRunSettings, simTimeoutMs } from '@leasehold/sim';
import { runPaxosScenario, type PaxosScenario } from './paxos-support.js';

const TEST_PATH = 'packages/sim/test/paxos-stalled-observer.test.ts';
const NAME =
  'paxos: an acquirer whose owner-liveness read stalls past host_dead_seconds does not take over a live owner';
const RUNS = 60;
const MS_PER_RUN = 60;

const W = 10;
const OWNER_IO_TIMEOUT_SECONDS = 1;
const ACQUIRER_IO_TIMEOUT_SECONDS = 4;
const OWNER_DEAD_SECONDS = 8 * OWNER_IO_TIMEOUT_SECONDS + W;
/** The stall stays this far inside the acquirer's own 8N (its last renewal may be 2N old when it starts). */
const STALL_MARGIN_SECONDS = 2;
const MAX_STALL_SECONDS = 8 * ACQUIRER_IO_TIMEOUT_SECONDS - 2 * ACQUIRER_IO_TIMEOUT_SECONDS - STALL_MARGIN_SECONDS;

const stalledObserver: fc.Arbitrary<PaxosScenario> = fc
  .record({
    seed: fc.integer(),
    how: fc.constantFrom('hang' as const, 'pause' as const),
    stallSeconds: fc.double({ min: OWNER_DEAD_SECONDS + 0.5, max: MAX_STALL_SECONDS, noNaN: true }),
    acquirerStartSeconds: fc.double({ min: 3, max: 6, noNaN: true }),
    maxLatencySeconds: fc.constantFrom(0.002, 0.02, 0.2),
    latencyQuantumSeconds: fc.constantFrom(0, 0.01),
    clockOffsets: fc.tuple(
      fc.double({ min: 100, max: 100_000, noNaN: true }),
      fc.double({ min: 100, max: 100_000, noNaN: true }),
    ),
  })
  .map(
    (drawn): PaxosScenario => ({
      seed: drawn.seed,
      leaseNumHosts: 8,
      ioTimeoutSeconds: OWNER_IO_TIMEOUT_SECONDS,
      watchdogFireTimeoutSeconds: W,
      maxLatencySeconds: drawn.maxLatencySeconds,
      latencyQuantumSeconds: drawn.latencyQuantumSeconds,
      durationSeconds: 60,
      hosts: [
        {
          machine: 'h1',
          hostId: 1,
          startAtSeconds: drawn.acquirerStartSeconds,
          clockOffsetSeconds: drawn.clockOffsets[0],
          ioTimeoutSeconds: ACQUIRER_IO_TIMEOUT_SECONDS,
          ops: [{ mode: 'exclusive', holdSeconds: 3, gapSeconds: 1, waitSeconds: Infinity, convert: false }],
          leaveAtEnd: false,
        },
        {
          machine: 'h2',
          hostId: 2,
          startAtSeconds: 0,
          clockOffsetSeconds: drawn.clockOffsets[1],
          ioTimeoutSeconds: OWNER_IO_TIMEOUT_SECONDS,
          ops: [{ mode: 'exclusive', holdSeconds: 50, gapSeconds: 1, waitSeconds: 0, convert: false }],
          leaveAtEnd: false,
        },
      ],
      faults: [
        { kind: 'stall-owner-read', machine: 'h1', readNumber: 2, durationSeconds: drawn.stallSeconds, how: drawn.how },
      ],
    }),
  );

describe('paxos resource leases in the simulator', () => {
  it(
    NAME,
    async () => {
      await checkSimProperty(
        fc.asyncProperty(stalledObserver, async (scenario) => {
          const result = await runPaxosScenario(scenario);
          const problems = [...result.violations];
          // The scenario only tests something if h1 really waited for h2 and its read stalled.
          if (result.stats.ownerReadStalls !== 1)
            problems.push(`the owner-liveness read stalled ${result.stats.ownerReadStalls} times, not once`);
          const owner = result.tracker.intervals.find((interval) => interval.owner.startsWith('h2#'));
          if (owner === undefined) problems.push('h2 never held the lease');
          if (problems.length > 0) throw new Error(`${problems.join('\n')}\n\n${result.report()}`);
        }),
        { testName: NAME, testPath: TEST_PATH, defaultRuns: RUNS },
      );
    },
    simTimeoutMs(simRunSettings(RUNS).numRuns, MS_PER_RUN),
  );
});

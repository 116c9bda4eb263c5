/**
 * Delta leases on the simulator: host_id ownership. Two or three machines contend for host_id 1
 * with different names (and restart with the same or a new name), observers hold host_ids 2-3,
 * and crashes, pauses, releases and slow / failing / hung I/O hit anyone. Every run checks every
 * delta invariant; this file's generators aim at exclusive ownership.
 *
 * Ownership: an incarnation owns its host_id from the moment acquireDeltaLease returns until it
 * starts its release, crashes (or is reset by its watchdog), or its own deadline passes
 * (lastRenewalSeconds + 8 x io_timeout on its own clock) without a renewal landing first. Two
 * owners of one host_id with overlapping intervals in global virtual time are a violation.
 */
import { describe, expect, it } from 'vitest';
import {
  contentionScenario,
  FastCheckTieChooser,
  checkSimProperty,
  simRunSettings,
  simTimeoutMs,
} from '@leasehold/sim';
import { deltaProperty, deltaSchedulerProperty, emptyTotals } from './support/delta-property.js';

const TEST_PATH = 'packages/sim/test/delta-ownership.test.ts';
/**
 * CI sizes: about 160 ms per run here since the acquire's wait re-reads the slot every io_timeout
 * (it was 45 ms), so 500 + 300 runs take about two minutes; SIM_RUNS for longer runs.
 */
const RANDOM_SCHEDULE_RUNS = 500;
const SCHEDULER_RUNS = 300;
/** Per-run budget for the test timeout (generous: CI machines are slower, shrinking re-runs). */
const MS_PER_RUN_BUDGET = 1500;
const DURATION_SECONDS = 150;
const MAX_FAULTS = 5;
/** Latencies in whole 0.1 s steps: many I/Os of different hosts finish at the same moment. */
const TIED_LATENCY_QUANTUM_SECONDS = 0.1;

describe('delta lease on the simulator: host_id ownership', () => {
  const randomName = 'two hosts never own one host_id at the same time';
  it(
    randomName,
    async () => {
      const totals = emptyTotals();
      await checkSimProperty(
        deltaProperty(
          contentionScenario({ sameNames: false, durationSeconds: DURATION_SECONDS, maxFaults: MAX_FAULTS }),
          totals,
        ),
        {
          testName: randomName,
          testPath: TEST_PATH,
          defaultRuns: RANDOM_SCHEDULE_RUNS,
        },
      );
      expect(totals.runs).toBeGreaterThan(0);
    },
    simTimeoutMs(simRunSettings(RANDOM_SCHEDULE_RUNS).numRuns, MS_PER_RUN_BUDGET),
  );

  const schedulerName = 'two hosts never own one host_id at the same time, fast-check ordering simultaneous I/O';
  it(
    schedulerName,
    async () => {
      const totals = emptyTotals();
      const scenarios = contentionScenario({
        sameNames: false,
        durationSeconds: DURATION_SECONDS,
        maxFaults: MAX_FAULTS,
      }).map((scenario) => ({
        ...scenario,
        latencyQuantumSeconds: TIED_LATENCY_QUANTUM_SECONDS,
      }));
      await checkSimProperty(
        deltaSchedulerProperty(scenarios, totals, (scheduler) => ({ tieChooser: new FastCheckTieChooser(scheduler) })),
        { testName: schedulerName, testPath: TEST_PATH, defaultRuns: SCHEDULER_RUNS },
      );
      expect(totals.runs).toBeGreaterThan(0);
    },
    simTimeoutMs(simRunSettings(SCHEDULER_RUNS).numRuns, MS_PER_RUN_BUDGET),
  );
});

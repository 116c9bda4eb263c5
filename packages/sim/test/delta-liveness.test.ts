/**
 * Delta leases on the simulator: what observers say about other hosts. One or two "targets" stop
 * renewing (crash, maybe restart later, or a long pause), two or three observers watch, and extra
 * faults hit the targets (and sometimes an observer). Every run checks every delta invariant; this
 * file's generators aim at host-state reports.
 *
 * - Never DEAD early: a DEAD report about a lease comes no earlier than 8N + W after the last write
 *   of that lease that had landed by then, counted from when it was issued.
 * - FAIL, then DEAD, in time: an observer that stayed healthy (running, joined, no I/O trouble)
 *   reports FAIL within one renewal interval (2N of the observer plus its read and write) after
 *   8N of the silent host have passed since it first saw the last write, and DEAD likewise after
 *   8N + W; FAIL comes first whenever W is longer than a renewal interval.
 */
import { describe, expect, it } from 'vitest';
import { observerScenario, checkSimProperty, simRunSettings, simTimeoutMs } from '@leasehold/sim';
import { deltaProperty, emptyTotals } from './support/delta-property.js';

const TEST_PATH = 'packages/sim/test/delta-liveness.test.ts';
/** CI sizes: a few times the 100 ms per run this had before the acquire's wait re-read the slot; SIM_RUNS for longer runs. */
const EARLY_DEAD_RUNS = 400;
const DETECTION_RUNS = 400;
const MS_PER_RUN_BUDGET = 2500;
const DURATION_SECONDS = 160;

describe('delta lease on the simulator: host liveness reports', () => {
  const earlyDeadName = 'an observer never reports a host DEAD before its deadline';
  it(
    earlyDeadName,
    async () => {
      const totals = emptyTotals();
      await checkSimProperty(
        deltaProperty(observerScenario({ durationSeconds: DURATION_SECONDS, maxExtraFaults: 4 }), totals),
        {
          testName: earlyDeadName,
          testPath: TEST_PATH,
          defaultRuns: EARLY_DEAD_RUNS,
        },
      );
      expect(totals.runs).toBeGreaterThan(0);
    },
    simTimeoutMs(simRunSettings(EARLY_DEAD_RUNS).numRuns, MS_PER_RUN_BUDGET),
  );

  const detectionName = 'a host that stops renewing is reported FAIL then DEAD by every live observer in time';
  it(
    detectionName,
    async () => {
      const totals = emptyTotals();
      await checkSimProperty(
        deltaProperty(observerScenario({ durationSeconds: DURATION_SECONDS, maxExtraFaults: 1 }), totals),
        {
          testName: detectionName,
          testPath: TEST_PATH,
          defaultRuns: DETECTION_RUNS,
        },
      );
      // Not vacuous: most runs hold several observers to the bound.
      expect(totals.checkedDetections).toBeGreaterThan(totals.runs);
    },
    simTimeoutMs(simRunSettings(DETECTION_RUNS).numRuns, MS_PER_RUN_BUDGET),
  );
});

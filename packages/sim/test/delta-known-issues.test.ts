/**
 * Problems the simulator found in the delta-lease code, each reduced to one deterministic run.
 * They are written as the behaviour we want, wrapped in `it.fails` while the bug is there: when the
 * lease code is fixed the test starts failing, and then `it.fails` becomes `it` and the kind goes
 * from KNOWN_DELTA_ISSUES (support/known-delta-issues.ts). The three below are fixed and stay as
 * regression tests.
 */
import { describe, expect, it } from 'vitest';
import { describeViolation, runDeltaScenario, type DeltaRunResult, type DeltaViolationKind } from '@leasehold/sim';
import { memberOf, quietScenario } from './support/delta-scenarios.js';

function kinds(result: DeltaRunResult, wanted: readonly DeltaViolationKind[]): string[] {
  return result.violations.filter((violation) => wanted.includes(violation.kind)).map(describeViolation);
}

describe('delta lease: known issues found by the simulator', () => {
  it('an observer resuming from a pause does not report live hosts DEAD from its old sample', async () => {
    // a: N = 1, DEAD 18 s after its last renewal. o: N = 3, its own lease lasts 24 s and its
    // watchdog would reset it at 8N + W = 34 s. Paused for 25 s, o comes back with an expired lease
    // and a 25 s old sample; hosts() used to call a (renewing all along) DEAD. The host table now
    // judges from the proven silence (up to the issue time of the latest sample's read).
    const result = await runDeltaScenario(
      quietScenario({
        members: [memberOf('a', 1), memberOf('o', 2, { ioTimeoutSeconds: 3 })],
        faults: [{ kind: 'pause', machine: 'o', atSeconds: 20.5, durationSeconds: 25 }],
      }),
    );
    expect(kinds(result, ['early-dead-stale-sample', 'early-dead']), result.report()).toEqual([]);
  });

  it('an observer whose own renewals stall does not report live hosts DEAD while its longer lease lasts', async () => {
    // o: N = 3 (lease 24 s); a: N = 1, W = 5 (DEAD after 13 s). o's I/O hangs for 20 s: its lease
    // is still valid, but its newest sample is 13+ s old; hosts() used to call a DEAD.
    const result = await runDeltaScenario(
      quietScenario({
        watchdogFireTimeoutSeconds: 5,
        members: [memberOf('a', 1), memberOf('o', 2, { ioTimeoutSeconds: 3 })],
        faults: [
          {
            kind: 'io',
            machine: 'o',
            atSeconds: 20.5,
            durationSeconds: 20,
            mode: 'hang',
            slowMaxLatencySeconds: 1,
            failProbability: 1,
          },
        ],
      }),
    );
    expect(kinds(result, ['early-dead-stale-sample', 'early-dead']), result.report()).toEqual([]);
  });

  it('an acquire held up longer than 8N + W after its write does not come back as owner', async () => {
    // The slot's on-disk io_timeout is 3, so the acquire waits 2N' = 6 s after its write. a is
    // paused for 25 s in that wait; observers see its record silent for more than 8N + W = 18 s and
    // call it DEAD; a used to resume, find its record unchanged and complete the acquire. Now the
    // acquire must be done within 8N + W of its write and fails with LEASE_LOST.
    const result = await runDeltaScenario(
      quietScenario({
        initIoTimeoutSeconds: 3,
        members: [memberOf('o', 2), memberOf('a', 1, { startAtSeconds: 10 })],
        faults: [{ kind: 'pause', machine: 'a', atSeconds: 12, durationSeconds: 25 }],
      }),
    );
    expect(kinds(result, ['silence', 'early-dead-after-silence', 'early-dead']), result.report()).toEqual([]);
  });
});

describe('delta lease: an acquire acts only on fresh data', () => {
  // c1 (N = 3) and c2 (N = 1, another name) both read host_id 1 free (on-disk io_timeout 1, so
  // 2N' = 2 s). c2 is held up between its read and its write: c1 writes, re-reads its own record
  // 2 s later and owns the host_id. c2 used to wake up, write on its 9 s old "free" read, re-read its
  // own record 2 s later and own it too, until c1's next renewal found RENEW_OWNER (about 1 s of
  // two owners). Now c2 does not write on a read older than N' and fails HOSTID_BUSY.
  for (const [label, fault] of [
    ['paused', { kind: 'pause', machine: 'c2', atSeconds: 10.006, durationSeconds: 9 }],
    [
      'with its I/O hung',
      {
        kind: 'io',
        machine: 'c2',
        atSeconds: 10.006,
        durationSeconds: 9,
        mode: 'hang',
        slowMaxLatencySeconds: 1,
        failProbability: 1,
      },
    ],
  ] as const) {
    it(`a contender ${label} between its read and its write does not overwrite the host that acquired meanwhile`, async () => {
      const result = await runDeltaScenario(
        quietScenario({
          durationSeconds: 40,
          members: [
            memberOf('c1', 1, { ioTimeoutSeconds: 3, startAtSeconds: 10 }),
            memberOf('c2', 1, { startAtSeconds: 10 }),
          ],
          faults: [fault],
        }),
      );
      expect(result.violations.map(describeViolation), result.report()).toEqual([]);
      expect(result.observations.ownership.intervals.map((interval) => [interval.owner, interval.endReason])).toEqual([
        ['c1#1', 'end of run'],
      ]);
      expect((result.observations.writesBySlot.get(1) ?? []).filter((write) => write.writer === 'c2#1')).toEqual([]);
    });
  }
});

describe('delta lease: what unique host names protect against', () => {
  it('two live machines with one host name can both own its host_id (names must be unique per incarnation)', async () => {
    // b uses a's name, so its acquire takes the fast path (§4 step 3: "our own stale lease") while
    // a is alive but stalled (hung I/O, within its 8N). b owns the host_id 2N' later; a still does
    // until its own deadline. sanlock behaves the same: §7.11 requires unique names. The simulator
    // must catch it.
    const shared = 7;
    const result = await runDeltaScenario(
      quietScenario({
        members: [
          memberOf('a', 1, { nameGroup: shared }),
          memberOf('b', 1, { nameGroup: shared, startAtSeconds: 20.6 }),
        ],
        faults: [
          {
            kind: 'io',
            machine: 'a',
            atSeconds: 20.5,
            durationSeconds: 30,
            mode: 'hang',
            slowMaxLatencySeconds: 1,
            failProbability: 1,
          },
        ],
      }),
    );
    expect(result.violations.map((violation) => violation.kind)).toContain('overlap');
  });
});

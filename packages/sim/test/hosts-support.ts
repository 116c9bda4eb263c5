/** Whole-host scenarios for the simulator tests: the fixed bugs, and random schedules. */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { RevertedFix } from '@leasehold/host-core';
import {
  checkSimProperty,
  RESOURCES,
  runHostScenario,
  simRunSettings,
  simTimeoutMs,
  type ClientPlan,
  type HostFault,
  type HostRunStats,
  type HostScenario,
  type MachinePlan,
} from '@leasehold/sim';
import { CLEAN_INTENT_RACE_CASE } from './support/clean-intent-race-case.js';

export const BASE: Omit<HostScenario, 'seed' | 'machines' | 'faults'> = {
  ioTimeoutSeconds: 1,
  watchdogFireTimeoutSeconds: 6,
  killGraceSeconds: 2,
  companionLatencySeconds: 0.3,
  maxIoLatencySeconds: 0.02,
  durationSeconds: 60,
};

const holdLong = (startAtSeconds: number, stubborn = false): ClientPlan => ({
  startAtSeconds,
  stubborn,
  ops: [{ resource: 'r1', mode: 'EX', holdSeconds: 45, gapSeconds: 0, crash: false }],
});

const quiet = (
  machine: string,
  hostId: number,
  clients: ClientPlan[] = [],
  extra: Partial<MachinePlan> = {},
): MachinePlan => ({
  machine,
  hostId,
  clients,
  persistent: undefined,
  killCommand: false,
  ...extra,
});

/** A second host that keeps asking for r1: it gets it whenever the first host's holder is (believed) gone. */
const contender: ClientPlan = {
  startAtSeconds: 8,
  stubborn: false,
  ops: Array.from({ length: 12 }, () => ({
    resource: 'r1' as const,
    mode: 'EX' as const,
    holdSeconds: 1,
    gapSeconds: 3,
    crash: false,
  })),
};

/**
 * The scenario of each fixed bug. Each passes with the fix and shows a violation without it.
 * - watchdog-ack (b1886af): the lockspace is reported joined while the companion's registration is
 *   still on its way (any start shows it).
 * - lockstop-hung-device (2767396): the storage path hangs, then the idle lockspace is stopped: the
 *   stop must finish in 2 x io_timeout (the companion told first), not wait for the leave.
 * - lockstop-starting (c494f00): the daemon dies under a persistent lease and comes back too late to
 *   resume; the start waits for the persistent users; the admin stops them and the lockspace.
 * - host-id-reuse: the daemon dies under a client's lease and comes back too late to resume; the new
 *   generation must not be joined while that client still runs.
 * - lockstop-hung-join: the storage path hangs before the first join; the lockspace is stopped while
 *   the join waits on it: the stop must finish at once, not when the storage comes back.
 */
export const FIX_SCENARIOS: Record<RevertedFix, { scenario: HostScenario; violation: RegExp }> = {
  'watchdog-ack': {
    scenario: { ...BASE, seed: 11, machines: [quiet('h1', 1, [holdLong(6)])], faults: [] },
    violation: /before the companion acknowledged the registration/,
  },
  'lockstop-hung-device': {
    scenario: {
      ...BASE,
      seed: 12,
      machines: [quiet('h1', 1)],
      faults: [
        { kind: 'hang', machine: 'h1', atSeconds: 15, durationSeconds: 40 },
        { kind: 'lockstop', machine: 'h1', atSeconds: 15.5, restartAfterSeconds: 100 },
      ],
    },
    violation: /lockstop of a joined lockspace .* did not finish/,
  },
  'lockstop-starting': {
    scenario: {
      ...BASE,
      seed: 13,
      machines: [quiet('h1', 1, [], { persistent: { atSeconds: 8, holdSeconds: 100 } })],
      faults: [
        { kind: 'daemon-crash', machine: 'h1', atSeconds: 15, restartAfterSeconds: 7 },
        { kind: 'lockstop', machine: 'h1', atSeconds: 23, restartAfterSeconds: 100 },
      ],
    },
    violation: /lockstop of a starting lockspace .* did not finish/,
  },
  'lockstop-hung-join': {
    scenario: {
      ...BASE,
      seed: 15,
      machines: [quiet('h1', 1)],
      faults: [
        { kind: 'hang', machine: 'h1', atSeconds: 0.5, durationSeconds: 40 },
        { kind: 'lockstop', machine: 'h1', atSeconds: 3, restartAfterSeconds: 100 },
      ],
    },
    violation: /lockstop of a starting lockspace .* did not finish/,
  },
  'host-id-reuse': {
    scenario: {
      ...BASE,
      seed: 14,
      machines: [quiet('h1', 1, [holdLong(6)]), quiet('h2', 2, [contender])],
      faults: [{ kind: 'daemon-crash', machine: 'h1', atSeconds: 15, restartAfterSeconds: 7 }],
    },
    violation: /past its host's fencing deadline|owned twice/,
  },
  'clean-intent-race': { scenario: CLEAN_INTENT_RACE_CASE, violation: /r1 owned twice/ },
};

// --------------------------------------------------------------------------------- random worlds

const clientPlan: fc.Arbitrary<ClientPlan> = fc.record({
  startAtSeconds: fc.double({ min: 4, max: 20, noNaN: true }),
  stubborn: fc.boolean(),
  ops: fc.array(
    fc.record({
      resource: fc.constantFrom(...RESOURCES),
      mode: fc.constantFrom('EX' as const, 'EX' as const, 'SH' as const),
      holdSeconds: fc.double({ min: 0.5, max: 25, noNaN: true }),
      gapSeconds: fc.double({ min: 0, max: 6, noNaN: true }),
      crash: fc.boolean(),
      convertTo: fc.option(fc.constantFrom('EX' as const, 'SH' as const), { nil: undefined, freq: 3 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

function machinePlan(machine: string, hostId: number): fc.Arbitrary<MachinePlan> {
  return fc.record({
    machine: fc.constant(machine),
    hostId: fc.constant(hostId),
    clients: fc.array(clientPlan, { minLength: 1, maxLength: 3 }),
    persistent: fc.option(
      fc.record({
        atSeconds: fc.double({ min: 5, max: 30, noNaN: true }),
        holdSeconds: fc.double({ min: 1, max: 40, noNaN: true }),
      }),
      { nil: undefined },
    ),
    killCommand: fc.boolean(),
  });
}

export type FaultFocus = 'mixed' | 'restarts';

function fault(machines: string[], durationSeconds: number, focus: FaultFocus): fc.Arbitrary<HostFault> {
  const machine = fc.constantFrom(...machines);
  const at = fc.double({ min: 5, max: durationSeconds - 5, noNaN: true });
  if (focus === 'restarts') {
    return fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('daemon-crash' as const),
          machine,
          atSeconds: at,
          restartAfterSeconds: fc.double({ min: 0.2, max: 12, noNaN: true }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('lockstop' as const),
          machine,
          atSeconds: at,
          restartAfterSeconds: fc.double({ min: 1, max: 15, noNaN: true }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('hang' as const),
          machine,
          atSeconds: at,
          durationSeconds: fc.double({ min: 0.5, max: 12, noNaN: true }),
        }),
      },
    );
  }
  return fc.oneof(
    fc.record({
      kind: fc.constant('daemon-crash' as const),
      machine,
      atSeconds: at,
      restartAfterSeconds: fc.oneof(
        fc.double({ min: 0.2, max: 4, noNaN: true }),
        fc.double({ min: 6, max: 20, noNaN: true }),
      ),
    }),
    fc.record({
      kind: fc.constant('hang' as const),
      machine,
      atSeconds: at,
      durationSeconds: fc.oneof(
        fc.double({ min: 0.5, max: 5, noNaN: true }),
        fc.double({ min: 8, max: 25, noNaN: true }),
      ),
    }),
    fc.record({
      kind: fc.constant('machine-crash' as const),
      machine,
      atSeconds: at,
      rebootAfterSeconds: fc.double({ min: 1, max: 10, noNaN: true }),
    }),
    fc.record({
      kind: fc.constant('lockstop' as const),
      machine,
      atSeconds: at,
      restartAfterSeconds: fc.double({ min: 1, max: 15, noNaN: true }),
    }),
  );
}

/** Two or three hosts, one to three clients each, up to four faults. */
export function hostScenario(durationSeconds: number, focus: FaultFocus = 'mixed'): fc.Arbitrary<HostScenario> {
  return fc.integer({ min: 2, max: 3 }).chain((count) => {
    const names = Array.from({ length: count }, (_, index) => `h${index + 1}`);
    return fc.record({
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      ioTimeoutSeconds: fc.constant(BASE.ioTimeoutSeconds),
      watchdogFireTimeoutSeconds: fc.constant(BASE.watchdogFireTimeoutSeconds),
      killGraceSeconds: fc.constant(BASE.killGraceSeconds),
      companionLatencySeconds: fc.constant(BASE.companionLatencySeconds),
      maxIoLatencySeconds: fc.constantFrom(0.001, 0.02, 0.2),
      durationSeconds: fc.constant(durationSeconds),
      machines: fc.tuple(...names.map((name, index) => machinePlan(name, index + 1))),
      faults: fc.array(fault(names, durationSeconds, focus), { maxLength: 4 }),
    });
  });
}

// ------------------------------------------------------------------------------------- property

/**
 * A 40 s world of 2-3 hosts costs ~60-100 ms of CPU (mostly the 1 MiB lockspace reads); the
 * timeout allows for a loaded machine.
 */
const MS_PER_RUN = 1000;
const WORLD_SECONDS = 40;

export interface HostPropertyOptions {
  name: string;
  testPath: string;
  /** Schedules in CI when SIM_RUNS is not set. */
  runs: number;
  focus: FaultFocus;
}

/**
 * Registers a test: random whole-host schedules, no invariant may break. Non-vacuity: over the
 * runs, leases were granted, lockspaces lost with leases in them, lockstops done, daemons
 * restarted, hosts reset (and, with the restart focus, leases adopted).
 */
export function hostProperty(options: HostPropertyOptions): void {
  it(
    options.name,
    async () => {
      const total: HostRunStats = {
        grants: 0,
        conversions: 0,
        lossesWithLeases: 0,
        losses: 0,
        adoptedLeases: 0,
        restoredJoins: 0,
        lockstops: 0,
        daemonRestarts: 0,
        resets: 0,
      };
      await checkSimProperty(
        fc.asyncProperty(hostScenario(WORLD_SECONDS, options.focus), async (scenario) => {
          const result = await runHostScenario(scenario);
          for (const key of Object.keys(total) as Array<keyof HostRunStats>) total[key] += result.stats[key];
          if (result.violations.length > 0) throw new Error(result.report());
        }),
        { testName: options.name, testPath: options.testPath, defaultRuns: options.runs },
      );
      process.stderr.write(`${options.name}: ${JSON.stringify(total)}\n`);
      // (A replay of one case need not show everything.)
      if (simRunSettings(options.runs).path !== undefined) return;
      expect(total.grants).toBeGreaterThan(0);
      expect(total.conversions).toBeGreaterThan(0);
      expect(total.lossesWithLeases).toBeGreaterThan(0);
      expect(total.lockstops).toBeGreaterThan(0);
      expect(total.daemonRestarts).toBeGreaterThan(0);
      expect(total.resets).toBeGreaterThan(0);
      if (options.focus === 'restarts') expect(total.adoptedLeases).toBeGreaterThan(0);
    },
    simTimeoutMs(simRunSettings(options.runs).numRuns, MS_PER_RUN),
  );
}

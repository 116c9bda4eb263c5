import fc from 'fast-check';
import type { DeltaScenario, FaultSpec, IoFaultMode, MemberSpec } from './scenario.js';

/**
 * fast-check generators of delta-lease scenarios. Small io_timeouts (1-3 s) and watchdog fire
 * timeouts (5-20 s) keep runs short in virtual time while every ratio between the delays still
 * occurs. Faults land at random times; shrinking removes faults and members, so a failing case
 * comes back small.
 */
export const IO_TIMEOUTS_SECONDS = [1, 2, 3] as const;
export const MIN_WATCHDOG_FIRE_TIMEOUT_SECONDS = 5;
export const MAX_WATCHDOG_FIRE_TIMEOUT_SECONDS = 20;
const MAX_CLOCK_OFFSET_SECONDS = 1_000_000;
const MILLIS_PER_SECOND = 1000;

/** Seconds with millisecond resolution in [minimum, maximum]. */
export function secondsBetween(minimum: number, maximum: number): fc.Arbitrary<number> {
  return fc
    .integer({ min: Math.round(minimum * MILLIS_PER_SECOND), max: Math.round(maximum * MILLIS_PER_SECOND) })
    .map((millis) => millis / MILLIS_PER_SECOND);
}

const ioTimeout = fc.constantFrom(...IO_TIMEOUTS_SECONDS);

interface WorldBasics {
  seed: number;
  sectorSize: 512 | 4096;
  initIoTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  watchdogs: boolean;
  maxLatencySeconds: number;
  latencyQuantumSeconds: number;
  /** Most members use this io_timeout; some pick another. */
  ioTimeoutSeconds: number;
}

const worldBasics: fc.Arbitrary<WorldBasics> = fc.record({
  seed: fc.integer(),
  // 4096-byte sectors: 250 slots per 1 MiB area, so each renewal samples 8x fewer slots.
  sectorSize: fc.oneof(
    { weight: 9, arbitrary: fc.constant(4096 as const) },
    { weight: 1, arbitrary: fc.constant(512 as const) },
  ),
  initIoTimeoutSeconds: ioTimeout,
  watchdogFireTimeoutSeconds: fc.integer({
    min: MIN_WATCHDOG_FIRE_TIMEOUT_SECONDS,
    max: MAX_WATCHDOG_FIRE_TIMEOUT_SECONDS,
  }),
  watchdogs: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  maxLatencySeconds: secondsBetween(0.001, 0.3),
  latencyQuantumSeconds: fc.constantFrom(0, 0, 0.05, 0.1),
  ioTimeoutSeconds: ioTimeout,
});

function member(
  basics: WorldBasics,
  machine: string,
  hostId: number,
  nameGroup: fc.Arbitrary<number>,
  startWindowSeconds: number,
): fc.Arbitrary<MemberSpec> {
  return fc.record(
    {
      machine: fc.constant(machine),
      hostId: fc.constant(hostId),
      nameGroup,
      ioTimeoutSeconds: fc.oneof(
        { weight: 3, arbitrary: fc.constant(basics.ioTimeoutSeconds) },
        { weight: 1, arbitrary: ioTimeout },
      ),
      startAtSeconds: secondsBetween(0, startWindowSeconds),
      clockOffsetSeconds: secondsBetween(1, MAX_CLOCK_OFFSET_SECONDS),
      rejoinAfterSeconds: secondsBetween(0.5, 30),
    },
    { requiredKeys: ['machine', 'hostId', 'nameGroup', 'ioTimeoutSeconds', 'startAtSeconds', 'clockOffsetSeconds'] },
  );
}

/** One random fault on one of `machines` (or the storage) within [0, lastFaultSeconds]. */
export function fault(machines: readonly string[], lastFaultSeconds: number): fc.Arbitrary<FaultSpec> {
  const machine = fc.constantFrom(...machines);
  const at = secondsBetween(0, lastFaultSeconds);
  return fc.oneof(
    { weight: 3, arbitrary: crashFault(machine, at) },
    { weight: 3, arbitrary: pauseFault(machine, at) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), machine, atSeconds: at }) },
    { weight: 3, arbitrary: ioFault(fc.option(machine, { nil: undefined, freq: 4 }), at) },
  );
}

export function crashFault(machine: fc.Arbitrary<string>, at: fc.Arbitrary<number>): fc.Arbitrary<FaultSpec> {
  return fc.record(
    {
      kind: fc.constant('crash' as const),
      machine,
      atSeconds: at,
      restartAfterSeconds: secondsBetween(0, 60),
      sameName: fc.boolean(),
      reboot: fc.boolean(),
    },
    { requiredKeys: ['kind', 'machine', 'atSeconds', 'sameName', 'reboot'] },
  );
}

/** Short pauses, pauses past 8N (lease lost), and pauses past 8N + W (watchdog territory). */
export function pauseFault(machine: fc.Arbitrary<string>, at: fc.Arbitrary<number>): fc.Arbitrary<FaultSpec> {
  return fc.record({
    kind: fc.constant('pause' as const),
    machine,
    atSeconds: at,
    durationSeconds: fc.oneof(secondsBetween(0.01, 5), secondsBetween(5, 30), secondsBetween(30, 90)),
  });
}

export function ioFault(machine: fc.Arbitrary<string | undefined>, at: fc.Arbitrary<number>): fc.Arbitrary<FaultSpec> {
  return fc
    .record({
      atSeconds: at,
      durationSeconds: secondsBetween(0.5, 40),
      mode: fc.constantFrom<IoFaultMode>('slow', 'fail', 'hang'),
      slowMaxLatencySeconds: secondsBetween(0.5, 15),
      failProbability: fc.constantFrom(0.3, 0.7, 1),
      machine,
    })
    .map(
      ({ machine: target, ...rest }): FaultSpec => ({
        kind: 'io',
        ...rest,
        ...(target === undefined ? {} : { machine: target }),
      }),
    );
}

export interface ContentionShape {
  /** Contenders may share a host name (two machines, one name). */
  sameNames: boolean;
  durationSeconds: number;
  maxFaults: number;
}

/**
 * Two or three machines contend for host_id 1 (with distinct names, or maybe shared ones), up to
 * two more hold host_ids 2 and 3 and watch, and random faults hit anyone.
 */
export function contentionScenario(shape: ContentionShape): fc.Arbitrary<DeltaScenario> {
  return worldBasics.chain((basics) =>
    fc
      .record({ contenders: fc.integer({ min: 2, max: 3 }), observers: fc.integer({ min: 0, max: 2 }) })
      .chain(({ contenders, observers }) => {
        const contenderNames = shape.sameNames ? fc.integer({ min: 1, max: 2 }) : undefined;
        const members = [
          ...Array.from({ length: contenders }, (_, index) =>
            member(basics, `c${index + 1}`, 1, contenderNames ?? fc.constant(index + 1), 30),
          ),
          ...Array.from({ length: observers }, (_, index) =>
            member(basics, `o${index + 1}`, index + 2, fc.constant(10 + index), 10),
          ),
        ];
        const machines = [
          ...Array.from({ length: contenders }, (_, i) => `c${i + 1}`),
          ...Array.from({ length: observers }, (_, i) => `o${i + 1}`),
        ];
        return fc.record({
          members: fc.tuple(...members),
          faults: fc.array(fault(machines, shape.durationSeconds * 0.8), { maxLength: shape.maxFaults }),
        });
      })
      .map(({ members, faults }) => ({ ...basics, durationSeconds: shape.durationSeconds, members, faults })),
  );
}

export interface ObserverShape {
  durationSeconds: number;
  maxExtraFaults: number;
}

/**
 * One or two "targets" that will stop renewing (crash, or pause for a while), watched by two or
 * three observers; a few extra faults hit the targets, and rarely an observer.
 */
export function observerScenario(shape: ObserverShape): fc.Arbitrary<DeltaScenario> {
  return worldBasics.chain((basics) =>
    fc
      .record({ targets: fc.integer({ min: 1, max: 2 }), observers: fc.integer({ min: 2, max: 3 }) })
      .chain(({ targets, observers }) => {
        const targetMachines = Array.from({ length: targets }, (_, i) => `t${i + 1}`);
        const observerMachines = Array.from({ length: observers }, (_, i) => `o${i + 1}`);
        const members = [
          ...targetMachines.map((machine, index) => member(basics, machine, index + 1, fc.constant(index + 1), 5)),
          ...observerMachines.map((machine, index) =>
            member(basics, machine, targets + index + 1, fc.constant(10 + index), 5),
          ),
        ];
        const stop = fc.tuple(...targetMachines.map((machine) => stopFault(machine, shape.durationSeconds)));
        const extra = fc.array(
          fc.oneof(
            { weight: 4, arbitrary: fault(targetMachines, shape.durationSeconds * 0.6) },
            { weight: 1, arbitrary: fault(observerMachines, shape.durationSeconds * 0.6) },
          ),
          { maxLength: shape.maxExtraFaults },
        );
        return fc.record({ members: fc.tuple(...members), stops: stop, extra });
      })
      .map(({ members, stops, extra }) => ({
        ...basics,
        durationSeconds: shape.durationSeconds,
        members,
        faults: [...stops, ...extra],
      })),
  );
}

/** The fault that silences a target: a crash (maybe with a late restart) or a long pause. */
function stopFault(machine: string, durationSeconds: number): fc.Arbitrary<FaultSpec> {
  const at = secondsBetween(8, durationSeconds * 0.4);
  return fc.oneof(
    crashFault(fc.constant(machine), at),
    fc.record({
      kind: fc.constant('pause' as const),
      machine: fc.constant(machine),
      atSeconds: at,
      durationSeconds: secondsBetween(20, durationSeconds),
    }),
  );
}

import type { DeltaErrorCode } from '@leasehold/lease';
import type { TieChooser } from '../chooser.js';
import type { SimHost } from '../host.js';
import type { IoFaultSettings } from '../io-faults.js';
import { formatSeconds } from '../trace.js';
import { SimWorld } from '../world.js';
import { createLockspace } from './lockspace.js';
import { deltaMemberProgram } from './member-program.js';
import { DeltaObservations } from './observations.js';
import { checkNoEarlyDead } from './check-dead-reports.js';
import { checkFailureDetection } from './check-failure-detection.js';
import { checkExclusiveOwnership } from './check-ownership.js';
import { checkSilence, leasesOf } from './check-silence.js';
import { describeViolation, type DeltaViolation, type DeltaViolationKind, type Disturbance } from './violations.js';

/** One machine running the delta lease. */
export interface MemberSpec {
  machine: string;
  hostId: number;
  /** Members in the same group start with the same host name (two machines, one name). */
  nameGroup: number;
  ioTimeoutSeconds: number;
  startAtSeconds: number;
  /** Monotonic clock reading at global time 0. */
  clockOffsetSeconds: number;
  /** Join again this long after a failed acquire, a loss or a release; absent: give up. */
  rejoinAfterSeconds?: number;
}

export type IoFaultMode = 'slow' | 'fail' | 'hang';

export type FaultSpec =
  /** Crash; optionally start a new incarnation later (same name: fast reacquire; reboot: new clock). */
  | {
      kind: 'crash';
      machine: string;
      atSeconds: number;
      restartAfterSeconds?: number;
      sameName: boolean;
      reboot: boolean;
    }
  | { kind: 'pause'; machine: string; atSeconds: number; durationSeconds: number }
  /** A clean release asked for from outside (lockstop). */
  | { kind: 'release'; machine: string; atSeconds: number }
  /** I/O trouble on one machine's path, or on the shared storage when `machine` is absent. */
  | {
      kind: 'io';
      machine?: string;
      atSeconds: number;
      durationSeconds: number;
      mode: IoFaultMode;
      slowMaxLatencySeconds: number;
      failProbability: number;
    };

export interface DeltaScenario {
  seed: number;
  sectorSize: 512 | 4096;
  /** io_timeout written into every slot at init (N' of a slot's first acquire). */
  initIoTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  /** Hosts have watchdog devices that reset them 8N + W after their last renewal. */
  watchdogs: boolean;
  /** Healthy I/O latency is uniform in [min, max] (min 0 when absent), rounded to the quantum (ties go to the chooser). */
  minLatencySeconds?: number;
  maxLatencySeconds: number;
  latencyQuantumSeconds: number;
  durationSeconds: number;
  members: MemberSpec[];
  faults: FaultSpec[];
}

export interface DeltaRunOptions {
  tieChooser?: TieChooser;
  /** Trace lines kept per host incarnation (for the failure report). */
  traceDepth?: number;
  /** Violations of these kinds are left out of the result (known, reported issues). */
  ignoreKinds?: readonly DeltaViolationKind[];
  extraExpectedCodes?: readonly DeltaErrorCode[];
}

export interface DeltaRunResult {
  violations: DeltaViolation[];
  /** Violations of ignored kinds, for statistics. */
  ignored: DeltaViolation[];
  /** (silence, observer) pairs held to the failure-detection bound. */
  checkedDetections: number;
  observations: DeltaObservations;
  world: SimWorld;
  /** Violations, the scenario and the recent trace of every host: the text a failing test shows. */
  report(): string;
}

const TRACE_DEPTH = 80;
/** Slowness on a path outlasts its window by the slowest I/O issued in it. */
const SLOW_MIN_LATENCY_SECONDS = 0.2;

/** Runs one scenario with the real delta-lease code on every member and checks the invariants. */
export async function runDeltaScenario(
  scenario: DeltaScenario,
  options: DeltaRunOptions = {},
): Promise<DeltaRunResult> {
  const world = new SimWorld({
    seed: scenario.seed,
    traceDepth: options.traceDepth ?? TRACE_DEPTH,
    ...(options.tieChooser ? { tieChooser: options.tieChooser } : {}),
  });
  const lockspace = createLockspace(world, {
    sectorSize: scenario.sectorSize,
    initIoTimeoutSeconds: scenario.initIoTimeoutSeconds,
    // All latency comes from the hosts' paths, so one number bounds a healthy I/O.
    ioFaults: { minLatencySeconds: 0, maxLatencySeconds: 0 },
  });
  const observations = new DeltaObservations(world, lockspace);
  const names = new Map<string, string>();
  const hosts = new Map<string, SimHost>();
  const specs = new Map<string, MemberSpec>();
  const startOptions = {
    watchdogFireTimeoutSeconds: scenario.watchdogs ? scenario.watchdogFireTimeoutSeconds : Infinity,
  };

  const startMember = (spec: MemberSpec, clockOffsetSeconds?: number): void => {
    const host = hosts.get(spec.machine) as SimHost;
    const program = deltaMemberProgram(observations, {
      hostId: spec.hostId,
      hostName: names.get(spec.machine) as string,
      ioTimeoutSeconds: spec.ioTimeoutSeconds,
      watchdogFireTimeoutSeconds: scenario.watchdogFireTimeoutSeconds,
      ...(spec.rejoinAfterSeconds === undefined ? {} : { rejoinAfterSeconds: spec.rejoinAfterSeconds }),
      ...(options.extraExpectedCodes === undefined ? {} : { extraExpectedCodes: options.extraExpectedCodes }),
    });
    host.start(program, clockOffsetSeconds === undefined ? startOptions : { ...startOptions, clockOffsetSeconds });
  };

  for (const spec of scenario.members) {
    specs.set(spec.machine, spec);
    names.set(spec.machine, `node-${spec.nameGroup}`);
    hosts.set(
      spec.machine,
      world.addHost({
        machine: spec.machine,
        clockOffsetSeconds: spec.clockOffsetSeconds,
        ioFaults: {
          minLatencySeconds: scenario.minLatencySeconds ?? 0,
          maxLatencySeconds: scenario.maxLatencySeconds,
          latencyQuantumSeconds: scenario.latencyQuantumSeconds,
        },
      }),
    );
    world.at(spec.startAtSeconds, `start ${spec.machine}`, () => startMember(spec));
  }

  const disturbances: Disturbance[] = [];
  const openWindows = new Map<string, { count: number; previous: Partial<IoFaultSettings> }>();
  for (const fault of scenario.faults) {
    scheduleFault(world, fault, hosts, specs, names, observations, startMember, disturbances, openWindows);
  }

  await world.runUntil(scenario.durationSeconds);
  observations.finish();
  for (const entry of world.lifecycle) {
    if (entry.kind === 'error')
      observations.problems.push(
        `${formatSeconds(entry.timeSeconds)} ${entry.label}: program threw: ${entry.detail ?? ''}`,
      );
  }

  // Rounding to the quantum can add up to one quantum to the drawn latency.
  const maxHealthyLatencySeconds = scenario.maxLatencySeconds + scenario.latencyQuantumSeconds;
  const silence = checkSilence(leasesOf(observations), () => scenario.watchdogFireTimeoutSeconds);
  const detection = checkFailureDetection(observations, { maxHealthyLatencySeconds, disturbances });
  const all: DeltaViolation[] = [
    ...observations.problems.map((text): DeltaViolation => ({ kind: 'program-error', text })),
    ...checkExclusiveOwnership(observations),
    ...silence.violations,
    ...checkNoEarlyDead(observations, maxHealthyLatencySeconds, silence.brokenAtSeconds),
    ...detection.violations,
  ];
  const ignoreKinds = new Set(options.ignoreKinds ?? []);
  const violations = all.filter((violation) => !ignoreKinds.has(violation.kind));
  const ignored = all.filter((violation) => ignoreKinds.has(violation.kind));
  return {
    violations,
    ignored,
    checkedDetections: detection.checkedPairs,
    observations,
    world,
    report: () =>
      [
        `${violations.length} violation(s):`,
        ...violations.map((violation) => `  - ${describeViolation(violation)}`),
        '',
        'trace (most recent events of every host):',
        world.trace.format(),
      ].join('\n'),
  };
}

function scheduleFault(
  world: SimWorld,
  fault: FaultSpec,
  hosts: Map<string, SimHost>,
  specs: Map<string, MemberSpec>,
  names: Map<string, string>,
  observations: DeltaObservations,
  startMember: (spec: MemberSpec, clockOffsetSeconds?: number) => void,
  disturbances: Disturbance[],
  openWindows: Map<string, { count: number; previous: Partial<IoFaultSettings> }>,
): void {
  const hostOf = (machine: string): SimHost => {
    const host = hosts.get(machine);
    if (host === undefined) throw new Error(`fault names unknown machine ${machine}`);
    return host;
  };
  switch (fault.kind) {
    case 'crash': {
      const host = hostOf(fault.machine);
      world.at(fault.atSeconds, `crash ${fault.machine}`, () => host.crash());
      if (fault.restartAfterSeconds === undefined) return;
      world.at(fault.atSeconds + fault.restartAfterSeconds, `restart ${fault.machine}`, () => {
        if (host.isAlive() || host.state === 'not-started') return;
        const spec = specs.get(fault.machine) as MemberSpec;
        if (!fault.sameName)
          names.set(fault.machine, `node-${spec.nameGroup}.${fault.machine}.r${host.incarnation + 1}`);
        // A reboot restarts the monotonic clock near zero; a daemon restart keeps it.
        const rebootOffsetSeconds = fault.reboot ? -world.nowSeconds + world.random.uniform(1, 100) : undefined;
        startMember(spec, rebootOffsetSeconds);
      });
      return;
    }
    case 'pause': {
      const host = hostOf(fault.machine);
      world.at(fault.atSeconds, `pause ${fault.machine}`, () => host.pause());
      world.at(fault.atSeconds + fault.durationSeconds, `resume ${fault.machine}`, () => host.resume());
      return;
    }
    case 'release': {
      const host = hostOf(fault.machine);
      world.at(fault.atSeconds, `release ${fault.machine}`, () =>
        host.deliver(host.incarnation, () => observations.requestRelease(host.label)),
      );
      return;
    }
    case 'io': {
      const path = fault.machine === undefined ? observations.lockspace.disk.ioFaults : hostOf(fault.machine).ioFaults;
      const endSeconds = fault.atSeconds + fault.durationSeconds;
      const disturbance = { fromSeconds: fault.atSeconds, toSeconds: endSeconds, what: `${fault.mode} I/O` };
      if (fault.mode === 'hang') {
        world.at(fault.atSeconds, `hang ${fault.machine ?? 'storage'}`, () => path.hang(world.nowSeconds));
        world.at(endSeconds, `unhang ${fault.machine ?? 'storage'}`, () => path.releaseHang());
      } else {
        const patch =
          fault.mode === 'slow'
            ? {
                slowProbability: 1,
                slowMinLatencySeconds: SLOW_MIN_LATENCY_SECONDS,
                slowMaxLatencySeconds: fault.slowMaxLatencySeconds,
              }
            : { failProbability: fault.failProbability };
        // Overlapping windows of one mode on one path: the first one's settings hold until the last ends.
        const key = `${fault.machine ?? ''}/${fault.mode}`;
        world.at(fault.atSeconds, `${fault.mode} I/O on ${fault.machine ?? 'storage'}`, () => {
          const active = openWindows.get(key);
          if (active === undefined) openWindows.set(key, { count: 1, previous: path.change(patch) });
          else active.count++;
        });
        world.at(endSeconds, `end ${fault.mode} I/O on ${fault.machine ?? 'storage'}`, () => {
          const active = openWindows.get(key);
          if (active === undefined || --active.count > 0) return;
          openWindows.delete(key);
          path.change(active.previous);
        });
        if (fault.mode === 'slow') disturbance.toSeconds += fault.slowMaxLatencySeconds;
      }
      disturbances.push(fault.machine === undefined ? disturbance : { ...disturbance, machine: fault.machine });
      return;
    }
  }
}

/**
 * Paxos resource leases in the simulator: up to 8 hosts, each running the real delta lease
 * (acquireDeltaLease + runRenewalLoop, watchdog expiry moved on every renewal) and the real paxos
 * code against one resource lease on a shared disk, with crashes, pauses and slow / failing /
 * hanging I/O. The oracles:
 *   - ownership (OwnershipTracker): a holder owns from the moment acquire (or convert) returns until
 *     it starts its release, crashes, or its delta lease reaches its 8N deadline; two exclusive
 *     holders, or an exclusive and a shared one, must never overlap in global time;
 *   - every leader write that lands: lver never decreases, and all commits of one lver name the same
 *     owner (Paxos agreement);
 *   - no unexpected error codes, no program crashes.
 * Hosts may publish different io_timeouts (§3: each is judged by its own), and a scenario can stall
 * one host's owner-liveness read (§5.1 step 3) at a chosen moment: its I/O path hangs, or the host
 * is paused, while that read is in flight ('stall-owner-read').
 */
import fc from 'fast-check';
import { it } from 'vitest';
import {
  buildLockspaceArea,
  buildResourceArea,
  decodeLeader,
  geometryFor,
  MIB,
  PAXOS_LEADER_MAGIC,
  type Geometry,
  type LeaderRecord,
} from '@leasehold/ondisk';
import {
  acquireDeltaLease,
  acquireLease,
  DeltaLeaseView,
  convertLease,
  idRenewalFailSeconds,
  isDeltaError,
  isPaxosError,
  releaseLease,
  runRenewalLoop,
  type DeltaErrorCode,
  type PaxosDeltaView,
  type HeldDeltaLease,
  type HeldLease,
  type LeaseMode,
  type Logger,
  type PaxosContext,
  type PaxosErrorCode,
  type ResourceLocation,
} from '@leasehold/lease';
import {
  checkSimProperty,
  describeError,
  describeOverlap,
  formatSeconds,
  OwnershipTracker,
  simRunSettings,
  simTimeoutMs,
  SimWorld,
  type HostContext,
  type HostProgram,
  type SharedDisk,
  type SimHost,
} from '@leasehold/sim';

export const SPACE = 'paxsim';
export const RESOURCE = 'res';
const LOCKSPACE_GEOMETRY: Geometry = geometryFor(4096, MIB); // 250 slots, cheap renewals
const LEASE_GEOMETRY: Geometry = geometryFor(512, MIB);
export const LOCATION: ResourceLocation = { spaceName: SPACE, resourceName: RESOURCE, offsetBytes: 0 };
const TRACE_DEPTH = 60;
const DELTA_RETRY_SECONDS = 1;
const MAX_DELTA_ATTEMPTS = 50;

export interface PaxosOp {
  mode: LeaseMode;
  /** How long the lease is used once held. */
  holdSeconds: number;
  /** Pause before the next operation. */
  gapSeconds: number;
  /** Budget for waiting on a possibly dead owner. */
  waitSeconds: number;
  /** Convert to the other mode half-way through the hold. */
  convert: boolean;
}

export interface PaxosHostPlan {
  machine: string;
  hostId: number;
  startAtSeconds: number;
  clockOffsetSeconds: number;
  ops: PaxosOp[];
  /** Leave the lockspace after the last operation (otherwise keep renewing). */
  leaveAtEnd: boolean;
  /** This host's io_timeout (§3: published in its delta lease, others judge it by it); default the scenario's. */
  ioTimeoutSeconds?: number;
}

export type PaxosFault =
  | { kind: 'crash'; machine: string; atSeconds: number; restartAfterSeconds?: number }
  | { kind: 'pause'; machine: string; atSeconds: number; durationSeconds: number }
  | {
      kind: 'io';
      machine?: string;
      atSeconds: number;
      durationSeconds: number;
      mode: 'slow' | 'fail' | 'hang';
      slowMaxLatencySeconds?: number;
    }
  /**
   * When `machine` issues its `readNumber`-th owner-liveness read (a 1-sector read of another
   * host's delta lease, §5.1 step 3; counted over all its incarnations), its I/O path hangs, or the
   * host is paused, for `durationSeconds`: the read samples the disk on time and is handed back late.
   */
  | { kind: 'stall-owner-read'; machine: string; readNumber: number; durationSeconds: number; how: 'hang' | 'pause' };

type OwnerReadStall = Extract<PaxosFault, { kind: 'stall-owner-read' }>;

/** Slow I/O takes up to this long unless the fault says otherwise (beyond io_timeout: leases get lost). */
const DEFAULT_SLOW_MAX_LATENCY_SECONDS = 3;
const SLOW_MIN_LATENCY_SECONDS = 0.2;
const FAILING_IO_PROBABILITY = 0.3;

export interface PaxosScenario {
  seed: number;
  /** num_hosts of the lease (ballot reads cover roundup_pow2(num_hosts + 2) sectors). */
  leaseNumHosts: number;
  ioTimeoutSeconds: number;
  watchdogFireTimeoutSeconds: number;
  maxLatencySeconds: number;
  latencyQuantumSeconds: number;
  durationSeconds: number;
  hosts: PaxosHostPlan[];
  faults: PaxosFault[];
  /**
   * Trust a lockspace membership read this long (the ballots' read bound, ballot-range.ts); unset:
   * the safe default. Only the test that shows why the limit matters sets it.
   */
  membershipValidSeconds?: number;
}

/** Failures a contended, faulty world may produce; anything else is reported. */
const EXPECTED_PAXOS_CODES: ReadonlySet<PaxosErrorCode> = new Set<PaxosErrorCode>([
  'ACQUIRE_IDLIVE',
  'ACQUIRE_OWNED',
  'ACQUIRE_OTHER',
  'ACQUIRE_SHRETRY',
  'OWNER_NOWAIT',
  'SHARED_HELD',
  'IO_ERROR',
  'NOT_JOINED',
]);
/** Release errors that only mean "someone moved on without us": expected after faults. */
const EXPECTED_RELEASE_CODES: ReadonlySet<PaxosErrorCode> = new Set<PaxosErrorCode>([
  'RELEASE_OWNER',
  'RELEASE_LVER',
  'IO_ERROR',
  'NOT_JOINED',
]);
const EXPECTED_DELTA_CODES: ReadonlySet<DeltaErrorCode> = new Set<DeltaErrorCode>([
  'HOSTID_BUSY',
  'IO_ERROR',
  'LEASE_LOST',
  'RENEW_OWNER',
  'RENEW_DIFF',
  'NOT_JOINED',
]);

export interface PaxosStats {
  acquired: number;
  acquiredShared: number;
  converted: number;
  errors: Record<string, number>;
  /** The largest lver any leader write carried. */
  maxLver: bigint;
  /** The largest lver granted to a holder so far. */
  maxGrantedLver: bigint;
  /**
   * Leader writes that landed with a smaller lver than one written before: a helper's commit
   * overtaken by the lease moving on (see the module comment). Counted, not a violation.
   */
  leaderRegressions: number;
  /** 'stall-owner-read' faults that fired. */
  ownerReadStalls: number;
}

export interface PaxosRunResult {
  violations: string[];
  stats: PaxosStats;
  world: SimWorld;
  tracker: OwnershipTracker;
  report(): string;
}

interface Env {
  world: SimWorld;
  scenario: PaxosScenario;
  lockspaceDisk: SharedDisk;
  leaseDisk: SharedDisk;
  tracker: OwnershipTracker;
  problems: string[];
  stats: PaxosStats;
  grants: { label: string; lver: bigint; grantedAtSeconds: number }[];
  hosts: Map<string, SimHost>;
  /** Owner-liveness reads issued so far, by machine, and the stalls planned for them. */
  ownerReads: Map<string, number>;
  ownerReadStalls: OwnerReadStall[];
}

export interface PaxosRunOptions {
  /** Trace lines kept per host (default 60). */
  traceDepth?: number;
}

export async function runPaxosScenario(
  scenario: PaxosScenario,
  options: PaxosRunOptions = {},
): Promise<PaxosRunResult> {
  const world = new SimWorld({ seed: scenario.seed, traceDepth: options.traceDepth ?? TRACE_DEPTH });
  const lockspaceDisk = world.addDisk({
    name: 'lockspace',
    sectorSize: LOCKSPACE_GEOMETRY.sectorSize,
    sizeBytes: LOCKSPACE_GEOMETRY.alignBytes,
    initialBytes: buildLockspaceArea({
      spaceName: SPACE,
      geometry: LOCKSPACE_GEOMETRY,
      ioTimeoutSeconds: scenario.ioTimeoutSeconds,
    }),
    ioFaults: { minLatencySeconds: 0, maxLatencySeconds: 0 },
  });
  const leaseDisk = world.addDisk({
    name: 'leases',
    sectorSize: LEASE_GEOMETRY.sectorSize,
    sizeBytes: LEASE_GEOMETRY.alignBytes,
    initialBytes: buildResourceArea({
      spaceName: SPACE,
      resourceName: RESOURCE,
      geometry: LEASE_GEOMETRY,
      numHosts: scenario.leaseNumHosts,
    }),
    ioFaults: { minLatencySeconds: 0, maxLatencySeconds: 0 },
  });
  const env: Env = {
    world,
    scenario,
    lockspaceDisk,
    leaseDisk,
    tracker: new OwnershipTracker(),
    problems: [],
    grants: [],
    stats: {
      acquired: 0,
      acquiredShared: 0,
      converted: 0,
      errors: {},
      maxLver: 0n,
      maxGrantedLver: 0n,
      leaderRegressions: 0,
      ownerReadStalls: 0,
    },
    hosts: new Map<string, SimHost>(),
    ownerReads: new Map<string, number>(),
    ownerReadStalls: [],
  };
  watchLeader(env);

  const hosts = env.hosts;
  const plans = new Map<string, PaxosHostPlan>();
  for (const plan of scenario.hosts) {
    plans.set(plan.machine, plan);
    const host = world.addHost({
      machine: plan.machine,
      clockOffsetSeconds: plan.clockOffsetSeconds,
      ioFaults: {
        minLatencySeconds: 0,
        maxLatencySeconds: scenario.maxLatencySeconds,
        latencyQuantumSeconds: scenario.latencyQuantumSeconds,
      },
    });
    hosts.set(plan.machine, host);
    world.at(plan.startAtSeconds, `start ${plan.machine}`, () => startHost(env, host, plan));
  }
  for (const fault of scenario.faults) scheduleFault(env, fault, hosts, plans);

  await world.runUntil(scenario.durationSeconds);
  env.tracker.finish(world.nowSeconds);
  for (const entry of world.lifecycle) {
    if (entry.kind === 'error')
      env.problems.push(`${formatSeconds(entry.timeSeconds)} ${entry.label}: program threw: ${entry.detail ?? ''}`);
  }
  const violations = [...env.problems, ...env.tracker.problems, ...env.tracker.overlaps().map(describeOverlap)];
  return {
    violations,
    stats: env.stats,
    world,
    tracker: env.tracker,
    report: () =>
      [
        `${violations.length} violation(s):`,
        ...violations.slice(0, 10).map((violation) => `  - ${violation}`),
        '',
        'ownership intervals:',
        ...env.tracker.intervals.map(
          (i) =>
            `  ${i.owner} ${i.mode} ${formatSeconds(i.startSeconds)}..${formatSeconds(i.endSeconds)} [${i.endReason}]`,
        ),
        '',
        'trace (most recent events of every host):',
        world.trace.format(),
      ].join('\n'),
  };
}

/**
 * Leader oracle: every landed write of sector 0 of the lease. One lver is only ever committed with
 * one owner (host_id and generation). A write with a smaller lver than an earlier one is counted:
 * sanlock's commit is a plain write after the ballot, so a helper's commit of another host's value
 * (acquire-ballot.ts looks first, but cannot look and write atomically) can be overtaken.
 */
function watchLeader(env: Env): void {
  const commits = new Map<bigint, string>();
  env.leaseDisk.onWrite((write) => {
    if (write.offsetBytes !== 0) return;
    const leader = decodeLeader(write.data, 0);
    if (leader.magic !== PAXOS_LEADER_MAGIC) return;
    const at = formatSeconds(write.landedAtSeconds);
    if (leader.lver < env.stats.maxLver) {
      env.stats.leaderRegressions++;
      env.world.note(
        `${write.writer} wrote the leader with lver ${leader.lver} after lver ${env.stats.maxLver} had been written`,
      );
    }
    if (leader.lver > env.stats.maxLver) env.stats.maxLver = leader.lver;
    if (leader.timestamp === 0n) return;
    const value = `owner ${leader.ownerId} generation ${leader.ownerGeneration}`;
    const earlier = commits.get(leader.lver);
    if (earlier === undefined) commits.set(leader.lver, value);
    else if (earlier !== value)
      env.problems.push(
        `${at} ${write.writer} committed lver ${leader.lver} as ${value}, but it was committed as ${earlier}`,
      );
  });
}

/**
 * Grant oracle, "lver never decreases" as holders see it: a grant whose acquire (or SH→EX
 * conversion) started after another grant was made has a larger lver. (Grants that overlap in time
 * may return in any order: a shared acquire returns only after freeing the leader for the next.)
 */
function granted(env: Env, label: string, lease: HeldLease, startedAtSeconds: number): void {
  const nowSeconds = env.world.nowSeconds;
  for (const earlier of env.grants) {
    if (earlier.grantedAtSeconds < startedAtSeconds && lease.lver <= earlier.lver) {
      env.problems.push(
        `${formatSeconds(nowSeconds)} ${label} was granted lver ${lease.lver} by an acquire started at ${formatSeconds(startedAtSeconds)}, ` +
          `after ${earlier.label} had been granted lver ${earlier.lver} at ${formatSeconds(earlier.grantedAtSeconds)}`,
      );
      break;
    }
  }
  env.grants.push({ label, lver: lease.lver, grantedAtSeconds: nowSeconds });
  if (lease.lver > env.stats.maxGrantedLver) env.stats.maxGrantedLver = lease.lver;
}

function startHost(env: Env, host: SimHost, plan: PaxosHostPlan): void {
  const watchdog = env.scenario.watchdogFireTimeoutSeconds;
  host.start(memberProgram(env, plan), { watchdogFireTimeoutSeconds: watchdog });
}

/** The paxos code's log lines go to the host's trace (formatted only if the trace is printed). */
function traceLogger(context: HostContext): Logger {
  const line =
    (level: string) =>
    (fields: object, message: string): void =>
      context.note(
        () =>
          `  [${level}] ${message} ${JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}`,
      );
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

function count(env: Env, code: string): void {
  env.stats.errors[code] = (env.stats.errors[code] ?? 0) + 1;
}

function memberProgram(env: Env, plan: PaxosHostPlan): HostProgram {
  return async (context: HostContext): Promise<void> => {
    const { clock, label } = context;
    const { scenario, tracker, world } = env;
    const ioTimeoutSeconds = plan.ioTimeoutSeconds ?? scenario.ioTimeoutSeconds;
    const failSeconds = idRenewalFailSeconds(ioTimeoutSeconds);
    const now = (): number => world.nowSeconds;
    const problem = (text: string): void => {
      env.problems.push(`${formatSeconds(now())} ${label}: ${text}`);
    };

    let delta: HeldDeltaLease | undefined;
    for (let attempt = 0; delta === undefined && attempt < MAX_DELTA_ATTEMPTS; attempt++) {
      try {
        delta = await acquireDeltaLease(context.disk(env.lockspaceDisk), clock, {
          spaceName: SPACE,
          hostId: plan.hostId,
          areaOffsetBytes: 0,
          hostName: `${plan.machine}.${context.incarnation}`,
          ioTimeoutSeconds,
          watchdogFireTimeoutSeconds: scenario.watchdogFireTimeoutSeconds,
        });
      } catch (error) {
        if (!(isDeltaError(error) && EXPECTED_DELTA_CODES.has(error.code)))
          problem(`delta acquire: ${describeError(error)}`);
        await clock.sleep(DELTA_RETRY_SECONDS);
      }
    }
    if (delta === undefined) return;
    const lease = delta;
    const deadline = (): number => clock.toGlobalSeconds(lease.lastRenewalSeconds + failSeconds);
    context.watchdog.setExpiry(lease.lastRenewalSeconds + failSeconds);
    let held: HeldLease | undefined;
    // Paxos sees the delta lease as the daemon's resource lanes do: through the lease layer's view,
    // told of every renewal, with its own deadline and write fence.
    const view = new DeltaLeaseView(
      {
        config: lease.config,
        geometry: lease.geometry,
        generation: lease.generation,
        lastRenewalSeconds: lease.lastRenewalSeconds,
        hosts: lease.hosts(),
      },
      context.disk(env.lockspaceDisk),
      clock,
      (hostId) => lease.pingHost(hostId),
    );
    const stop = new AbortController();
    const renewing = runRenewalLoop(
      lease,
      clock,
      {
        onRenewed: () => {
          view.renewed(lease.lastRenewalSeconds, lease.hosts());
          context.watchdog.setExpiry(lease.lastRenewalSeconds + failSeconds);
          if (held !== undefined) tracker.renew(RESOURCE, label, now(), deadline());
        },
        // The daemon kills the lease users at once: ownership ends here.
        onLost: (error) => {
          view.markLost(error);
          tracker.end(RESOURCE, label, now(), 'lost');
        },
      },
      stop.signal,
    );
    const ctx: PaxosContext = {
      disk: view.fence(context.disk(env.leaseDisk)),
      clock,
      random: context.random,
      delta: withOwnerReadStalls(env, plan.machine, view),
      logger: traceLogger(context),
      ...(scenario.membershipValidSeconds === undefined
        ? {}
        : { ballotRange: { membershipValidSeconds: scenario.membershipValidSeconds } }),
    };

    const judge = (what: string, error: unknown, expected: ReadonlySet<PaxosErrorCode>): void => {
      if (isPaxosError(error) && expected.has(error.code)) {
        count(env, error.code);
        context.note(`${what}: ${error.code} ${error.message}`);
      } else {
        problem(`${what} failed unexpectedly: ${describeError(error)}`);
      }
    };
    const begin = (lease: HeldLease): void => {
      held = lease;
      tracker.begin(RESOURCE, label, lease.mode, now(), deadline());
      context.note(`holds ${lease.mode} lver ${lease.lver}`);
    };
    const release = async (): Promise<void> => {
      const current = held;
      if (current === undefined) return;
      held = undefined;
      tracker.end(RESOURCE, label, now(), 'released');
      try {
        await releaseLease(ctx, current);
      } catch (error) {
        judge('release', error, EXPECTED_RELEASE_CODES);
      }
    };

    for (const op of plan.ops) {
      if (lease.lost || lease.released) break;
      try {
        const startedAtSeconds = now();
        const acquired = await acquireLease(ctx, LOCATION, { mode: op.mode, waitSeconds: op.waitSeconds });
        granted(env, label, acquired, startedAtSeconds);
        begin(acquired);
        env.stats.acquired++;
        if (op.mode === 'shared') env.stats.acquiredShared++;
        await clock.sleep(op.convert ? op.holdSeconds / 2 : op.holdSeconds);
        if (op.convert && held !== undefined && !lease.lost)
          await convert(
            env,
            ctx,
            held,
            (lease) => begin(lease),
            () => (held = undefined),
            judge,
            now,
            label,
          );
        if (op.convert) await clock.sleep(op.holdSeconds / 2);
      } catch (error) {
        judge(`acquire ${op.mode}`, error, EXPECTED_PAXOS_CODES);
      }
      await release();
      await clock.sleep(op.gapSeconds);
    }
    if (plan.leaveAtEnd && !lease.lost) {
      stop.abort();
      await renewing;
      view.detach();
      try {
        await lease.release();
        context.watchdog.disarm();
      } catch (error) {
        if (!(isDeltaError(error) && EXPECTED_DELTA_CODES.has(error.code)))
          problem(`delta release: ${describeError(error)}`);
      }
    } else {
      await renewing;
    }
  };
}

/**
 * The delta lease as the paxos code sees it, with the machine's 'stall-owner-read' faults applied
 * to readHostSector (used only by the owner-liveness wait); everything else goes to the lease.
 */
function withOwnerReadStalls(env: Env, machine: string, lease: PaxosDeltaView): PaxosDeltaView {
  if (!env.ownerReadStalls.some((stall) => stall.machine === machine)) return lease;
  const readHostSector = (hostId: number): Promise<LeaderRecord> => {
    const readNumber = (env.ownerReads.get(machine) ?? 0) + 1;
    env.ownerReads.set(machine, readNumber);
    for (const stall of env.ownerReadStalls) {
      if (stall.machine === machine && stall.readNumber === readNumber) startStall(env, stall, hostId);
    }
    return lease.readHostSector(hostId);
  };
  return new Proxy(lease, {
    get(target, property) {
      if (property === 'readHostSector') return readHostSector;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Hangs the machine's I/O path, or pauses it, from now (the read is issued next) for the stall's duration. */
function startStall(env: Env, stall: OwnerReadStall, hostId: number): void {
  const { world } = env;
  const host = env.hosts.get(stall.machine);
  if (host === undefined) throw new Error(`stall names unknown machine ${stall.machine}`);
  env.stats.ownerReadStalls++;
  world.note(
    `${host.label}: owner-liveness read ${stall.readNumber} (host_id ${hostId}) stalls ${stall.durationSeconds.toFixed(3)} s (${stall.how})`,
  );
  if (stall.how === 'hang') {
    host.ioFaults.hang(world.nowSeconds);
    world.after(stall.durationSeconds, `unhang ${stall.machine}`, () => host.ioFaults.releaseHang());
  } else {
    host.pause();
    world.after(stall.durationSeconds, `resume ${stall.machine}`, () => host.resume());
  }
}

async function convert(
  env: Env,
  ctx: PaxosContext,
  current: HeldLease,
  begin: (lease: HeldLease) => void,
  forget: () => void,
  judge: (what: string, error: unknown, expected: ReadonlySet<PaxosErrorCode>) => void,
  now: () => number,
  label: string,
): Promise<void> {
  const to: LeaseMode = current.mode === 'exclusive' ? 'shared' : 'exclusive';
  if (to === 'shared') {
    // From exclusive to shared: stop using it exclusively first.
    env.tracker.end(RESOURCE, label, now(), 'converting');
    forget();
    try {
      begin(await convertLease(ctx, current, 'shared'));
      env.stats.converted++;
    } catch (error) {
      judge('convert to shared', error, EXPECTED_PAXOS_CODES);
      // In between: release it as the exclusive lease it was (clears both, §5.4).
      try {
        await releaseLease(ctx, current);
      } catch (releaseError) {
        judge('release after failed convert', releaseError, EXPECTED_RELEASE_CODES);
      }
    }
    return;
  }
  try {
    const startedAtSeconds = now();
    const exclusive = await convertLease(ctx, current, 'exclusive');
    granted(env, label, exclusive, startedAtSeconds);
    env.tracker.end(RESOURCE, label, now(), 'converted');
    begin(exclusive);
    env.stats.converted++;
  } catch (error) {
    judge('convert to exclusive', error, EXPECTED_PAXOS_CODES);
    if (isPaxosError(error) && error.stillHeld !== undefined) begin(error.stillHeld);
  }
}

function scheduleFault(
  env: Env,
  fault: PaxosFault,
  hosts: Map<string, SimHost>,
  plans: Map<string, PaxosHostPlan>,
): void {
  const { world } = env;
  const hostOf = (machine: string): SimHost => {
    const host = hosts.get(machine);
    if (host === undefined) throw new Error(`fault names unknown machine ${machine}`);
    return host;
  };
  switch (fault.kind) {
    case 'crash': {
      const host = hostOf(fault.machine);
      world.at(fault.atSeconds, `crash ${fault.machine}`, () => {
        if (!host.isAlive()) return;
        env.tracker.endAll(host.label, world.nowSeconds, 'crash');
        host.crash();
      });
      if (fault.restartAfterSeconds !== undefined) {
        world.at(fault.atSeconds + fault.restartAfterSeconds, `restart ${fault.machine}`, () => {
          if (host.isAlive() || host.state === 'not-started') return;
          startHost(env, host, plans.get(fault.machine) as PaxosHostPlan);
        });
      }
      return;
    }
    case 'pause': {
      const host = hostOf(fault.machine);
      world.at(fault.atSeconds, `pause ${fault.machine}`, () => host.pause());
      world.at(fault.atSeconds + fault.durationSeconds, `resume ${fault.machine}`, () => host.resume());
      return;
    }
    case 'io': {
      const path = fault.machine === undefined ? env.leaseDisk.ioFaults : hostOf(fault.machine).ioFaults;
      const end = fault.atSeconds + fault.durationSeconds;
      if (fault.mode === 'hang') {
        world.at(fault.atSeconds, 'hang', () => path.hang(world.nowSeconds));
        world.at(end, 'unhang', () => path.releaseHang());
        return;
      }
      const slowMaxLatencySeconds = fault.slowMaxLatencySeconds ?? DEFAULT_SLOW_MAX_LATENCY_SECONDS;
      const patch =
        fault.mode === 'slow'
          ? {
              slowProbability: 1,
              slowMinLatencySeconds: Math.min(SLOW_MIN_LATENCY_SECONDS, slowMaxLatencySeconds),
              slowMaxLatencySeconds,
            }
          : { failProbability: FAILING_IO_PROBABILITY };
      let previous: ReturnType<typeof path.change> = {};
      world.at(fault.atSeconds, `${fault.mode} I/O`, () => (previous = path.change(patch)));
      world.at(end, `end ${fault.mode} I/O`, () => path.change(previous));
      return;
    }
    case 'stall-owner-read':
      hostOf(fault.machine);
      env.ownerReadStalls.push(fault);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

export interface PaxosScenarioShape {
  minHosts: number;
  maxHosts: number;
  maxOps: number;
  maxFaults: number;
  durationSeconds: number;
  /** Allow crashes, pauses and I/O faults. */
  faults: boolean;
  /**
   * Up to this many hosts (those with the highest host_ids) join late, while the others run
   * ballots: their host_ids are above every bound the others' membership reads showed.
   */
  maxLateJoiners?: number;
  /** num_hosts values to draw from (default 8, 8, 16, 2000). */
  leaseNumHosts?: number[];
  /** Operation shape (default: holds up to 4 s, gaps up to 3 s). */
  maxHoldSeconds?: number;
  maxGapSeconds?: number;
}

const DEFAULT_MAX_HOLD_SECONDS = 4;
const DEFAULT_MAX_GAP_SECONDS = 3;
const DEFAULT_LEASE_NUM_HOSTS = [8, 8, 16, 2000];
/** Late joiners start in [LATE_JOIN_EARLIEST_SECONDS, 60% of the run]. */
const LATE_JOIN_EARLIEST_SECONDS = 4;
const LATE_JOIN_LATEST_FRACTION = 0.6;

function opArbitrary(shape: PaxosScenarioShape): fc.Arbitrary<PaxosOp> {
  return fc.record({
    mode: fc.constantFrom<LeaseMode>('exclusive', 'exclusive', 'shared'),
    holdSeconds: fc.double({ min: 0, max: shape.maxHoldSeconds ?? DEFAULT_MAX_HOLD_SECONDS, noNaN: true }),
    gapSeconds: fc.double({ min: 0, max: shape.maxGapSeconds ?? DEFAULT_MAX_GAP_SECONDS, noNaN: true }),
    waitSeconds: fc.constantFrom(0, 0, 5, Infinity),
    convert: fc.boolean(),
  });
}

export function paxosScenario(shape: PaxosScenarioShape): fc.Arbitrary<PaxosScenario> {
  return fc
    .record({
      seed: fc.integer(),
      hostCount: fc.integer({ min: shape.minHosts, max: shape.maxHosts }),
      leaseNumHosts: fc.constantFrom(...(shape.leaseNumHosts ?? DEFAULT_LEASE_NUM_HOSTS)),
      lateJoiners: fc.integer({ min: 0, max: shape.maxLateJoiners ?? 0 }),
      lateStarts: fc.array(
        fc.double({
          min: LATE_JOIN_EARLIEST_SECONDS,
          max: Math.max(LATE_JOIN_EARLIEST_SECONDS, shape.durationSeconds * LATE_JOIN_LATEST_FRACTION),
          noNaN: true,
        }),
        { minLength: shape.maxHosts, maxLength: shape.maxHosts },
      ),
      maxLatencySeconds: fc.constantFrom(0.002, 0.02, 0.2),
      latencyQuantumSeconds: fc.constantFrom(0, 0.01),
      plans: fc.array(
        fc.record({
          startAtSeconds: fc.double({ min: 0, max: 3, noNaN: true }),
          clockOffsetSeconds: fc.double({ min: 100, max: 100_000, noNaN: true }),
          ops: fc.array(opArbitrary(shape), { minLength: 1, maxLength: shape.maxOps }),
          leaveAtEnd: fc.boolean(),
          hostIdJump: fc.integer({ min: 0, max: 3 }),
        }),
        { minLength: shape.maxHosts, maxLength: shape.maxHosts },
      ),
      faults: shape.faults ? fc.array(faultArbitrary(shape), { maxLength: shape.maxFaults }) : fc.constant([]),
    })
    .map((drawn) => {
      let hostId = 0;
      // The last hosts (the highest host_ids) join late, at least one host joins early.
      const firstLate = Math.max(1, drawn.hostCount - drawn.lateJoiners);
      const hosts = drawn.plans.slice(0, drawn.hostCount).map((plan, index) => {
        // Spread host ids (within num_hosts) so they are not always 1..n.
        hostId = Math.min(hostId + 1 + plan.hostIdJump, drawn.leaseNumHosts - (drawn.hostCount - index) + 1);
        return {
          machine: `h${index + 1}`,
          hostId,
          startAtSeconds: index >= firstLate ? (drawn.lateStarts[index] ?? plan.startAtSeconds) : plan.startAtSeconds,
          clockOffsetSeconds: plan.clockOffsetSeconds,
          ops: plan.ops,
          leaveAtEnd: plan.leaveAtEnd,
        };
      });
      const machines = new Set(hosts.map((host) => host.machine));
      return {
        seed: drawn.seed,
        leaseNumHosts: drawn.leaseNumHosts,
        ioTimeoutSeconds: 1,
        watchdogFireTimeoutSeconds: 10,
        maxLatencySeconds: drawn.maxLatencySeconds,
        latencyQuantumSeconds: drawn.latencyQuantumSeconds,
        durationSeconds: shape.durationSeconds,
        hosts,
        faults: (drawn.faults as PaxosFault[]).filter(
          (fault) => fault.machine === undefined || machines.has(fault.machine),
        ),
      };
    });
}

function faultArbitrary(shape: PaxosScenarioShape): fc.Arbitrary<PaxosFault> {
  const machine = fc.integer({ min: 1, max: shape.maxHosts }).map((n) => `h${n}`);
  const at = fc.double({ min: 1, max: shape.durationSeconds * 0.8, noNaN: true });
  return fc
    .oneof(
      fc.record({
        kind: fc.constant('crash' as const),
        machine,
        atSeconds: at,
        restartAfterSeconds: fc.option(fc.double({ min: 0.5, max: 10, noNaN: true }), { nil: undefined }),
      }),
      fc.record({
        kind: fc.constant('pause' as const),
        machine,
        atSeconds: at,
        durationSeconds: fc.double({ min: 0.1, max: 25, noNaN: true }),
      }),
      fc.record({
        kind: fc.constant('io' as const),
        machine: fc.option(machine, { nil: undefined }),
        atSeconds: at,
        durationSeconds: fc.double({ min: 0.5, max: 15, noNaN: true }),
        mode: fc.constantFrom('slow' as const, 'fail' as const, 'hang' as const),
      }),
    )
    .map((fault) => {
      // exactOptionalPropertyTypes is off, but keep optional fields absent rather than undefined.
      if (fault.kind === 'crash' && fault.restartAfterSeconds === undefined)
        return { kind: 'crash', machine: fault.machine, atSeconds: fault.atSeconds };
      if (fault.kind === 'io' && fault.machine === undefined)
        return { kind: 'io', atSeconds: fault.atSeconds, durationSeconds: fault.durationSeconds, mode: fault.mode };
      return fault;
    });
}

// ---------------------------------------------------------------------------------------------
// The property every paxos simulator test checks

/** Rough cost of one run, for the test timeout (a 70 s world with 6 hosts takes ~100 ms). */
const MS_PER_RUN = 150;

export interface PaxosPropertyOptions {
  name: string;
  testPath: string;
  shape: PaxosScenarioShape;
  /** Runs in CI when SIM_RUNS is not set. */
  runs: number;
  /** Turns each drawn scenario into the one run (for adversarial worlds built on the shape). */
  adjust?: (scenario: PaxosScenario) => PaxosScenario;
}

/** Registers a test: random scenarios of `shape`, no violation may be found. */
export function paxosProperty(options: PaxosPropertyOptions): void {
  it(
    options.name,
    async () => {
      let regressions = 0;
      await checkSimProperty(
        fc.asyncProperty(
          paxosScenario(options.shape).map(options.adjust ?? ((scenario) => scenario)),
          async (scenario) => {
            const result = await runPaxosScenario(scenario);
            regressions += result.stats.leaderRegressions;
            if (result.violations.length > 0) throw new Error(result.report());
          },
        ),
        { testName: options.name, testPath: options.testPath, defaultRuns: options.runs },
      );
      if (regressions > 0)
        process.stderr.write(
          `${options.name}: ${regressions} transient on-disk leader regression(s) (overtaken helper commits)\n`,
        );
    },
    simTimeoutMs(simRunSettings(options.runs).numRuns, MS_PER_RUN),
  );
}

/**
 * Runs one whole-host scenario: machines sharing a lockspace disk and a lease disk, each running
 * the daemon's host core over the real lease code, with its companion, watchdog, clients and the
 * scenario's faults; returns the invariant violations (oracles.ts) and what happened (stats).
 */
import { buildLockspaceArea, buildResourceArea, geometryFor, MIB, type Geometry } from '@leasehold/ondisk';
import { SimWorld } from '../world.js';
import { Machine, SPACE } from './machine.js';
import { HostOracles, type HostRunStats } from './oracles.js';
import { PERSISTENT_RESOURCE, RESOURCES, type HostFault, type HostScenario } from './scenario.js';

const LOCKSPACE_GEOMETRY: Geometry = geometryFor(4096, MIB);
const LEASE_GEOMETRY: Geometry = geometryFor(512, MIB);
/** A machine reset by its watchdog, or powered off, boots again this long after. */
const TRACE_DEPTH = 80;

export interface HostRunResult {
  violations: string[];
  stats: HostRunStats;
  report(): string;
}

export async function runHostScenario(scenario: HostScenario): Promise<HostRunResult> {
  const world = new SimWorld({ seed: scenario.seed, traceDepth: TRACE_DEPTH });
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
  const resources = [...RESOURCES, PERSISTENT_RESOURCE];
  const leaseBytes = new Uint8Array(resources.length * LEASE_GEOMETRY.alignBytes);
  const resourceOffsets = new Map<string, number>();
  resources.forEach((resource, index) => {
    const offset = index * LEASE_GEOMETRY.alignBytes;
    resourceOffsets.set(resource, offset);
    leaseBytes.set(
      buildResourceArea({ spaceName: SPACE, resourceName: resource, geometry: LEASE_GEOMETRY, numHosts: 8 }),
      offset,
    );
  });
  const leaseDisk = world.addDisk({
    name: 'leases',
    sectorSize: LEASE_GEOMETRY.sectorSize,
    sizeBytes: leaseBytes.byteLength,
    initialBytes: leaseBytes,
    ioFaults: { minLatencySeconds: 0, maxLatencySeconds: 0 },
  });
  const oracles = new HostOracles(world, scenario, lockspaceDisk, leaseDisk, resourceOffsets);

  const machines = new Map<string, Machine>();
  for (const plan of scenario.machines) {
    const host = world.addHost({
      machine: plan.machine,
      ioFaults: { minLatencySeconds: 0, maxLatencySeconds: scenario.maxIoLatencySeconds, latencyQuantumSeconds: 0.001 },
    });
    const machine = new Machine(host, plan, scenario, oracles);
    machines.set(plan.machine, machine);
    const watchdog = { watchdogFireTimeoutSeconds: scenario.watchdogFireTimeoutSeconds };
    world.onLifecycle((entry) => {
      if (entry.machine !== plan.machine || entry.kind !== 'crash') return;
      machine.onReset(entry.timeSeconds);
      if (entry.detail === 'watchdog reset') {
        machine.resets++;
        machine.lastResetAtSeconds = entry.timeSeconds;
        oracles.reset(machine, entry.timeSeconds);
        world.after(REBOOT_SECONDS, `reboot ${plan.machine}`, () =>
          host.start(machine.program(), { ...watchdog, clockOffsetSeconds: world.random.uniform(100, 1000) }),
        );
      }
    });
    world.at(0, `boot ${plan.machine}`, () => host.start(machine.program(), watchdog));
  }
  for (const fault of scenario.faults) schedule(world, machines, fault, scenario);

  await world.runUntil(scenario.durationSeconds);
  oracles.finish([...machines.values()]);
  for (const entry of world.lifecycle) {
    if (entry.kind === 'error') oracles.violations.push(`${entry.label}: program threw: ${entry.detail ?? ''}`);
  }
  const violations = oracles.violations;
  return {
    violations,
    stats: oracles.stats,
    report: () =>
      [
        `${violations.length} violation(s):`,
        ...violations.slice(0, 10).map((violation) => `  - ${violation}`),
        '',
        'ownership intervals:',
        ...oracles.tracker.intervals.map(
          (i) =>
            `  ${i.owner} ${i.resource} ${i.mode} ${i.startSeconds.toFixed(3)}..${i.endSeconds.toFixed(3)} [${i.endReason}]`,
        ),
        '',
        'trace (most recent events of every host):',
        world.trace.format(),
      ].join('\n'),
  };
}

const REBOOT_SECONDS = 5;

function schedule(world: SimWorld, machines: Map<string, Machine>, fault: HostFault, scenario: HostScenario): void {
  const machine = machines.get(fault.machine);
  if (machine === undefined) throw new Error(`fault names unknown machine ${fault.machine}`);
  const host = machine.host;
  switch (fault.kind) {
    case 'daemon-crash':
      world.at(fault.atSeconds, `crash the daemon of ${fault.machine}`, () => {
        if (!host.isAlive()) return;
        const boot = host.incarnation;
        machine.crashDaemon();
        world.after(fault.restartAfterSeconds, `restart the daemon of ${fault.machine}`, () => {
          if (host.isAlive(boot)) host.deliver(boot, () => machine.startDaemon('restart'));
        });
      });
      return;
    case 'hang':
      world.at(fault.atSeconds, `hang ${fault.machine}'s storage path`, () => host.ioFaults.hang(world.nowSeconds));
      world.at(fault.atSeconds + fault.durationSeconds, `unhang ${fault.machine}`, () => host.ioFaults.releaseHang());
      return;
    case 'machine-crash':
      world.at(fault.atSeconds, `power off ${fault.machine}`, () => {
        if (!host.isAlive()) return;
        host.crash('power loss');
        world.after(fault.rebootAfterSeconds, `power on ${fault.machine}`, () => {
          if (!host.isAlive())
            host.start(machine.program(), {
              watchdogFireTimeoutSeconds: scenario.watchdogFireTimeoutSeconds,
              clockOffsetSeconds: world.random.uniform(100, 1000),
            });
        });
      });
      return;
    case 'lockstop':
      world.at(fault.atSeconds, `${fault.machine}: stop the lockspace`, () => {
        machine.wantStarted = false;
      });
      world.at(fault.atSeconds + fault.restartAfterSeconds, `${fault.machine}: start the lockspace again`, () => {
        machine.wantStarted = true;
      });
      return;
    default: {
      const never: never = fault;
      throw new Error(`unknown fault ${JSON.stringify(never)}`);
    }
  }
}

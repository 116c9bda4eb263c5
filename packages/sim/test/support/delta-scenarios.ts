import type { DeltaScenario, MemberSpec } from '@leasehold/sim';

/** A quiet world: N = 1, W = 10, small latencies, watchdogs on, no faults. Tests override what they need. */
export function quietScenario(overrides: Partial<DeltaScenario> = {}): DeltaScenario {
  return {
    seed: 1,
    sectorSize: 4096,
    initIoTimeoutSeconds: 1,
    watchdogFireTimeoutSeconds: 10,
    watchdogs: true,
    maxLatencySeconds: 0.02,
    latencyQuantumSeconds: 0,
    durationSeconds: 120,
    members: [],
    faults: [],
    ...overrides,
  };
}

/** A member that joins at `startAtSeconds` with N = 1 and its own name. */
export function memberOf(machine: string, hostId: number, overrides: Partial<MemberSpec> = {}): MemberSpec {
  return {
    machine,
    hostId,
    // Distinct per machine: sharing a name is a misconfiguration tests opt into.
    nameGroup: machine.split('').reduce((sum, char, index) => sum + char.charCodeAt(0) * (index + 1) * 1000, hostId),
    ioTimeoutSeconds: 1,
    startAtSeconds: 0,
    clockOffsetSeconds: 1000 + 37.25 * machine.charCodeAt(machine.length - 1),
    ...overrides,
  };
}

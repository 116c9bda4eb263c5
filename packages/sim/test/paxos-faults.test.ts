/**
 * Simulator property of the paxos resource leases under faults: crashes (with restarts), pauses
 * (some past the watchdog), slow, failing and hanging I/O, 2-6 hosts contending. The invariants
 * are those of paxos-safety.test.ts.
 */
import { describe } from 'vitest';
import { paxosProperty } from './paxos-support.js';

describe('paxos resource leases in the simulator', () => {
  paxosProperty({
    name: 'paxos: contention with crashes, pauses and slow, failing and hanging I/O',
    testPath: 'packages/sim/test/paxos-faults.test.ts',
    shape: { minHosts: 2, maxHosts: 6, maxOps: 4, maxFaults: 4, durationSeconds: 70, faults: true, maxLateJoiners: 2 },
    runs: 600,
  });
});

/**
 * Simulator properties of the paxos resource leases (issue 4), on the real lease code:
 *   - never two exclusive holders, nor an exclusive and a shared holder, at the same time;
 *   - lver never decreases as holders see it: an acquire that starts after a grant gets a larger
 *     lver; one lver is never committed with two different owners;
 *   - no unexpected failures.
 * (The on-disk leader can in principle go back for a moment when a helper's commit is overtaken;
 * paxos-support.ts counts those; acquire-ballot.ts explains how they are kept rare.)
 * Sized for CI; `npm run sim:long` (SIM_RUNS) runs many more. A failure prints a replay command.
 * The faulty-world property is in paxos-faults.test.ts (a separate file runs in parallel).
 */
import { describe } from 'vitest';
import { paxosProperty } from './paxos-support.js';

const TEST_PATH = 'packages/sim/test/paxos-safety.test.ts';

describe('paxos resource leases in the simulator', () => {
  paxosProperty({
    name: 'paxos: contention without faults, 2-8 hosts',
    testPath: TEST_PATH,
    shape: { minHosts: 2, maxHosts: 8, maxOps: 5, maxFaults: 0, durationSeconds: 40, faults: false, maxLateJoiners: 2 },
    runs: 600,
  });
  paxosProperty({
    name: 'paxos: 8 hosts with faults',
    testPath: TEST_PATH,
    shape: { minHosts: 8, maxHosts: 8, maxOps: 3, maxFaults: 3, durationSeconds: 60, faults: true, maxLateJoiners: 2 },
    runs: 150,
  });
});

/**
 * Whole hosts in the simulator: two or three machines, each running the daemon's host core over
 * the real lease code, with a watchdog companion, a watchdog device, clients that acquire, hold,
 * release, crash and ignore SIGTERM, persistent leases, daemon crashes and restarts with state,
 * machine resets, lockstops and hung storage paths. Every schedule is checked against the
 * invariants of packages/sim/src/hosts/oracles.ts. Non-vacuity: over the runs, leases must have
 * been granted, lockspaces lost with leases in them, leases adopted after restarts, lockstops done.
 */
import { describe } from 'vitest';
import { hostProperty } from './hosts-support.js';

describe('whole hosts in the simulator', () => {
  // 1000 here and 1000 in hosts-restarts.test.ts: 2000 schedules in every CI, in two files that run in parallel.
  hostProperty({
    name: 'whole hosts: host core invariants under crashes, restarts, resets, lockstops and hung storage',
    testPath: 'packages/sim/test/hosts-properties.test.ts',
    runs: 1000,
    focus: 'mixed',
  });
});

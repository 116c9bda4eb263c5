/**
 * Whole hosts in the simulator, weighted towards daemon crashes and restarts (resume and adoption
 * of the leases recorded in state, or old holders stopped before a new generation joins), with
 * lockstops and hung storage. Invariants: packages/sim/src/hosts/oracles.ts.
 */
import { describe } from 'vitest';
import { hostProperty } from './hosts-support.js';

describe('whole hosts in the simulator', () => {
  hostProperty({
    name: 'whole hosts: daemon restarts adopt exactly what is held, or stop the old holders first',
    testPath: 'packages/sim/test/hosts-restarts.test.ts',
    runs: 1000,
    focus: 'restarts',
  });
});

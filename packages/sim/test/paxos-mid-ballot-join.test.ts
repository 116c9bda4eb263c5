/**
 * The ballots read only the dblocks of host_ids in use (lease/src/paxos/ballot-range.ts). Here the
 * simulator tries to break that: the hosts with the highest host_ids join while the others run
 * ballots on a lease with num_hosts 2000 (so ballots read partial ranges), with short holds and
 * gaps for many overlapping ballots. In the adversarial worlds the early hosts' I/O turns slow
 * when the newcomers arrive: a newcomer's whole ballot can then fit between an early host's
 * reads and its next write, which is exactly the interleaving a skipped dblock would let through,
 * and the early hosts' partial reads often complete past their window (the fallback to whole reads).
 *
 * The last test shows the window is what keeps them apart: the same adversarial worlds with a
 * membership read trusted far longer than a newcomer's join wait (2 x io_timeout) end with two
 * owners of one lver.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simTimeoutMs } from '@leasehold/sim';
import {
  paxosProperty,
  paxosScenario,
  runPaxosScenario,
  type PaxosFault,
  type PaxosScenario,
  type PaxosScenarioShape,
} from './paxos-support.js';

const TEST_PATH = 'packages/sim/test/paxos-mid-ballot-join.test.ts';

const SHAPE: PaxosScenarioShape = {
  minHosts: 3,
  maxHosts: 6,
  maxOps: 10,
  maxFaults: 2,
  durationSeconds: 40,
  faults: true,
  maxLateJoiners: 3,
  leaseNumHosts: [2000],
  maxHoldSeconds: 0.5,
  maxGapSeconds: 0.5,
};

/** Busier still: many very short holds and gaps, so newcomers meet ballots in flight. */
const ADVERSARIAL_SHAPE: PaxosScenarioShape = {
  ...SHAPE,
  faults: false,
  minHosts: 4,
  maxOps: 20,
  maxHoldSeconds: 0.2,
  maxGapSeconds: 0.2,
};

/** Late joiners start at 4 s or later (paxos-support.ts); the early hosts slow down from then on. */
const SLOW_FROM_SECONDS = 4;
const SLOW_FOR_SECONDS = 30;
const SLOW_MAX_LATENCY_SECONDS = 1;

/** The adversarial world: every early host's I/O slow while the newcomers arrive and contend. */
function slowEarlyHosts(scenario: PaxosScenario): PaxosScenario {
  const slow: PaxosFault[] = scenario.hosts
    .filter((host) => host.startAtSeconds < SLOW_FROM_SECONDS)
    .map((host) => ({
      kind: 'io',
      machine: host.machine,
      atSeconds: SLOW_FROM_SECONDS,
      durationSeconds: SLOW_FOR_SECONDS,
      mode: 'slow',
      slowMaxLatencySeconds: SLOW_MAX_LATENCY_SECONDS,
    }));
  return { ...scenario, faults: [...scenario.faults, ...slow] };
}

/** A membership read trusted for the whole run: newcomers are never seen. */
const UNSAFE_VALID_SECONDS = 1000;
const UNSAFE_WORLDS = 300;
const UNSAFE_SEED = 4242;

describe('hosts joining mid-ballot', () => {
  paxosProperty({
    name: 'paxos: late joiners with the highest host_ids race ballots that read only the host_ids in use',
    testPath: TEST_PATH,
    shape: SHAPE,
    runs: 200,
  });
  paxosProperty({
    name: 'paxos: the same, with the early hosts slowed down as the newcomers arrive',
    testPath: TEST_PATH,
    shape: ADVERSARIAL_SHAPE,
    runs: 200,
    adjust: slowEarlyHosts,
  });

  it(
    'trusting a membership read longer than the join wait lets two hosts own the lease',
    async () => {
      const worlds = fc.sample(paxosScenario(ADVERSARIAL_SHAPE).map(slowEarlyHosts), {
        seed: UNSAFE_SEED,
        numRuns: UNSAFE_WORLDS,
      });
      let broken = 0;
      let firstViolation = '';
      for (const scenario of worlds) {
        if (!scenario.hosts.some((host) => host.startAtSeconds >= SLOW_FROM_SECONDS)) continue;
        const unsafe = await runPaxosScenario({ ...scenario, membershipValidSeconds: UNSAFE_VALID_SECONDS });
        if (unsafe.violations.length === 0) continue;
        broken++;
        firstViolation ||= unsafe.violations[0]!;
        // The same world with the real window: no violation.
        const safe = await runPaxosScenario(scenario);
        if (safe.violations.length > 0)
          throw new Error(`seed ${scenario.seed}: the safe window broke too\n${safe.report()}`);
      }
      process.stderr.write(
        `unsafe membership window: ${broken} of ${worlds.length} worlds broken; first: ${firstViolation}\n`,
      );
      expect(broken).toBeGreaterThan(0);
    },
    simTimeoutMs(UNSAFE_WORLDS, 400),
  );
});

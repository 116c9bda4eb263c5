/**
 * The delta oracle's checks, fed by hand: each one must catch the violation it exists for, so that
 * a green property means something.
 */
import { describe, expect, it } from 'vitest';
import { encodeDeltaSector, initialDeltaLeader } from '@leasehold/ondisk';
import {
  checkFailureDetection,
  checkNoEarlyDead,
  checkSilence,
  createLockspace,
  DeltaObservations,
  hostIdResource,
  leasesOf,
  SimWorld,
  type DeltaMember,
} from '@leasehold/sim';

const N = 1;
const W = 10;
const LATENCY_SECONDS = 0.01;

function setup(): {
  world: SimWorld;
  observations: DeltaObservations;
  write: (writer: string, slot: number, generation: bigint, timestamp: bigint) => void;
  sample: (reader: string) => void;
} {
  const world = new SimWorld({ seed: 1 });
  const lockspace = createLockspace(world, { sectorSize: 4096, initIoTimeoutSeconds: N });
  const observations = new DeltaObservations(world, lockspace);
  const { sectorSize } = lockspace.geometry;
  const write = (writer: string, slot: number, generation: bigint, timestamp: bigint): void => {
    const leader = {
      ...initialDeltaLeader(lockspace.spaceName, lockspace.geometry, N),
      ownerId: BigInt(slot),
      ownerGeneration: generation,
      timestamp,
      resourceName: writer,
    };
    lockspace.disk.land({
      opId: 0,
      writer,
      offsetBytes: (slot - 1) * sectorSize,
      data: encodeDeltaSector(leader, null, sectorSize),
      issuedAtSeconds: world.nowSeconds,
      landedAtSeconds: world.nowSeconds,
      whole: true,
    });
  };
  const sample = (reader: string): void =>
    lockspace.disk.reportRead({
      opId: 0,
      reader,
      offsetBytes: 0,
      lengthBytes: lockspace.geometry.alignBytes,
      issuedAtSeconds: world.nowSeconds,
      sampledAtSeconds: world.nowSeconds,
      effectSequence: lockspace.disk.nextEffectSequence(),
      deliveredAtSeconds: world.nowSeconds,
    });
  return { world, observations, write, sample };
}

function member(label: string, hostId: number): DeltaMember {
  return {
    label,
    machine: label.split('#')[0] as string,
    hostId,
    hostName: label,
    ioTimeoutSeconds: N,
    watchdogFireTimeoutSeconds: W,
  };
}

describe('delta oracle', () => {
  it('flags a DEAD report that comes before 8N + W after the last write, and not one after', async () => {
    const { world, observations, write, sample } = setup();
    observations.join(member('o#1', 2));
    observations.join(member('a#1', 1));
    world.at(1, 'write', () => write('a#1', 1, 1n, 100n));
    world.at(2, 'sample', () => sample('o#1'));
    const report = (atSeconds: number): void => {
      world.at(atSeconds, 'report', () => {
        sample('o#1');
        observations.report({
          observer: 'o#1',
          slot: 1,
          state: 'DEAD',
          generation: 1n,
          hostName: 'a#1',
          timestamp: 100n,
          source: 'poll',
        });
      });
    };
    report(1 + 8 * N + W - 0.5);
    report(1 + 8 * N + W + 0.5);
    await world.runUntil(30);
    const violations = checkNoEarlyDead(observations, LATENCY_SECONDS, new Map());
    expect(violations.map((violation) => violation.kind)).toEqual(['early-dead']);
  });

  it('flags a lease that writes again after more than 8N of silence', async () => {
    const { world, observations, write } = setup();
    world.at(1, 'acquire', () => write('a#1', 1, 1n, 100n));
    world.at(3, 'renew', () => write('a#1', 1, 1n, 102n));
    world.at(3 + 8 * N + 1, 'late renew', () => write('a#1', 1, 1n, 112n));
    await world.runUntil(30);
    const { violations } = checkSilence(leasesOf(observations), () => W);
    expect(violations.map((violation) => violation.kind)).toEqual(['silence']);
  });

  it('flags a healthy observer that never reports FAIL for a silent host, and accepts one that does', async () => {
    for (const reportsFail of [false, true]) {
      const { world, observations, write, sample } = setup();
      const observer = member('o#1', 2);
      observations.join(observer);
      observations.ownership.begin(hostIdResource(2), 'o#1', 'exclusive', 0, Infinity);
      world.at(1, 'last write', () => write('a#1', 1, 1n, 100n));
      for (let renewalSeconds = 2; renewalSeconds < 40; renewalSeconds += 2 * N) {
        world.at(renewalSeconds, 'renewal sample', () => {
          sample('o#1');
          if (!reportsFail) return;
          const sinceSeconds = world.nowSeconds - 2;
          const state = sinceSeconds > 8 * N + W ? 'DEAD' : sinceSeconds > 8 * N ? 'FAIL' : 'LIVE';
          observations.report({
            observer: 'o#1',
            slot: 1,
            state,
            generation: 1n,
            hostName: 'a#1',
            timestamp: 100n,
            source: 'change',
          });
        });
      }
      await world.runUntil(40);
      observations.finish();
      const result = checkFailureDetection(observations, {
        maxHealthyLatencySeconds: LATENCY_SECONDS,
        disturbances: [],
      });
      expect(result.checkedPairs).toBe(1);
      expect(result.violations.map((violation) => violation.kind)).toEqual(reportsFail ? [] : ['late-fail']);
    }
  });
});

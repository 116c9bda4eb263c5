import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeOverlap,
  FastCheckTieChooser,
  OwnershipTracker,
  SimWorld,
  checkSimProperty,
  replayCommand,
  simRunSettings,
} from '@leasehold/sim';
import { naiveMutex } from './support/naive-mutex.js';

const SECTOR_BYTES = 512;
const ROUNDS = 6;

async function runNaiveMutex(seed: number, hosts: number, world?: SimWorld): Promise<string[]> {
  const sim = world ?? new SimWorld({ seed });
  sim.addDisk({ name: 'lock', sectorSize: SECTOR_BYTES, sizeBytes: SECTOR_BYTES });
  const tracker = new OwnershipTracker();
  for (let index = 1; index <= hosts; index++) {
    sim
      .addHost({
        machine: `h${index}`,
        ioFaults: { minLatencySeconds: 0, maxLatencySeconds: 0.2, latencyQuantumSeconds: 0.1 },
      })
      .start(naiveMutex(tracker, ROUNDS));
  }
  await sim.runUntil(30);
  tracker.finish(sim.nowSeconds);
  return tracker.overlaps().map(describeOverlap);
}

describe('the simulator finds a read-then-write race', () => {
  it('with PRNG-chosen latencies and tie order', async () => {
    const details = await fc.check(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 2, max: 3 }), async (seed, hosts) => {
        const overlaps = await runNaiveMutex(seed, hosts);
        if (overlaps.length > 0) throw new Error(overlaps.join('\n'));
      }),
      { numRuns: 200, seed: 12345 },
    );
    expect(details.failed).toBe(true);
    expect(details.numRuns).toBeLessThan(50);
  });

  it('with fast-check scheduler-chosen order of simultaneous events', async () => {
    const details = await fc.check(
      fc.asyncProperty(fc.scheduler(), async (scheduler) => {
        const world = new SimWorld({ seed: 7, tieChooser: new FastCheckTieChooser(scheduler) });
        const overlaps = await runNaiveMutex(7, 2, world);
        if (overlaps.length > 0) throw new Error(overlaps.join('\n'));
      }),
      { numRuns: 200, seed: 54321 },
    );
    expect(details.failed).toBe(true);
    expect(details.numRuns).toBeLessThan(50);
  });
});

describe('replay helper', () => {
  it('reads SIM_RUNS, SIM_SEED, SIM_PATH and SIM_SHRINK', () => {
    expect(simRunSettings(100, {})).toEqual({ numRuns: 100, seed: undefined, path: undefined, shrink: true });
    expect(simRunSettings(100, { SIM_RUNS: '7', SIM_SEED: '-3', SIM_PATH: '4:0', SIM_SHRINK: '0' })).toEqual({
      numRuns: 7,
      seed: -3,
      path: '4:0',
      shrink: false,
    });
    expect(() => simRunSettings(1, { SIM_PATH: '1' })).toThrow(/SIM_SEED/);
    expect(() => simRunSettings(1, { SIM_RUNS: 'many' })).toThrow(/integer/);
  });

  it('prints a one-line replay command', () => {
    expect(replayCommand({ testName: "two hosts' race", defaultRuns: 1 }, 123, '0:1')).toBe(
      "SIM_SEED=123 SIM_PATH=0:1 npx vitest run packages/sim -t 'two hosts'\\'' race'",
    );
  });

  it('a failing property reports seed, path, replay command and the failure, and replays from them', async () => {
    const property = fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), async (value) => {
      if (value > 500) throw new Error(`value ${value} is too big`);
    });
    const stderrWrite = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    let message = '';
    try {
      await checkSimProperty(property, { testName: 'demo', defaultRuns: 100, env: { SIM_SEED: '99' } });
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    } finally {
      process.stderr.write = stderrWrite;
    }
    expect(message).toMatch(/seed 99, path \S+/);
    expect(message).toContain('value 501 is too big');
    const path = /path (\S+)/.exec(message)?.[1] ?? '';
    expect(message).toContain(`replay: SIM_SEED=99 SIM_PATH=${path} npx vitest run packages/sim -t 'demo'`);
    await expect(
      checkSimProperty(property, {
        testName: 'demo',
        defaultRuns: 100,
        env: { SIM_SEED: '99', SIM_PATH: path, SIM_SHRINK: '0' },
      }),
    ).rejects.toThrow(/value 501 is too big/);
  });
});

describe('replay command', () => {
  it('escapes regular-expression characters of the test name', () => {
    expect(replayCommand({ testName: 'DEAD after 8N + W (observer)', defaultRuns: 1 }, 1, '2')).toBe(
      "SIM_SEED=1 SIM_PATH=2 npx vitest run packages/sim -t 'DEAD after 8N \\+ W \\(observer\\)'",
    );
  });
});

import { describe, expect, it } from 'vitest';
import { SimWorld, SimLivelockError, type HostContext } from '@leasehold/sim';

describe('SimWorld virtual time', () => {
  it('runs timers in time order and leaves the clock where it was asked to stop', async () => {
    const world = new SimWorld({ seed: 1 });
    const seen: string[] = [];
    world.at(5, 'b', () => seen.push(`b@${world.nowSeconds}`));
    world.at(2, 'a', () => seen.push(`a@${world.nowSeconds}`));
    world.at(9, 'c', () => seen.push(`c@${world.nowSeconds}`));
    await world.runUntil(6);
    expect(seen).toEqual(['a@2', 'b@5']);
    expect(world.nowSeconds).toBe(6);
    await world.runUntil(100);
    expect(seen).toEqual(['a@2', 'b@5', 'c@9']);
  });

  it('gives each host its own monotonic clock over the one timeline', async () => {
    const world = new SimWorld({ seed: 2 });
    const h1 = world.addHost({ machine: 'h1', clockOffsetSeconds: 1000 });
    const h2 = world.addHost({ machine: 'h2', clockOffsetSeconds: 77.5 });
    const wakes: [string, number, number][] = [];
    const sleeper = async (context: HostContext): Promise<void> => {
      await context.clock.sleep(3);
      wakes.push([context.label, world.nowSeconds, context.clock.nowSeconds()]);
    };
    h1.start(sleeper);
    h2.start(sleeper);
    await world.runUntil(10);
    expect(wakes).toHaveLength(2);
    expect(wakes).toContainEqual(['h1#1', 3, 1003]);
    expect(wakes).toContainEqual(['h2#1', 3, 80.5]);
    expect(h1.clock.toGlobalSeconds(1003)).toBe(3);
  });

  it('lets host code react to an event before the next event runs', async () => {
    const world = new SimWorld({ seed: 3 });
    const order: string[] = [];
    world.addHost({ machine: 'h1' }).start(async (context) => {
      await context.clock.sleep(1);
      order.push('woke');
      await Promise.resolve();
      await Promise.resolve();
      order.push('after microtasks');
    });
    world.at(1, 'later at the same moment?', () => order.push('world event'));
    world.at(1.000001, 'next', () => order.push('next event'));
    await world.runUntil(2);
    expect(order.indexOf('after microtasks')).toBeLessThan(order.indexOf('next event'));
  });

  it('stops a program that never lets time advance', async () => {
    const world = new SimWorld({ seed: 4, maxEvents: 1000 });
    world.addHost({ machine: 'h1' }).start(async (context) => {
      for (;;) await context.clock.sleep(0);
    });
    await expect(world.runUntil(1)).rejects.toBeInstanceOf(SimLivelockError);
  });

  it('is a pure function of its seed', async () => {
    const runOnce = async (seed: number): Promise<string> => {
      const world = new SimWorld({ seed });
      world.addDisk({ name: 'shared', sectorSize: 512, sizeBytes: 512 * 8 });
      for (const machine of ['h1', 'h2', 'h3']) {
        world
          .addHost({ machine, ioFaults: { maxLatencySeconds: 0.5, failProbability: 0.1 } })
          .start(async (context) => {
            const disk = context.disk();
            for (let round = 0; round < 20; round++) {
              try {
                await disk.write(512 * (round % 8), new Uint8Array(512).fill(round));
                await disk.read(0, 512 * 8);
              } catch {
                context.note('io failed');
              }
              await context.clock.sleep(context.random.uniform(0, 1));
            }
          });
      }
      await world.runUntil(100);
      return world.trace.format();
    };
    const first = await runOnce(42);
    expect(await runOnce(42)).toBe(first);
    expect(await runOnce(43)).not.toBe(first);
  });
});

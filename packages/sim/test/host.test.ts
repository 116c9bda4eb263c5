import { describe, expect, it } from 'vitest';
import { SimWorld, type HostContext } from '@leasehold/sim';

/** A program that ticks every second and records the local and global time of each tick. */
function ticker(ticks: [number, number][]) {
  return async (context: HostContext): Promise<void> => {
    for (;;) {
      await context.clock.sleep(1);
      ticks.push([context.clock.nowSeconds(), context.clock.toGlobalSeconds(context.clock.nowSeconds())]);
    }
  };
}

describe('SimHost faults', () => {
  it('crash drops pending timers for good', async () => {
    const world = new SimWorld({ seed: 1 });
    const host = world.addHost({ machine: 'h1', clockOffsetSeconds: 0 });
    const ticks: [number, number][] = [];
    host.start(ticker(ticks));
    world.at(3.5, 'crash', () => host.crash());
    await world.runUntil(10);
    expect(ticks.map(([, global]) => global)).toEqual([1, 2, 3]);
    expect(host.state).toBe('crashed');
    expect(world.lifecycle.map((entry) => entry.kind)).toEqual(['start', 'crash']);
  });

  it('pause holds deliveries while the clock runs on, and resume hands them over', async () => {
    const world = new SimWorld({ seed: 2 });
    const host = world.addHost({ machine: 'h1', clockOffsetSeconds: 500 });
    const ticks: [number, number][] = [];
    host.start(ticker(ticks));
    world.at(2.5, 'pause', () => host.pause());
    world.at(7.25, 'resume', () => host.resume());
    await world.runUntil(9.5);
    // The tick due at 3 is delivered at 7.25 and sees the clock jump, like a SIGCONTed process.
    expect(ticks.map(([local]) => local)).toEqual([501, 502, 507.25, 508.25, 509.25]);
  });

  it('restart starts a new incarnation whose old timers never fire', async () => {
    const world = new SimWorld({ seed: 3 });
    const host = world.addHost({ machine: 'h1', clockOffsetSeconds: 0 });
    const seen: string[] = [];
    host.start(async (context) => {
      await context.clock.sleep(5);
      seen.push(context.label);
    });
    world.at(1, 'restart', () =>
      host.restart(
        async (context) => {
          await context.clock.sleep(1);
          seen.push(`${context.label} offset ${context.clock.offsetSeconds}`);
        },
        { clockOffsetSeconds: 10 },
      ),
    );
    await world.runUntil(20);
    expect(seen).toEqual(['h1#2 offset 10']);
    expect(world.lifecycle.map((entry) => `${entry.kind} ${entry.label}`)).toEqual([
      'start h1#1',
      'crash h1#1',
      'start h1#2',
      'exit h1#2',
    ]);
  });

  it('records a program that throws', async () => {
    const world = new SimWorld({ seed: 4 });
    world.addHost({ machine: 'h1' }).start(async () => {
      throw new TypeError('oops');
    });
    await world.runUntil(1);
    const last = world.lifecycle.at(-1);
    expect(last?.kind).toBe('error');
    expect(last?.detail).toContain('TypeError: oops');
  });

  it('the watchdog resets a host whose expiry passed, even while it is paused', async () => {
    const world = new SimWorld({ seed: 5 });
    const host = world.addHost({ machine: 'h1', clockOffsetSeconds: 100 });
    host.start(
      async (context) => {
        context.watchdog.setExpiry(context.clock.nowSeconds() + 8);
        await context.clock.sleep(1000);
      },
      { watchdogFireTimeoutSeconds: 5 },
    );
    world.at(2, 'pause', () => host.pause());
    await world.runUntil(100);
    const fire = world.lifecycle.find((entry) => entry.kind === 'watchdog-fire');
    expect(fire?.timeSeconds).toBe(13);
    expect(host.state).toBe('crashed');
  });

  it('the watchdog does not fire while the expiry keeps moving forward', async () => {
    const world = new SimWorld({ seed: 6 });
    const host = world.addHost({ machine: 'h1' });
    host.start(
      async (context) => {
        for (let round = 0; round < 20; round++) {
          context.watchdog.setExpiry(context.clock.nowSeconds() + 8);
          await context.clock.sleep(2);
        }
        context.watchdog.disarm();
      },
      { watchdogFireTimeoutSeconds: 5 },
    );
    await world.runUntil(200);
    expect(world.lifecycle.map((entry) => entry.kind)).toEqual(['start', 'exit']);
  });
});

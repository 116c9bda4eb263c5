/**
 * The watchdog companion crashes (SIGKILL) while a lockspace is registered. The kernel closes the
 * device without the magic character, which leaves it counting: the host is reset W seconds later,
 * unless a restarted companion gets the daemon's registrations back and pets the device before. A
 * companion restarted without an operator clearing the crash marker refuses to start.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  clusterSupported,
  FIRE_TIMEOUT_SECONDS,
  LOAD_SLACK_SECONDS,
  monotonicSeconds,
  printTimeline,
  sleep,
  TestCluster,
  waitFor,
  type DeviceEvent,
} from './support/cluster.js';

const supported = clusterSupported();
/** The test device looks at its timer every 20 ms; allow for that and a busy machine. */
const FIRE_LATENESS_SECONDS = 0.5;
let cluster: TestCluster | undefined;

/** One host with the lockspace joined and R1 held by a client. */
async function startHolding(): Promise<TestCluster> {
  cluster = new TestCluster();
  cluster.start(1);
  cluster.lockstart('host1');
  const holder = cluster.holdR1('host1', 'echo held; exec sleep 1000');
  await holder.next('text', 30_000);
  return cluster;
}

async function crashCompanion(c: TestCluster): Promise<{ crashedAt: number; close: DeviceEvent }> {
  const crashedAt = monotonicSeconds();
  c.cluster(['crash', 'host1', '--process', 'companion']);
  const close = await waitFor(
    'the device to see the close',
    () => c.deviceEvents('host1').find((event) => event.type === 'unclean-close' && event.atSeconds >= crashedAt),
    5000,
  );
  return { crashedAt, close };
}

afterEach(() => {
  cluster?.stop();
  cluster = undefined;
});

describe('a crashed watchdog companion', () => {
  it('runs where emulated hosts can (root, unshare, nsenter): never skipped', () => {
    expect(supported, 'these tests need root with unshare --pid --mount and nsenter').toBe(true);
  });
  it('gets the host reset W seconds after its last keepalive (the crash closed the device unclean)', async () => {
    const c = await startHolding();
    const { crashedAt, close } = await crashCompanion(c);
    const fire = await waitFor('the device to fire', () => c.fires('host1')[0], (FIRE_TIMEOUT_SECONDS + 10) * 1000);
    const reset = await waitFor(
      'the reset to finish',
      () => c.deviceEvents('host1').find((event) => event.type === 'reset'),
      10_000,
    );
    printTimeline(`companion of host1 crashed, not restarted (W ${FIRE_TIMEOUT_SECONDS}); from the crash`, crashedAt, [
      ['companion SIGKILLed', crashedAt],
      ['device closed unclean by the kernel (= last keepalive)', close.atSeconds],
      ['watchdog fires', fire.atSeconds],
      ['reset done', reset?.atSeconds],
    ]);
    expect(fire.atSeconds - close.atSeconds).toBeGreaterThanOrEqual(FIRE_TIMEOUT_SECONDS);
    expect(fire.atSeconds - close.atSeconds).toBeLessThanOrEqual(FIRE_TIMEOUT_SECONDS + FIRE_LATENESS_SECONDS);
    expect(reset['leftAlive']).toEqual([]);
    expect(c.hostUp('host1')).toBe(false);
  }, 90_000);

  it('refuses to restart after its unclean exit (marker), so the reset still happens on time', async () => {
    const c = await startHolding();
    const { crashedAt, close } = await crashCompanion(c);
    const restart = c.cli(['testing', 'cluster', 'restart', 'host1', '--process', 'companion', '--dir', c.dir]);
    const refusedAt = monotonicSeconds();
    expect(restart.status).not.toBe(0);
    expect(restart.stderr).toContain('UNCLEAN_EXIT');
    const fire = await waitFor('the device to fire', () => c.fires('host1')[0], (FIRE_TIMEOUT_SECONDS + 10) * 1000);
    printTimeline(
      `companion of host1 crashed, restart refused (W ${FIRE_TIMEOUT_SECONDS}); from the crash`,
      crashedAt,
      [
        ['companion SIGKILLed', crashedAt],
        ['device closed unclean by the kernel', close.atSeconds],
        ['restarted companion refused to start (marker)', refusedAt],
        ['watchdog fires', fire.atSeconds],
      ],
    );
    expect(fire.atSeconds - close.atSeconds).toBeGreaterThanOrEqual(FIRE_TIMEOUT_SECONDS);
    expect(fire.atSeconds - close.atSeconds).toBeLessThanOrEqual(FIRE_TIMEOUT_SECONDS + FIRE_LATENESS_SECONDS);
    expect(c.hostUp('host1')).toBe(false);
  }, 90_000);

  it('does not get the host reset when an operator clears the marker and the restarted companion gets the registrations back in time', async () => {
    const c = await startHolding();
    const { crashedAt, close } = await crashCompanion(c);
    const clear = c.exec('host1', ['leasehold', 'watchdog', '--clear-marker']);
    expect(clear.status).toBe(0);
    expect(clear.stdout).toMatch(/^removed \/dev\/shm\/leasehold-watchdog/);
    c.cluster(['restart', 'host1', '--process', 'companion']);
    const restartedAt = monotonicSeconds();
    const petting = await waitFor(
      'the restarted companion to pet the device',
      () => {
        const opened = c
          .deviceEvents('host1')
          .filter((event) => event.type === 'open' && event.atSeconds > close.atSeconds);
        // The start-up probe opens and disarms; the replayed registration opens again and pets.
        return opened.length >= 2 ? opened.at(-1) : undefined;
      },
      FIRE_TIMEOUT_SECONDS * 1000,
    );
    // Stay past the moment the old close would have fired.
    await sleep(Math.max(0, (close.atSeconds + FIRE_TIMEOUT_SECONDS + LOAD_SLACK_SECONDS - monotonicSeconds()) * 1000));
    printTimeline(
      `companion of host1 crashed, marker cleared, restarted (W ${FIRE_TIMEOUT_SECONDS}); from the crash`,
      crashedAt,
      [
        ['companion SIGKILLed', crashedAt],
        ['device closed unclean by the kernel', close.atSeconds],
        ['companion restarted', restartedAt],
        ['device opened again with the replayed registration: petting', petting.atSeconds],
        ['the old close would have fired', close.atSeconds + FIRE_TIMEOUT_SECONDS],
      ],
    );
    expect(petting.atSeconds).toBeLessThan(close.atSeconds + FIRE_TIMEOUT_SECONDS);
    expect(c.fires('host1')).toEqual([]);
    expect(c.hostUp('host1')).toBe(true);
    expect(c.log('host1', 'daemon.log')).toContain('reconnected to the watchdog companion');
    const status = JSON.parse(
      c.exec('host1', [
        'leasehold',
        'watchdog',
        '--socket',
        `${c.hostDir('host1')}/watchdog.sock`,
        '--status',
        '--json',
      ]).stdout,
    ) as {
      deviceState: string;
      registrations: Array<{ lockspace: string; lost: boolean }>;
    };
    expect(status.deviceState).toBe('petting');
    expect(status.registrations).toEqual([expect.objectContaining({ lockspace: 'LS', lost: false })]);
  }, 90_000);
});

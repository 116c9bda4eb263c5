/**
 * The companion in this process, with a test watchdog device (also in this process, resetting no
 * host) and the daemon's own link: registration, petting, the fire time when renewals stop,
 * disarming, and the start-up refusals.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWatchdogLink, type WatchdogLink } from '@leasehold/daemon';
import {
  clearMarker,
  monotonicSeconds,
  runCompanion,
  runTestDevice,
  SocketWatchdogDevice,
  type DeviceEvent,
  type RunningCompanion,
} from '@leasehold/watchdog';

const W = 4;
/** wdmd's interval for W < 10. */
const INTERVAL = 1;
const logger = pino({ level: 'silent' });

let dir: string;
let stopDevice: (() => Promise<void>) | undefined;
let companion: RunningCompanion | undefined;
let link: WatchdogLink | undefined;

function paths(): { device: string; control: string; events: string; socket: string; marker: string } {
  return {
    device: join(dir, 'device.sock'),
    control: join(dir, 'control.sock'),
    events: join(dir, 'events.jsonl'),
    socket: join(dir, 'watchdog.sock'),
    marker: join(dir, 'marker'),
  };
}

function events(): DeviceEvent[] {
  const path = paths().events;
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as DeviceEvent)
    : [];
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function startCompanion(): Promise<RunningCompanion> {
  const p = paths();
  return runCompanion({
    devicePath: p.device,
    socketPath: p.socket,
    markerPath: p.marker,
    fireTimeoutSeconds: W,
    logger,
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leasehold-companion-test-'));
  const p = paths();
  const device = await runTestDevice({
    socketPath: p.device,
    controlPath: p.control,
    timeoutSeconds: 60,
    hostFile: join(dir, 'no-host.json'),
    eventsPath: p.events,
  });
  stopDevice = () => device.close();
});

afterEach(async () => {
  await link?.close();
  link = undefined;
  if (companion !== undefined) {
    await companion.stop();
    companion = undefined;
  }
  await stopDevice?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('the watchdog companion', () => {
  it('checks the device at start (timeout set to W, then disarmed) and creates its marker', async () => {
    companion = await startCompanion();
    expect(events().map((event) => event.type)).toEqual(['open', 'set-timeout', 'magic-close']);
    expect(events()[1]).toMatchObject({ timeoutSeconds: W });
    expect(JSON.parse(readFileSync(paths().marker, 'utf8'))).toMatchObject({ pid: process.pid });
  });

  it('pets while the daemon renews; when renewals stop, the device fires one interval before the expiry + W', async () => {
    companion = await startCompanion();
    link = createWatchdogLink('companion', logger, { socketPath: paths().socket, fireTimeoutSeconds: W });
    await link.start();
    await link.prepareLockspace('LS');
    let expiry = monotonicSeconds() + 3;
    link.lockspaceAdded('LS', expiry);
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expiry = monotonicSeconds() + 3;
      link.lockspaceRenewed('LS', expiry);
    }
    expect(companion.status().deviceState).toBe('petting');
    // Renewals stop now.
    const fire = await waitFor('the device to fire', () => events().find((event) => event.type === 'fire'), 10_000);
    const close = events().find((event) => event.type === 'unclean-close')!;
    expect(close.atSeconds).toBeGreaterThanOrEqual(expiry - INTERVAL - 0.01);
    expect(close.atSeconds).toBeLessThan(expiry);
    expect(fire.atSeconds).toBeGreaterThanOrEqual(close.atSeconds + W);
    expect(fire.atSeconds).toBeLessThan(expiry + W);
    link.lockspaceRemoved('LS');
  }, 20_000);

  it('disarms when the last registration is removed, and only then agrees to stop (removing its marker)', async () => {
    companion = await startCompanion();
    link = createWatchdogLink('companion', logger, { socketPath: paths().socket, fireTimeoutSeconds: W });
    await link.start();
    link.lockspaceAdded('A', monotonicSeconds() + 30);
    link.lockspaceAdded('B', monotonicSeconds() + 30);
    await waitFor('petting', () => (companion!.status().registrations.length === 2 ? true : undefined), 2000);
    expect(await companion.stop()).toBe(false);
    link.lockspaceRemoved('A');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(companion.status().deviceState).toBe('petting');
    link.lockspaceRemoved('B');
    await waitFor('disarmed', () => (companion!.status().deviceState === 'disarmed' ? true : undefined), 2000);
    expect(events().at(-1)?.type).toBe('magic-close');
    expect(await companion.stop()).toBe(true);
    companion = undefined;
    expect(existsSync(paths().marker)).toBe(false);
  });

  it('makes the daemon refuse to start lockspaces when it is unreachable or fences with another W', async () => {
    const lonely = createWatchdogLink('companion', logger, { socketPath: paths().socket, fireTimeoutSeconds: W });
    await lonely.start();
    await expect(lonely.prepareLockspace('LS')).rejects.toMatchObject({ code: 'WATCHDOG_UNAVAILABLE' });
    await lonely.close();
    companion = await startCompanion();
    link = createWatchdogLink('companion', logger, { socketPath: paths().socket, fireTimeoutSeconds: W + 1 });
    await link.start();
    await expect(link.prepareLockspace('LS')).rejects.toThrow(/FIRE_TIMEOUT_MISMATCH/);
  }, 20_000);

  it('refuses to start after an unclean exit until the marker is cleared', async () => {
    writeFileSync(paths().marker, JSON.stringify({ pid: 2 ** 22 + 1, startedAt: 'earlier', device: 'x', socket: 'y' }));
    await expect(startCompanion()).rejects.toMatchObject({ code: 'UNCLEAN_EXIT' });
    expect(events()).toEqual([]); // the device was not touched (opening it would postpone a reset)
    expect(clearMarker(paths().marker).status).toBe('stale');
    companion = await startCompanion();
  });

  it('refuses to start while another process holds the device, or another companion serves the socket', async () => {
    const other = new SocketWatchdogDevice(paths().device);
    await other.open();
    await expect(startCompanion()).rejects.toMatchObject({ code: 'DEVICE_BUSY' });
    expect(existsSync(paths().marker)).toBe(false);
    await other.closeMagic();
    companion = await startCompanion();
    rmSync(paths().marker);
    await expect(startCompanion()).rejects.toMatchObject({ code: 'ALREADY_RUNNING' });
  });
});

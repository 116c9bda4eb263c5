/**
 * The companion's decisions on a fake clock and device: when it pets, when it lets go (and how), and
 * the safety property behind it: the device never fires later than W after the earliest expiry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino } from 'pino';
import { DeviceKeeper, Registrations } from '@leasehold/watchdog';
import { FakeClock, FakeDevice } from './fake-device.js';

const W = 10;
const INTERVAL = 2;
const logger = pino({ level: 'silent' });
const keepers: DeviceKeeper[] = [];

function setup(): { clock: FakeClock; device: FakeDevice; registrations: Registrations; keeper: DeviceKeeper } {
  const clock = new FakeClock();
  const device = new FakeDevice(clock);
  const registrations = new Registrations();
  const keeper = new DeviceKeeper({
    device,
    registrations,
    fireTimeoutSeconds: W,
    intervalSeconds: INTERVAL,
    logger,
    now: clock.now,
  });
  keepers.push(keeper);
  return { clock, device, registrations, keeper };
}

afterEach(async () => {
  for (const keeper of keepers.splice(0)) await keeper.stop();
});

describe('DeviceKeeper', () => {
  it('leaves an idle host disarmed, opens and pets once a lockspace registers', async () => {
    const { device, registrations, keeper } = setup();
    await keeper.reconcile();
    expect(device.calls).toEqual([]);
    registrations.set('LS', 1008, 1);
    await keeper.reconcile();
    expect(device.calls).toEqual(['open', 'keepalive']);
    expect(keeper.deviceState).toBe('petting');
  });

  it('closes unclean one interval before the expiry, so the device fires before expiry + W', async () => {
    const { clock, device, registrations, keeper } = setup();
    registrations.set('LS', 1008, 1);
    await keeper.reconcile();
    clock.nowSeconds = 1005.9;
    await keeper.reconcile();
    expect(device.calls.at(-1)).toBe('keepalive');
    clock.nowSeconds = 1006;
    await keeper.reconcile();
    expect(device.calls.at(-1)).toBe('close-unclean');
    expect(keeper.deviceState).toBe('closed-unclean');
    expect(device.firesAtSeconds).toBe(1006 + W);
    expect(device.firesAtSeconds!).toBeLessThanOrEqual(1008 + W);
    // Nothing more is written while it fails.
    clock.nowSeconds = 1007;
    await keeper.reconcile();
    expect(device.calls.at(-1)).toBe('close-unclean');
  });

  it('past the expiry it holds the device open and silent: a late close would be a late keepalive', async () => {
    const { clock, device, registrations, keeper } = setup();
    registrations.set('LS', 1008, 1);
    await keeper.reconcile();
    const lastKeepalive = device.firesAtSeconds! - W;
    clock.nowSeconds = 1008.5; // the companion was stopped (SIGSTOP) across its close moment
    await keeper.reconcile();
    expect(keeper.deviceState).toBe('held-silent');
    expect(device.isOpen).toBe(true);
    expect(device.firesAtSeconds).toBe(lastKeepalive + W);
  });

  it('disarms (reopen + magic close) once the failing registration is removed: no reset', async () => {
    const { clock, device, registrations, keeper } = setup();
    registrations.set('LS', 1008, 1);
    await keeper.reconcile();
    clock.nowSeconds = 1007;
    await keeper.reconcile();
    registrations.markLost('LS');
    clock.nowSeconds = 1009;
    registrations.remove('LS');
    await keeper.reconcile();
    expect(device.calls.slice(-3)).toEqual(['close-unclean', 'open', 'close-magic']);
    expect(keeper.deviceState).toBe('disarmed');
    expect(device.firesAtSeconds).toBeUndefined();
  });

  it('resumes petting when a failing registration recovers (renewed again)', async () => {
    const { clock, device, registrations, keeper } = setup();
    registrations.set('LS', 1008, 1);
    await keeper.reconcile();
    clock.nowSeconds = 1006.5;
    await keeper.reconcile();
    registrations.set('LS', 1014.5, 1);
    await keeper.reconcile();
    expect(device.calls.slice(-3)).toEqual(['close-unclean', 'open', 'keepalive']);
    expect(keeper.deviceState).toBe('petting');
  });

  it('arms a disarmed device when a registration arrives already failing (replayed to a restarted companion)', async () => {
    const { clock, device, registrations, keeper } = setup();
    clock.nowSeconds = 1010;
    registrations.set('LS', 1008, 1);
    registrations.markLost('LS');
    await keeper.reconcile();
    expect(device.calls).toEqual(['open', 'close-unclean']);
    expect(device.firesAtSeconds).toBe(1010 + W);
    expect(keeper.deviceState).toBe('closed-unclean');
  });

  it('sets the device timeout to W when it differs on open', async () => {
    const { device, registrations, keeper } = setup();
    device.timeoutSeconds = 60;
    registrations.set('LS', 1008, 1);
    await keeper.reconcile();
    expect(device.calls).toEqual(['open', `settimeout ${W}`, 'keepalive']);
  });

  it('keeps trying when the device cannot be opened (it is then not petted: a running device fires)', async () => {
    const { device, registrations, keeper } = setup();
    device.failOpen = Object.assign(new Error('busy'), { code: 'DEVICE_BUSY' });
    registrations.set('LS', 1008, 1);
    await keeper.reconcile();
    expect(keeper.deviceState).toBe('disarmed');
    device.failOpen = undefined;
    await keeper.reconcile();
    expect(keeper.deviceState).toBe('petting');
  });

  it('never pings the device after the current expiry, so it fires at most W after it (property)', async () => {
    // Steps: the companion's clock advances (sometimes far: a stopped process), a renewal may move
    // the expiry, renewals may stop for good; the keeper looks after each step.
    const step = fc.record({
      advanceSeconds: fc.oneof(
        fc.double({ min: 0, max: 1.5, noNaN: true }),
        fc.double({ min: 0, max: 12, noNaN: true }),
      ),
      renew: fc.boolean(),
      stopRenewing: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const { clock, device, registrations, keeper } = setup();
        let expiry = clock.nowSeconds + 8;
        registrations.set('LS', expiry, 1);
        await keeper.reconcile();
        let renewing = true;
        try {
          for (const { advanceSeconds, renew, stopRenewing } of steps) {
            clock.nowSeconds += advanceSeconds;
            if (device.firesAtSeconds !== undefined && clock.nowSeconds >= device.firesAtSeconds) return; // the host was reset
            if (stopRenewing) renewing = false;
            if (renewing && renew) {
              expiry = clock.nowSeconds + 8;
              registrations.set('LS', expiry, 1);
            }
            const before = device.firesAtSeconds;
            await keeper.reconcile();
            if (device.firesAtSeconds !== before && device.firesAtSeconds !== undefined) {
              // A keepalive (or unclean close) happened now: it must come before the expiry.
              expect(clock.nowSeconds).toBeLessThan(expiry);
              expect(device.firesAtSeconds).toBeLessThan(expiry + W);
            }
          }
        } finally {
          await keeper.stop();
        }
      }),
      { numRuns: 300 },
    );
  });
});

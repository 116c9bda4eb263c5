/** The test device follows the kernel's watchdog rules (drivers/watchdog/watchdog_dev.c). */
import { describe, expect, it } from 'vitest';
import { EmulatedWatchdog, type DeviceEvent } from '@leasehold/watchdog';
import { FakeClock } from './fake-device.js';

function setup(timeoutSeconds = 10): {
  clock: FakeClock;
  device: EmulatedWatchdog;
  events: DeviceEvent[];
  resets: number[];
} {
  const clock = new FakeClock();
  const events: DeviceEvent[] = [];
  const resets: number[] = [];
  const device = new EmulatedWatchdog({
    initialTimeoutSeconds: timeoutSeconds,
    now: clock.now,
    resetHost: async () => {
      resets.push(clock.now());
      return { killed: [42] };
    },
    onEvent: (event) => events.push(event),
  });
  return { clock, device, events, resets };
}

function opener(): { replies: string[]; dropped: boolean; reply(line: string): void; drop(): void } {
  const state = {
    replies: [] as string[],
    dropped: false,
    reply(line: string) {
      state.replies.push(line);
    },
    drop() {
      state.dropped = true;
    },
  };
  return state;
}

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');

describe('EmulatedWatchdog', () => {
  it('lets one opener at a time (EBUSY), and open arms it', () => {
    const { device } = setup();
    const first = opener();
    const second = opener();
    expect(device.open(first)).toBe(true);
    expect(first.replies).toEqual(['OK open']);
    expect(device.open(second)).toBe(false);
    expect(second.replies[0]).toMatch(/^ERR EBUSY/);
    expect(second.dropped).toBe(true);
    expect(device.status().armed).toBe(true);
  });

  it('fires W after the last keepalive and resets the host once, then is disarmed', async () => {
    const { clock, device, events, resets } = setup();
    const o = opener();
    device.open(o);
    clock.nowSeconds += 5;
    device.write(o, bytes('.'));
    clock.nowSeconds += 9.9;
    await device.tick();
    expect(resets).toEqual([]);
    clock.nowSeconds += 0.1;
    await device.tick();
    await device.tick();
    expect(resets).toEqual([1015]);
    expect(events.map((event) => event.type)).toEqual(['open', 'fire', 'reset']);
    expect(o.dropped).toBe(true);
    expect(device.status().armed).toBe(false);
  });

  it("stops on close after a final 'V' (magic close), but not when another byte followed it", async () => {
    const { clock, device, resets } = setup();
    const a = opener();
    device.open(a);
    device.write(a, bytes('V'));
    device.close(a);
    expect(device.status().armed).toBe(false);
    const b = opener();
    device.open(b);
    device.write(b, bytes('V.'));
    device.close(b);
    expect(device.status().armed).toBe(true);
    clock.nowSeconds += 10;
    await device.tick();
    expect(resets).toHaveLength(1);
  });

  it('keeps counting after an unclean close, which counts as one last keepalive; a reopen pets again', async () => {
    const { clock, device, events, resets } = setup();
    const a = opener();
    device.open(a);
    clock.nowSeconds += 3;
    device.close(a);
    expect(events.at(-1)).toMatchObject({ type: 'unclean-close', lastKeepaliveSeconds: 1003, firesAtSeconds: 1013 });
    clock.nowSeconds += 9;
    const b = opener();
    device.open(b);
    expect(events.at(-1)).toMatchObject({ type: 'open', wasArmed: true });
    clock.nowSeconds += 9;
    await device.tick();
    expect(resets).toEqual([]);
  });

  it('answers the timeout ioctls; SETTIMEOUT pings; out-of-range timeouts are EINVAL', async () => {
    const { clock, device } = setup();
    const o = opener();
    device.open(o);
    device.write(o, bytes('\x1bGETTIMEOUT\n'));
    clock.nowSeconds += 4;
    device.write(o, bytes('\x1bGETTIMELEFT\n\x1bSETTIMEOUT 20\n\x1bGETTIMEOUT\n\x1bSETTIMEOUT 0\n\x1bBOGUS\n'));
    expect(o.replies).toEqual([
      'OK open',
      'OK 10',
      'OK 6',
      'OK 20',
      'OK 20',
      expect.stringMatching(/^ERR EINVAL/),
      expect.stringMatching(/^ERR ENOTTY/),
    ]);
    expect(device.status().secondsLeft).toBe(20);
  });

  it('comes back disarmed after a power cycle', () => {
    const { device } = setup();
    const o = opener();
    device.open(o);
    device.powerCycle();
    expect(o.dropped).toBe(true);
    expect(device.status()).toMatchObject({ armed: false, open: false });
  });
});

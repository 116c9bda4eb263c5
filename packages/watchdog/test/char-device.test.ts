/** The kernel device wrapper: errno mapping, keepalive and magic-close writes, ioctls (with a fake system). */
import { describe, expect, it } from 'vitest';
import { CharWatchdogDevice, WatchdogError, type CharDeviceSystem } from '@leasehold/watchdog';

function fakeSystem(openError?: string): { system: CharDeviceSystem; log: string[] } {
  const log: string[] = [];
  let timeout = 60;
  const system: CharDeviceSystem = {
    open: (path) => {
      if (openError !== undefined) throw Object.assign(new Error(openError), { code: openError });
      log.push(`open ${path}`);
      return 7;
    },
    write: (fd, byte) => void log.push(`write ${fd} ${String.fromCharCode(byte)}`),
    close: (fd) => void log.push(`close ${fd}`),
    setTimeout: (fd, seconds) => {
      if (seconds > 255) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
      log.push(`settimeout ${fd} ${seconds}`);
      timeout = seconds;
      return timeout;
    },
    getTimeout: () => timeout,
    getTimeLeft: () => {
      throw Object.assign(new Error('ENOTTY'), { code: 'ENOTTY' });
    },
  };
  return { system, log };
}

describe('CharWatchdogDevice', () => {
  it('keepalive writes a byte that is not V; closeMagic writes V, then closes', async () => {
    const { system, log } = fakeSystem();
    const device = new CharWatchdogDevice('/dev/watchdog0', system);
    await device.open();
    device.keepalive();
    await device.closeMagic();
    expect(log).toEqual(['open /dev/watchdog0', 'write 7 .', 'write 7 V', 'close 7']);
    expect(device.isOpen).toBe(false);
  });

  it('closeUnclean closes without V', async () => {
    const { system, log } = fakeSystem();
    const device = new CharWatchdogDevice('/dev/watchdog', system);
    await device.open();
    await device.closeUnclean();
    expect(log).toEqual(['open /dev/watchdog', 'close 7']);
  });

  it('maps EBUSY to DEVICE_BUSY and ENOENT to DEVICE_MISSING', async () => {
    await expect(new CharWatchdogDevice('/dev/watchdog', fakeSystem('EBUSY').system).open()).rejects.toMatchObject({
      code: 'DEVICE_BUSY',
    });
    await expect(new CharWatchdogDevice('/dev/watchdog', fakeSystem('ENOENT').system).open()).rejects.toMatchObject({
      code: 'DEVICE_MISSING',
    });
  });

  it('sets and reads the timeout; an impossible one is TIMEOUT_UNSUPPORTED; GETTIMELEFT may be missing', async () => {
    const { system } = fakeSystem();
    const device = new CharWatchdogDevice('/dev/watchdog', system);
    await device.open();
    expect(await device.setTimeout(10)).toBe(10);
    expect(await device.getTimeout()).toBe(10);
    await expect(device.setTimeout(1000)).rejects.toBeInstanceOf(WatchdogError);
    await expect(device.setTimeout(1000)).rejects.toMatchObject({ code: 'TIMEOUT_UNSUPPORTED' });
    expect(await device.getTimeLeft()).toBeUndefined();
  });
});

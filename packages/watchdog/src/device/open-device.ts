/** The device behind a path: a kernel watchdog (character device) or the test device (Unix socket). */
import { statSync } from 'node:fs';
import { WatchdogError } from '../errors.js';
import { CharWatchdogDevice } from './char-device.js';
import { SocketWatchdogDevice } from './socket-device.js';
import type { WatchdogDevice } from './watchdog-device.js';

export const DEFAULT_DEVICE_PATH = '/dev/watchdog';

export function deviceAt(path: string): WatchdogDevice {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new WatchdogError(
      'DEVICE_MISSING',
      `no watchdog device at ${path} (load a driver such as softdog, or give --device)`,
    );
  }
  if (stats.isCharacterDevice()) return new CharWatchdogDevice(path);
  if (stats.isSocket()) return new SocketWatchdogDevice(path);
  throw new WatchdogError('DEVICE_MISSING', `${path} is neither a watchdog device nor a test watchdog socket`);
}

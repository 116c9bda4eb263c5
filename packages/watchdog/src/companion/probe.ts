/**
 * The start-up check of the watchdog device (wdmd --probe): open it (which fails while another
 * process holds it), read its timeout, set it to W if it differs, verify, then disarm it with the
 * magic close. A device that cannot do W is refused: the cluster's takeover arithmetic assumes it.
 */
import { WatchdogError } from '../errors.js';
import type { WatchdogDevice } from '../device/watchdog-device.js';

export interface ProbeResult {
  device: string;
  kind: string;
  /** The timeout found before any change. */
  previousTimeoutSeconds: number;
  fireTimeoutSeconds: number;
}

export async function probeDevice(device: WatchdogDevice, fireTimeoutSeconds: number): Promise<ProbeResult> {
  await device.open();
  try {
    const previousTimeoutSeconds = await device.getTimeout();
    if (previousTimeoutSeconds !== fireTimeoutSeconds) {
      const set = await device.setTimeout(fireTimeoutSeconds);
      const verified = await device.getTimeout();
      if (set !== fireTimeoutSeconds || verified !== fireTimeoutSeconds) {
        throw new WatchdogError(
          'TIMEOUT_UNSUPPORTED',
          `${device.path} uses ${verified} s after asking for ${fireTimeoutSeconds} s`,
        );
      }
    }
    return { device: device.path, kind: device.kind, previousTimeoutSeconds, fireTimeoutSeconds };
  } finally {
    if (device.isOpen) await device.closeMagic();
  }
}

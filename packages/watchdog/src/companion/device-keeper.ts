/**
 * Keeps the watchdog device in the state the registrations call for. Each reconcile looks at the
 * verdict and moves the device one way only:
 *
 *   verdict   device was        action
 *   idle      open              write 'V' and close: disarmed (an idle host is never reset)
 *   idle      closed unclean    reopen, then 'V' and close: disarmed
 *   healthy   closed            open (checking its timeout is W), keepalive: petting
 *   healthy   open              keepalive
 *   failing   petting           close without 'V' if the earliest expiry is still ahead: the close is
 *                               one last keepalive, so the device fires at most W later, before
 *                               expiry + W (the moment other hosts may take our leases). Past the
 *                               expiry a close would be a keepalive too late: the device is then held
 *                               open and silent, and fires W after the last keepalive, which was earlier.
 *   failing   disarmed          open and close unclean: a registration that fails while the device is
 *                               disarmed (e.g. replayed to a restarted companion) must still end in a reset.
 *
 * Device calls are serialized: a reconcile requested while one runs is run once more afterwards.
 */
import type { Logger } from '@leasehold/lease';
import type { DeviceState } from '@leasehold/protocol/companion';
import { WatchdogError } from '../errors.js';
import { monotonicSeconds } from '../timing.js';
import type { WatchdogDevice } from '../device/watchdog-device.js';
import type { Registrations } from './registrations.js';

/** After a failure, look again this often (wdmd switches to a 1-second test interval). */
export const FAILING_RECHECK_SECONDS = 1;

export interface DeviceKeeperOptions {
  device: WatchdogDevice;
  registrations: Registrations;
  fireTimeoutSeconds: number;
  intervalSeconds: number;
  logger: Logger;
  /** Clock (CLOCK_MONOTONIC seconds); replaced in unit tests. */
  now?: () => number;
}

export class DeviceKeeper {
  private state: DeviceState = 'disarmed';
  private lastKeepalive: number | null = null;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastFailing = '';
  private readonly now: () => number;

  constructor(private readonly options: DeviceKeeperOptions) {
    this.now = options.now ?? monotonicSeconds;
  }

  get deviceState(): DeviceState {
    return this.state;
  }

  get lastKeepaliveSeconds(): number | null {
    return this.lastKeepalive;
  }

  /** Looks at the registrations now (and schedules the next look). */
  reconcile(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.step();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops scheduling (the clean exit reconciles once more first, which disarms an idle device). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(atSeconds: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const delayMs = Math.max(0, (atSeconds - this.now()) * 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reconcile();
    }, delayMs);
  }

  private async step(): Promise<void> {
    const { registrations, intervalSeconds, logger, device } = this.options;
    const now = this.now();
    const verdict = registrations.verdict(now, intervalSeconds);
    try {
      switch (verdict.kind) {
        case 'idle':
          await this.disarm();
          this.lastFailing = '';
          return; // nothing to watch until a registration arrives
        case 'healthy':
          if (this.lastFailing !== '')
            logger.info({ device: device.path }, 'every registration is within its deadline again: petting');
          this.lastFailing = '';
          await this.pet();
          this.schedule(Math.min(now + intervalSeconds, verdict.nextCheckAtSeconds));
          return;
        case 'failing':
          await this.fail(now, verdict.failing, verdict.earliestExpirySeconds);
          this.schedule(now + Math.min(intervalSeconds, FAILING_RECHECK_SECONDS));
          return;
        default: {
          const unexpected: never = verdict;
          throw new Error(`unexpected verdict ${JSON.stringify(unexpected)}`);
        }
      }
    } catch (error) {
      logger.error({ device: device.path, err: error, state: this.state }, 'watchdog device operation failed');
      if (verdict.kind !== 'idle') this.schedule(now + Math.min(intervalSeconds, FAILING_RECHECK_SECONDS));
    }
  }

  private async disarm(): Promise<void> {
    const { device, logger } = this.options;
    if (this.state === 'disarmed') return;
    if (this.state === 'closed-unclean') await device.open();
    await device.closeMagic();
    this.state = 'disarmed';
    logger.info({ device: device.path }, 'no lockspace registered: watchdog disarmed (magic close)');
  }

  private async pet(): Promise<void> {
    const { device, logger } = this.options;
    if (!device.isOpen) {
      const from = this.state;
      await device.open();
      await this.ensureTimeout();
      logger.info({ device: device.path, from }, 'watchdog device opened: petting');
    }
    device.keepalive();
    this.state = 'petting';
    this.lastKeepalive = this.now();
  }

  private async fail(now: number, failing: string[], earliestExpirySeconds: number): Promise<void> {
    const { device, logger } = this.options;
    const key = failing.join(',');
    switch (this.state) {
      case 'petting':
        if (now < earliestExpirySeconds) {
          await device.closeUnclean();
          this.state = 'closed-unclean';
          logger.warn(
            {
              device: device.path,
              failing,
              expiresInSeconds: earliestExpirySeconds - now,
              fireTimeoutSeconds: this.options.fireTimeoutSeconds,
            },
            'registration(s) at their deadline: closed the watchdog without the magic character; the host is reset unless they recover',
          );
        } else {
          this.state = 'held-silent';
          logger.error(
            { device: device.path, failing, lateBySeconds: now - earliestExpirySeconds },
            'registration(s) already past their expiry when checked: holding the device open without keepalives (a close now would postpone the reset)',
          );
        }
        break;
      case 'disarmed':
        await device.open();
        await this.ensureTimeout();
        await device.closeUnclean();
        this.state = 'closed-unclean';
        logger.error(
          { device: device.path, failing },
          'registration(s) failing while the watchdog was disarmed: armed it to reset the host',
        );
        break;
      case 'closed-unclean':
      case 'held-silent':
        if (key !== this.lastFailing)
          logger.warn({ device: device.path, failing }, 'still failing: the watchdog is counting down');
        break;
      default: {
        const unexpected: never = this.state;
        throw new Error(`unexpected keeper state ${String(unexpected)}`);
      }
    }
    this.lastFailing = key;
  }

  private async ensureTimeout(): Promise<void> {
    const { device, fireTimeoutSeconds } = this.options;
    if ((await device.getTimeout()) === fireTimeoutSeconds) return;
    const now = await device.setTimeout(fireTimeoutSeconds);
    if (now !== fireTimeoutSeconds || (await device.getTimeout()) !== fireTimeoutSeconds) {
      throw new WatchdogError('TIMEOUT_UNSUPPORTED', `${device.path} uses ${now} s instead of ${fireTimeoutSeconds} s`);
    }
  }
}

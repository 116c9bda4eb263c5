/**
 * The behaviour of a Linux watchdog device, for the test device: one opener at a time; open arms it;
 * every write is a keepalive; a 'V' as the last byte before close stops it; any other close leaves it
 * running and counts as one last keepalive; SETTIMEOUT sets the timeout and pings. When the timer
 * runs out the device fires: it resets the host, with no grace and no help from the host's
 * processes, and is disarmed afterwards (the machine rebooted).
 *
 * Transport-free: the socket server feeds it bytes and closes; the clock and the reset are injected.
 */
import { ESCAPE_BYTE, MAX_IOCTL_LINE_BYTES, NEWLINE_BYTE } from '../../device/test-device-protocol.js';
import { MAGIC_CLOSE_BYTE } from '../../device/watchdog-device.js';

/** Linux's watchdog core accepts timeouts in this range for most drivers. */
export const MIN_DEVICE_TIMEOUT_SECONDS = 1;
export const MAX_DEVICE_TIMEOUT_SECONDS = 3600;

export type DeviceEventType =
  | 'open'
  | 'busy'
  | 'set-timeout'
  | 'magic-close'
  | 'unclean-close'
  | 'fire'
  | 'reset'
  | 'power-cycle';

export interface DeviceEvent {
  type: DeviceEventType;
  /** CLOCK_MONOTONIC seconds (the same clock as the daemon's expiries). */
  atSeconds: number;
  [key: string]: unknown;
}

export interface DeviceOpener {
  /** Sends one reply line (without the newline). */
  reply(line: string): void;
  /** Drops the connection (after a busy answer or a reset). */
  drop(): void;
}

export interface EmulatedWatchdogOptions {
  initialTimeoutSeconds: number;
  now(): number;
  /** The reset: kill every process of the host. Returns what it did (for the event log). */
  resetHost(): Promise<Record<string, unknown>>;
  onEvent(event: DeviceEvent): void;
}

interface OpenerState {
  expectClose: boolean;
  inIoctl: boolean;
  ioctlLine: string;
}

export interface EmulatedWatchdogStatus {
  armed: boolean;
  open: boolean;
  timeoutSeconds: number;
  lastKeepaliveSeconds: number | null;
  secondsLeft: number | null;
  fires: number;
}

export class EmulatedWatchdog {
  private armed = false;
  private timeoutSeconds: number;
  private lastKeepalive: number | null = null;
  private opener: DeviceOpener | undefined;
  private readonly openers = new Map<DeviceOpener, OpenerState>();
  private fires = 0;
  private firing = false;

  constructor(private readonly options: EmulatedWatchdogOptions) {
    this.timeoutSeconds = options.initialTimeoutSeconds;
  }

  status(): EmulatedWatchdogStatus {
    const now = this.options.now();
    return {
      armed: this.armed,
      open: this.opener !== undefined,
      timeoutSeconds: this.timeoutSeconds,
      lastKeepaliveSeconds: this.lastKeepalive,
      secondsLeft: this.armed && this.lastKeepalive !== null ? this.lastKeepalive + this.timeoutSeconds - now : null,
      fires: this.fires,
    };
  }

  /** open(2). False (and the opener is dropped) when another opener holds the device. */
  open(opener: DeviceOpener): boolean {
    if (this.opener !== undefined || this.firing) {
      opener.reply('ERR EBUSY the watchdog device is held by another process');
      opener.drop();
      this.event('busy', {});
      return false;
    }
    this.opener = opener;
    this.openers.set(opener, { expectClose: false, inIoctl: false, ioctlLine: '' });
    const wasArmed = this.armed;
    this.armed = true;
    this.keepalive();
    opener.reply('OK open');
    this.event('open', { wasArmed, timeoutSeconds: this.timeoutSeconds });
    return true;
  }

  /** Bytes written by an opener (keepalives, the magic 'V', ioctl lines). */
  write(opener: DeviceOpener, data: Uint8Array): void {
    const state = this.openers.get(opener);
    if (state === undefined || this.opener !== opener) return;
    for (const byte of data) {
      if (state.inIoctl) {
        if (byte === NEWLINE_BYTE) {
          state.inIoctl = false;
          opener.reply(this.ioctl(state.ioctlLine));
          state.ioctlLine = '';
        } else if (state.ioctlLine.length < MAX_IOCTL_LINE_BYTES) {
          state.ioctlLine += String.fromCharCode(byte);
        }
        continue;
      }
      if (byte === ESCAPE_BYTE) {
        state.inIoctl = true;
        continue;
      }
      // A write: keepalive; the magic close is armed only by a final 'V'.
      state.expectClose = byte === MAGIC_CLOSE_BYTE;
      this.keepalive();
    }
  }

  /** close(2), or the opener died (the kernel closes its descriptors). */
  close(opener: DeviceOpener): void {
    const state = this.openers.get(opener);
    this.openers.delete(opener);
    if (state === undefined || this.opener !== opener) return;
    this.opener = undefined;
    if (state.expectClose) {
      this.armed = false;
      this.event('magic-close', { lastKeepaliveSeconds: this.lastKeepalive });
      return;
    }
    // watchdog_release(): "watchdog did not stop!", and one last ping.
    this.keepalive();
    this.event('unclean-close', {
      lastKeepaliveSeconds: this.lastKeepalive,
      firesAtSeconds: this.lastKeepalive! + this.timeoutSeconds,
    });
  }

  /** The machine lost power (test cluster `crash`): the device comes back disarmed. */
  powerCycle(): void {
    const opener = this.opener;
    this.opener = undefined;
    if (opener !== undefined) {
      this.openers.delete(opener);
      opener.drop();
    }
    this.armed = false;
    this.event('power-cycle', {});
  }

  /** Called often (every few tens of ms): fires once the timer has run out. */
  async tick(): Promise<void> {
    if (!this.armed || this.firing || this.lastKeepalive === null) return;
    const now = this.options.now();
    if (now < this.lastKeepalive + this.timeoutSeconds) return;
    this.firing = true;
    this.fires++;
    this.event('fire', {
      lastKeepaliveSeconds: this.lastKeepalive,
      timeoutSeconds: this.timeoutSeconds,
      lateBySeconds: now - (this.lastKeepalive + this.timeoutSeconds),
    });
    try {
      const result = await this.options.resetHost();
      this.event('reset', result);
    } finally {
      // After the reset the machine boots with the watchdog stopped.
      const opener = this.opener;
      this.opener = undefined;
      if (opener !== undefined) {
        this.openers.delete(opener);
        opener.drop();
      }
      this.armed = false;
      this.firing = false;
    }
  }

  private keepalive(): void {
    this.lastKeepalive = this.options.now();
  }

  private ioctl(line: string): string {
    const [name, argument] = line.trim().split(/\s+/, 2);
    switch (name) {
      case 'SETTIMEOUT': {
        const seconds = Number(argument);
        if (
          !Number.isInteger(seconds) ||
          seconds < MIN_DEVICE_TIMEOUT_SECONDS ||
          seconds > MAX_DEVICE_TIMEOUT_SECONDS
        ) {
          return `ERR EINVAL timeout must be ${MIN_DEVICE_TIMEOUT_SECONDS}-${MAX_DEVICE_TIMEOUT_SECONDS} s`;
        }
        this.timeoutSeconds = seconds;
        this.keepalive();
        this.event('set-timeout', { timeoutSeconds: seconds });
        return `OK ${seconds}`;
      }
      case 'GETTIMEOUT':
        return `OK ${this.timeoutSeconds}`;
      case 'GETTIMELEFT': {
        const left =
          this.lastKeepalive === null
            ? this.timeoutSeconds
            : Math.max(0, Math.ceil(this.lastKeepalive + this.timeoutSeconds - this.options.now()));
        return `OK ${left}`;
      }
      case 'KEEPALIVE':
        this.keepalive();
        return 'OK 0';
      default:
        return `ERR ENOTTY unknown ioctl ${JSON.stringify(name ?? '')}`;
    }
  }

  private event(type: DeviceEventType, fields: Record<string, unknown>): void {
    this.options.onEvent({ type, atSeconds: this.options.now(), ...fields });
  }
}

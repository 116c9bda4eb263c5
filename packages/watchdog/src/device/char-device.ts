/**
 * A kernel watchdog device (/dev/watchdog, /dev/watchdogN): plain open/write/close and the
 * WDIOC_* ioctls of @leasehold/native. Every call is synchronous and short; nothing here touches
 * storage, so a hung disk cannot delay a keepalive.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { watchdogIoctl } from '@leasehold/native';
import { WatchdogError } from '../errors.js';
import { KEEPALIVE_BYTE, MAGIC_CLOSE_BYTE, type WatchdogDevice } from './watchdog-device.js';

/** The operations the device needs from the system (replaced in unit tests). */
export interface CharDeviceSystem {
  open(path: string): number;
  write(fd: number, byte: number): void;
  close(fd: number): void;
  setTimeout(fd: number, seconds: number): number;
  getTimeout(fd: number): number;
  getTimeLeft(fd: number): number;
}

const KEEPALIVE = Buffer.from([KEEPALIVE_BYTE]);
const MAGIC = Buffer.from([MAGIC_CLOSE_BYTE]);

export const realCharDeviceSystem: CharDeviceSystem = {
  open: (path) => openSync(path, constants.O_WRONLY),
  write: (fd, byte) => {
    writeSync(fd, byte === MAGIC_CLOSE_BYTE ? MAGIC : KEEPALIVE);
  },
  close: (fd) => closeSync(fd),
  setTimeout: (fd, seconds) => watchdogIoctl.setTimeout(fd, seconds),
  getTimeout: (fd) => watchdogIoctl.getTimeout(fd),
  getTimeLeft: (fd) => watchdogIoctl.getTimeLeft(fd),
};

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export class CharWatchdogDevice implements WatchdogDevice {
  readonly kind = 'char';
  private fd: number | undefined;

  constructor(
    readonly path: string,
    private readonly system: CharDeviceSystem = realCharDeviceSystem,
  ) {}

  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  async open(): Promise<void> {
    if (this.fd !== undefined) return;
    try {
      this.fd = this.system.open(this.path);
    } catch (error) {
      switch (errnoOf(error)) {
        case 'ENOENT':
        case 'ENODEV':
        case 'ENXIO':
          throw new WatchdogError('DEVICE_MISSING', `no watchdog device at ${this.path}`);
        case 'EBUSY':
          throw new WatchdogError(
            'DEVICE_BUSY',
            `${this.path} is held by another process (only one may use a watchdog device: wdmd, watchdog, systemd RuntimeWatchdog, sbd?)`,
          );
        default:
          throw new WatchdogError('DEVICE_ERROR', `cannot open ${this.path}: ${(error as Error).message}`);
      }
    }
  }

  keepalive(): void {
    this.system.write(this.requireFd(), KEEPALIVE_BYTE);
  }

  async setTimeout(seconds: number): Promise<number> {
    try {
      return this.system.setTimeout(this.requireFd(), seconds);
    } catch (error) {
      if (errnoOf(error) === 'EINVAL')
        throw new WatchdogError('TIMEOUT_UNSUPPORTED', `${this.path} cannot use a ${seconds} s timeout`);
      throw new WatchdogError('DEVICE_ERROR', `WDIOC_SETTIMEOUT on ${this.path}: ${(error as Error).message}`);
    }
  }

  async getTimeout(): Promise<number> {
    try {
      return this.system.getTimeout(this.requireFd());
    } catch (error) {
      throw new WatchdogError('DEVICE_ERROR', `WDIOC_GETTIMEOUT on ${this.path}: ${(error as Error).message}`);
    }
  }

  async getTimeLeft(): Promise<number | undefined> {
    try {
      return this.system.getTimeLeft(this.requireFd());
    } catch {
      return undefined; // many drivers do not implement it
    }
  }

  async closeMagic(): Promise<void> {
    const fd = this.requireFd();
    this.fd = undefined;
    try {
      this.system.write(fd, MAGIC_CLOSE_BYTE);
    } finally {
      this.system.close(fd);
    }
  }

  async closeUnclean(): Promise<void> {
    const fd = this.requireFd();
    this.fd = undefined;
    this.system.close(fd);
  }

  private requireFd(): number {
    if (this.fd === undefined) throw new WatchdogError('DEVICE_ERROR', `${this.path} is not open`);
    return this.fd;
  }
}

/** A WatchdogDevice that records calls and follows the kernel's rules, on a fake clock. */
import type { WatchdogDevice } from '@leasehold/watchdog';

export class FakeClock {
  constructor(public nowSeconds = 1000) {}
  now = (): number => this.nowSeconds;
}

export class FakeDevice implements WatchdogDevice {
  readonly kind = 'fake';
  readonly path = '/dev/fake-watchdog';
  readonly calls: string[] = [];
  isOpen = false;
  /** Running and when it fires (undefined: stopped). */
  firesAtSeconds: number | undefined;
  timeoutSeconds = 10;
  failOpen: Error | undefined;

  constructor(private readonly clock: FakeClock) {}

  private ping(): void {
    this.firesAtSeconds = this.clock.now() + this.timeoutSeconds;
  }

  async open(): Promise<void> {
    if (this.failOpen) throw this.failOpen;
    this.calls.push('open');
    this.isOpen = true;
    this.ping();
  }
  keepalive(): void {
    this.calls.push('keepalive');
    this.ping();
  }
  async setTimeout(seconds: number): Promise<number> {
    this.calls.push(`settimeout ${seconds}`);
    this.timeoutSeconds = seconds;
    this.ping();
    return seconds;
  }
  async getTimeout(): Promise<number> {
    return this.timeoutSeconds;
  }
  async getTimeLeft(): Promise<number | undefined> {
    return this.firesAtSeconds === undefined ? undefined : this.firesAtSeconds - this.clock.now();
  }
  async closeMagic(): Promise<void> {
    this.calls.push('close-magic');
    this.isOpen = false;
    this.firesAtSeconds = undefined;
  }
  async closeUnclean(): Promise<void> {
    this.calls.push('close-unclean');
    this.isOpen = false;
    this.ping(); // the kernel pings on an unclean release
  }
}

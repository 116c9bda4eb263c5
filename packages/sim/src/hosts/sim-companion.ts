/**
 * The watchdog companion of one simulated machine: it outlives daemon crashes and dies with the
 * machine. It keeps a registration per lockspace (until when the host may run with its leases in
 * use) and sets the machine's SimWatchdog to the earliest of them, so a host whose daemon stops
 * renewing, or keeps a lost lockspace's users running, is reset W after that deadline. Messages
 * arrive in order after a delay; 'prepare' and 'add' are acknowledged only once applied.
 */
import type { WatchdogMessage } from '@leasehold/host-core';
import type { HostContext } from '../host.js';

interface Registration {
  expiresAtSeconds: number;
  /** The daemon said the lease is lost: the deadline no longer moves. */
  lost: boolean;
}

export class SimCompanion {
  private readonly registrations = new Map<string, Registration>();
  /** Local time by which every message sent so far has been applied (messages stay in order). */
  private busyUntilSeconds = 0;

  constructor(
    private readonly context: HostContext,
    /** Seconds one message takes to reach the companion and be applied. */
    private readonly latencySeconds: () => number,
  ) {}

  registered(name: string): boolean {
    return this.registrations.has(name);
  }

  names(): string[] {
    return [...this.registrations.keys()];
  }

  /** Delivers `message`; `ack(ok)` runs once it is applied (for prepare and add). */
  send(message: WatchdogMessage, ack: (ok: boolean) => void): void {
    const now = this.context.clock.nowSeconds();
    const at = Math.max(now, this.busyUntilSeconds) + this.latencySeconds();
    this.busyUntilSeconds = at;
    void this.context.clock.sleep(at - now).then(() => {
      this.apply(message);
      if (message.type === 'prepare' || message.type === 'add') ack(true);
    });
  }

  private apply(message: WatchdogMessage): void {
    switch (message.type) {
      case 'prepare':
        break;
      case 'add':
        this.registrations.set(message.name, { expiresAtSeconds: message.expiresAtSeconds, lost: false });
        break;
      case 'renew': {
        const registration = this.registrations.get(message.name);
        if (registration !== undefined && !registration.lost)
          registration.expiresAtSeconds = Math.max(registration.expiresAtSeconds, message.expiresAtSeconds);
        break;
      }
      case 'lost': {
        const registration = this.registrations.get(message.name);
        if (registration !== undefined) registration.lost = true;
        break;
      }
      case 'remove':
        this.registrations.delete(message.name);
        break;
      default: {
        const never: never = message;
        throw new Error(`unknown companion message ${JSON.stringify(never)}`);
      }
    }
    this.arm();
  }

  private arm(): void {
    let earliest: number | undefined;
    for (const registration of this.registrations.values()) {
      earliest =
        earliest === undefined ? registration.expiresAtSeconds : Math.min(earliest, registration.expiresAtSeconds);
    }
    if (earliest === undefined) this.context.watchdog.disarm();
    else this.context.watchdog.setExpiry(earliest);
  }
}

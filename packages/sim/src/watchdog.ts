import type { SimEvent } from './event-queue.js';
import type { SimHost } from './host.js';
import type { SimClock } from './sim-clock.js';
import type { SimWorld } from './world.js';

/**
 * A hardware watchdog as wdmd drives it: while the expiry (on the host's own clock) is in the
 * future it is petted; once the expiry passes and is not moved forward, the device resets the
 * machine `fireTimeoutSeconds` later. It is hardware, so it keeps counting while the host is paused
 * and can reset a paused host. Firing at the latest moment the real device could is the harshest
 * case for safety, so that is what it does.
 */
export class SimWatchdog {
  private fireEvent: SimEvent | undefined;
  private expiry: number | undefined;

  constructor(
    private readonly world: SimWorld,
    private readonly host: SimHost,
    private readonly incarnation: number,
    private readonly clock: SimClock,
    /** Infinity: no watchdog device (the host is never reset). */
    readonly fireTimeoutSeconds: number,
  ) {}

  /** Local-clock expiry, or undefined when disarmed. */
  get expiryLocalSeconds(): number | undefined {
    return this.expiry;
  }

  /** Arms the watchdog or moves its expiry (local clock seconds). */
  setExpiry(localSeconds: number): void {
    if (!this.host.isAlive(this.incarnation)) return;
    // (An exited program cannot call this; only a running one moves its expiry.)
    this.cancel();
    this.expiry = localSeconds;
    if (!Number.isFinite(this.fireTimeoutSeconds)) return;
    const fireAtSeconds = this.clock.toGlobalSeconds(localSeconds) + this.fireTimeoutSeconds;
    this.fireEvent = this.world.at(fireAtSeconds, `${this.host.machine}#${this.incarnation} watchdog`, () => {
      this.fireEvent = undefined;
      // A program that exited without disarming (died) leaves the device counting, as wdmd does.
      if (!this.host.isPowered(this.incarnation)) return;
      this.world.recordLifecycle({
        kind: 'watchdog-fire',
        machine: this.host.machine,
        incarnation: this.incarnation,
        label: `${this.host.machine}#${this.incarnation}`,
        detail: `expiry ${localSeconds.toFixed(3)} (local) passed ${this.fireTimeoutSeconds}s ago`,
      });
      this.host.crash('watchdog reset');
    });
  }

  /** Clean stop (the program unregistered): the device will not fire. */
  disarm(): void {
    this.cancel();
    this.expiry = undefined;
  }

  private cancel(): void {
    if (this.fireEvent !== undefined) this.world.cancel(this.fireEvent);
    this.fireEvent = undefined;
  }
}

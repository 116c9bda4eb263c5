/**
 * The one real timer behind the host core's time: the core asks to be woken (a `wake` action) no
 * later than a local clock time, and gets an expiry_tick then. The core decides what is due (a
 * renewal deadline, a bounded leave, a kill round); this only keeps the earliest wake armed.
 */
import type { Clock } from '@leasehold/lease';

export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private atSeconds: number | undefined;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly onTick: () => void,
  ) {}

  /** Wake no later than `atSeconds` (an earlier request wins; the core repeats it after every step). */
  wakeAt(atSeconds: number): void {
    if (this.closed) return;
    if (this.atSeconds !== undefined && this.atSeconds <= atSeconds && this.timer !== undefined) return;
    this.arm(atSeconds);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.atSeconds = undefined;
  }

  private arm(atSeconds: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.atSeconds = atSeconds;
    const delayMs = Math.max(0, (atSeconds - this.clock.nowSeconds()) * 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Never tick before the time asked for: the core would see nothing due and the wake is lost.
      if (this.clock.nowSeconds() < atSeconds) {
        this.arm(atSeconds);
        return;
      }
      this.atSeconds = undefined;
      this.onTick();
    }, delayMs);
    this.timer.unref();
  }
}

/**
 * What the companion knows: one registration per lockspace, each with the CLOCK_MONOTONIC time until
 * which the daemon vouches for it (8 x io_timeout after its last renewal). Pure: the verdict is a
 * function of the table and the time, so it is tested without processes or timers.
 */
import { MAX_REGISTRATIONS, type RegistrationInfo } from '@leasehold/protocol/companion';

export interface Registration {
  lockspace: string;
  expiresAtSeconds: number;
  /** The daemon said the lease is lost: the expiry no longer moves. */
  lost: boolean;
  daemonPid: number;
}

export type Verdict =
  /** Nothing registered: the device must be disarmed (an idle host is never reset). */
  | { kind: 'idle' }
  /** Every registration is more than `margin` from its expiry: pet. Check again by `nextCheckAtSeconds`. */
  | { kind: 'healthy'; nextCheckAtSeconds: number }
  /**
   * Some registration is within `margin` of its expiry (or past it): stop petting.
   * `earliestExpirySeconds` is the first expiry of all: a close of the device after it would count
   * as a keepalive that is too late.
   */
  | { kind: 'failing'; failing: string[]; earliestExpirySeconds: number };

export class Registrations {
  private readonly table = new Map<string, Registration>();

  get size(): number {
    return this.table.size;
  }

  /** Adds or moves a registration. False when the table is full. */
  set(lockspace: string, expiresAtSeconds: number, daemonPid: number): boolean {
    const existing = this.table.get(lockspace);
    if (existing === undefined && this.table.size >= MAX_REGISTRATIONS) return false;
    // A lockspace that was lost keeps its old expiry unless a daemon set it again, which only happens
    // after a fresh join or a resume that renewed the delta lease.
    this.table.set(lockspace, { lockspace, expiresAtSeconds, lost: false, daemonPid });
    return true;
  }

  markLost(lockspace: string): void {
    const existing = this.table.get(lockspace);
    if (existing !== undefined) existing.lost = true;
  }

  remove(lockspace: string): boolean {
    return this.table.delete(lockspace);
  }

  list(nowSeconds: number): RegistrationInfo[] {
    return [...this.table.values()]
      .sort((a, b) => a.lockspace.localeCompare(b.lockspace))
      .map((r) => ({
        lockspace: r.lockspace,
        expiresAtSeconds: r.expiresAtSeconds,
        expiresInSeconds: r.expiresAtSeconds - nowSeconds,
        lost: r.lost,
        daemonPid: r.daemonPid,
      }));
  }

  verdict(nowSeconds: number, marginSeconds: number): Verdict {
    if (this.table.size === 0) return { kind: 'idle' };
    const failing: string[] = [];
    let earliestExpirySeconds = Number.POSITIVE_INFINITY;
    for (const registration of this.table.values()) {
      earliestExpirySeconds = Math.min(earliestExpirySeconds, registration.expiresAtSeconds);
      if (nowSeconds >= registration.expiresAtSeconds - marginSeconds) failing.push(registration.lockspace);
    }
    if (failing.length > 0) return { kind: 'failing', failing: failing.sort(), earliestExpirySeconds };
    return { kind: 'healthy', nextCheckAtSeconds: earliestExpirySeconds - marginSeconds };
  }
}

/**
 * The daemon's side of fencing: it tells a watchdog companion, per lockspace, until when the host
 * may keep running with that lockspace's leases in use (the renewal deadline, 8 x io_timeout after
 * the last successful renewal). The companion pets the watchdog device only while every registered
 * lockspace is within its deadline, so a host whose daemon hangs, or that keeps using leases it lost,
 * is reset before other hosts may take those leases (8 x io_timeout + W after the last renewal).
 *
 * The calls are notifications that never block the daemon's main thread; only lockspaceAdded() is
 * awaited, by the lockspace start, before the lockspace may be used.
 */
import type { Logger } from '@leasehold/lease';
import { DaemonError } from '@leasehold/protocol';
import { CompanionLink } from './companion-link.js';

export interface WatchdogLink {
  /** 'none', 'companion', ... (shown in status). */
  readonly kind: string;
  /** Connects to the companion (or warns that there is none). */
  start(): Promise<void>;
  /**
   * Before a lockspace joins: rejects (WATCHDOG_UNAVAILABLE) when the host could not be fenced, so
   * that no lease is ever taken without a watchdog behind it.
   */
  prepareLockspace(lockspace: string): Promise<void>;
  /**
   * A lockspace joined: protect it until `expiresAtSeconds` (monotonic). Resolves once the
   * companion holds the registration; rejects (WATCHDOG_UNAVAILABLE) when it refuses, does not
   * answer or cannot be reached, and then the lockspace must not be used.
   */
  lockspaceAdded(lockspace: string, expiresAtSeconds: number): Promise<void>;
  /** A renewal succeeded: move its deadline. */
  lockspaceRenewed(lockspace: string, expiresAtSeconds: number): void;
  /**
   * The lockspace's lease is lost and something may still use its leases: stop moving its deadline
   * (the companion lets the watchdog fire unless lockspaceRemoved() follows in time).
   */
  lockspaceLost(lockspace: string): void;
  /** Nothing uses the lockspace's leases any more (clean stop, or lease-loss cleanup done). */
  lockspaceRemoved(lockspace: string): void;
  close(): Promise<void>;
}

/** Runs without fencing. Every start says so loudly: lease safety then relies on processes obeying. */
export class NoWatchdogLink implements WatchdogLink {
  readonly kind = 'none';

  constructor(private readonly logger: Logger) {}

  async start(): Promise<void> {
    this.logger.warn(
      { watchdog: 'none' },
      'running WITHOUT a watchdog: if this daemon hangs or dies while leases are in use, nothing resets the host, ' +
        'and other hosts may take those leases while processes here still use them',
    );
  }

  async prepareLockspace(lockspace: string): Promise<void> {
    this.logger.warn(
      { lockspace, watchdog: 'none' },
      `starting lockspace ${lockspace} WITHOUT a watchdog: this host cannot be fenced`,
    );
  }

  async lockspaceAdded(): Promise<void> {}
  lockspaceRenewed(): void {}
  lockspaceLost(lockspace: string): void {
    this.logger.error(
      { lockspace, watchdog: 'none' },
      'lease lost with no watchdog to fence this host if its users do not stop',
    );
  }
  lockspaceRemoved(): void {}
  async close(): Promise<void> {}
}

export interface WatchdogLinkOptions {
  /** The companion's socket. */
  socketPath: string;
  /** W: the companion must fence with exactly this fire timeout. */
  fireTimeoutSeconds: number;
}

/** The link named by `--watchdog`. */
export function createWatchdogLink(kind: string, logger: Logger, options: WatchdogLinkOptions): WatchdogLink {
  switch (kind) {
    case 'none':
      return new NoWatchdogLink(logger);
    case 'companion':
      return new CompanionLink({ ...options, logger });
    default:
      throw new DaemonError('BAD_CONFIG', `unknown --watchdog "${kind}" (known: none, companion)`);
  }
}

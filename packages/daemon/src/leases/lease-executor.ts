/**
 * Executes the host core's resource-lease actions (lane acquire, convert, release and clean_intent,
 * the lease rows, watch_holder) and feeds their outcomes back as events. It decides nothing: which
 * acquire is admitted, when a lease is given back (its holder exited, its requester went away, the
 * lockspace became unusable), what a loss drops and what a restart adopts are the core's.
 *
 * It keeps what the core does not: where each lease lives (path, offset), the HeldLease behind the
 * core's opaque token, and an acquire's I/O options (wait, lver, value block, abort signal).
 */
import {
  assert,
  assertNever,
  holderKey,
  leaseKey,
  type CoreError,
  type Holder as CoreHolder,
  type HostEvent,
  type LaneCommand,
  type LeaseRow,
  type StateChange,
} from '@leasehold/host-core';
import type { HeldLease, Logger } from '@leasehold/lease';
import { DaemonError } from '@leasehold/protocol';
import type { ProcessWatch } from '../clients/process-watch.js';
import type { PlacedLease } from '../lanes/lane-messages.js';
import type { Lockspace } from '../lockspaces/lockspace.js';
import type { ResourceCall } from '../lockspaces/resource-attachments.js';
import type { StateDb, StoredLease } from '../state/state-db.js';
import { decodeToken, encodeToken } from '../util/wire.js';
import { toProtocolError } from './lease-errors.js';

/** An acquire's I/O options, offered by the registry for the lane command the core emits in the same step. */
export interface AcquireOffer {
  path: string;
  offsetBytes: number;
  /** How long the lane waits for a live owner (sanlock's acquire wait), in seconds. */
  ownerWaitSeconds: number;
  lver: bigint | undefined;
  valueBlock: boolean;
  signal: AbortSignal;
}

/** Where a lease the core knows lives, and what its token decodes to. */
export interface Placement {
  lockspace: string;
  resource: string;
  path: string;
  offsetBytes: number;
  acquiredAt: string;
  /** The core's token for `held` ('' while the acquire runs). */
  token: string;
  held: HeldLease | undefined;
  mode: 'EX' | 'SH';
  /** Whether state has its held row (the acquire's history is written with it, once). */
  rowHeld: boolean;
}

export interface LeaseExecutorDeps {
  db: StateDb;
  watch: ProcessWatch;
  logger: Logger;
  /** The lockspace's view, for its lane (undefined once it is gone). */
  view: (lockspace: string) => Lockspace | undefined;
  call: <T>(ls: Lockspace, command: ResourceCall, signal?: AbortSignal) => Promise<T>;
  begin: (ls: Lockspace) => void;
  end: (ls: Lockspace) => void;
  /** Steps the core with a lease result at once (its actions run before this returns). */
  step: (event: HostEvent) => void;
  /** Queues an event that may change a lockspace (a holder's exit ends kill campaigns). */
  feed: (event: HostEvent) => void;
  /** The lease rows recorded before a restart (lockspace, resource), until its lockspace is joined. */
  recorded: (lockspace: string, resource: string) => StoredLease | undefined;
  /** Whether the core still has a lease of `holder` (a watch ends with the holder's last lease). */
  holds: (holder: CoreHolder) => boolean;
}

const modeName = (mode: 'EX' | 'SH'): 'exclusive' | 'shared' => (mode === 'EX' ? 'exclusive' : 'shared');

/** A lane failure as the core carries it (code, message and the details the client sees). */
export function coreErrorOf(error: unknown): CoreError {
  const mapped = toProtocolError(error);
  return {
    code: mapped.code,
    message: mapped.message,
    ...(mapped.details === undefined ? {} : { details: mapped.details }),
  };
}

export class LeaseExecutor {
  private readonly placements = new Map<string, Placement>();
  private readonly offers = new Map<string, AcquireOffer>();
  private readonly watched = new Map<string, (pid: number) => void>();
  private freed: (key: string) => void = () => undefined;

  constructor(private readonly deps: LeaseExecutorDeps) {}

  /** Told when a resource may be free on this host again (a release, a failed acquire, a clean, a loss). */
  onFreed(listener: (key: string) => void): void {
    this.freed = listener;
  }

  // ------------------------------------------------------------------------------- lookups

  placement(lockspace: string, resource: string): Placement | undefined {
    return this.placements.get(leaseKey(lockspace, resource));
  }

  /** A held lease as the lane needs it (asserted: only leases the core holds are placed). */
  placed(lockspace: string, resource: string): PlacedLease {
    const placement = this.placement(lockspace, resource);
    assert(placement?.held !== undefined, `${lockspace}:${resource} is placed only once held`);
    return { path: placement.path, held: placement.held };
  }

  /** The acquire the registry is about to ask the core for; consumed by the core's lane command. */
  offer(lockspace: string, resource: string, offer: AcquireOffer): () => void {
    const key = leaseKey(lockspace, resource);
    this.offers.set(key, offer);
    return () => {
      if (this.offers.get(key) === offer) this.offers.delete(key);
    };
  }

  // ----------------------------------------------------------------------- lane commands

  lane(command: Extract<LaneCommand, { type: 'acquire' | 'convert' | 'release' | 'clean_intent' }>): void {
    switch (command.type) {
      case 'acquire':
        this.acquire(command.lockspace, command.resource, command.mode);
        return;
      case 'convert':
        this.convert(command.lockspace, command.resource, command.mode, command.token);
        return;
      case 'release':
        this.release(command.lockspace, command.resource, command.token);
        return;
      case 'clean_intent':
        this.cleanIntent(command.lockspace, command.resource);
        return;
      default:
        assertNever(command, 'resource-lease lane command');
    }
  }

  private acquire(lockspace: string, resource: string, mode: 'EX' | 'SH'): void {
    const key = leaseKey(lockspace, resource);
    const offer = this.offers.get(key);
    this.offers.delete(key);
    assert(offer !== undefined, `the core's acquire of ${lockspace}:${resource} has the registry's offer`);
    // The intent row (written just before, in the same step) placed it already.
    if (this.placements.get(key)?.token !== '') this.placeOffer(lockspace, resource, mode, offer);
    const result = (outcome: Extract<HostEvent, { type: 'acquire_result' }>['result']): void =>
      this.deps.step({ type: 'acquire_result', lockspace, resource, result: outcome });
    const ls = this.deps.view(lockspace);
    if (ls === undefined) {
      result({ ok: false, error: { code: 'NO_LOCKSPACE', message: `lockspace ${lockspace} is gone` } });
      return;
    }
    const onAbort = (): void => this.deps.step({ type: 'cancel_acquire', lockspace, resource });
    offer.signal.addEventListener('abort', onAbort, { once: true });
    this.deps.begin(ls);
    this.deps
      .call<HeldLease>(
        ls,
        {
          type: 'acquire',
          where: { resource, path: offer.path, offsetBytes: offer.offsetBytes },
          mode: modeName(mode),
          waitSeconds: offer.ownerWaitSeconds,
          ...(offer.lver === undefined ? {} : { lver: offer.lver }),
          ...(offer.valueBlock ? { valueBlock: true } : {}),
        },
        offer.signal,
      )
      .then(
        (held) => {
          offer.signal.removeEventListener('abort', onAbort);
          const placement = this.placements.get(key);
          const token = encodeToken(held);
          if (placement !== undefined && placement.token === '') {
            placement.held = held;
            placement.token = token;
          }
          result({ ok: true, token });
        },
        (error: unknown) => {
          offer.signal.removeEventListener('abort', onAbort);
          const lost = !ls.usable;
          result({
            ok: false,
            error: lost
              ? {
                  code: 'LOCKSPACE_LOST',
                  message: `lockspace ${lockspace} lost its lease during the acquire of ${resource}`,
                }
              : coreErrorOf(error),
          });
        },
      )
      .finally(() => this.deps.end(ls));
  }

  private convert(lockspace: string, resource: string, mode: 'EX' | 'SH', token: string): void {
    const result = (outcome: Extract<HostEvent, { type: 'convert_result' }>['result']): void =>
      this.deps.step({ type: 'convert_result', lockspace, resource, result: outcome });
    const ls = this.deps.view(lockspace);
    const placement = this.placement(lockspace, resource);
    if (ls === undefined || placement === undefined) {
      result({ ok: false, error: { code: 'NOT_HELD', message: `${lockspace}:${resource} is not held on this host` } });
      return;
    }
    const lease: PlacedLease = { path: placement.path, held: this.heldOf(placement, token) };
    this.deps.begin(ls);
    this.deps
      .call<HeldLease>(ls, { type: 'convert', lease, mode: modeName(mode), waitSeconds: 0 })
      .then(
        (converted) => result({ ok: true, token: this.remember(placement, converted), mode }),
        (error: unknown) => {
          // A failed conversion may have left the lease changed (an SH -> EX that lost its ballot).
          const still = (error as { failure?: { stillHeld?: HeldLease } }).failure?.stillHeld;
          result({
            ok: false,
            error: coreErrorOf(error),
            ...(still === undefined
              ? {}
              : {
                  still: {
                    token: this.remember(placement, still),
                    mode: still.mode === 'exclusive' ? ('EX' as const) : ('SH' as const),
                  },
                }),
          });
        },
      )
      .finally(() => this.deps.end(ls));
  }

  private release(lockspace: string, resource: string, token: string): void {
    const done = (): void => this.deps.step({ type: 'release_result', lockspace, resource });
    const ls = this.deps.view(lockspace);
    const placement = this.placement(lockspace, resource) ?? this.adoptRecorded(lockspace, resource);
    if (ls === undefined || !ls.usable || placement === undefined) {
      // The lease stays ours on disk until our host_id is released or expires; nobody here uses it.
      done();
      return;
    }
    this.deps.begin(ls);
    this.deps
      .call(ls, { type: 'release', lease: { path: placement.path, held: this.heldOf(placement, token) } })
      .catch((error: unknown) => {
        this.deps.logger.error(
          { lockspace, resource, err: toProtocolError(error).toWire() },
          'releasing a lease on disk failed',
        );
        this.deps.db.addHistory('release_failed', {
          lockspace,
          resource,
          details: { error: toProtocolError(error).message },
        });
      })
      .finally(() => {
        this.deps.end(ls);
        done();
      });
  }

  /**
   * An acquire was in progress when the daemon died: the lease may be ours on disk with nobody
   * using it. Acquiring it as ourselves (our own lease with the same generation goes straight to a
   * ballot) and releasing it leaves it free; if another host has it, there is nothing to clean.
   */
  private cleanIntent(lockspace: string, resource: string): void {
    const done = (): void => {
      this.deps.step({ type: 'clean_done', lockspace, resource });
      this.freed(leaseKey(lockspace, resource));
    };
    const row = this.deps.recorded(lockspace, resource);
    const ls = this.deps.view(lockspace);
    if (row === undefined || ls === undefined) {
      done();
      return;
    }
    this.deps.begin(ls);
    const where = { resource, path: row.path, offsetBytes: row.offsetBytes };
    this.deps
      .call<HeldLease>(ls, { type: 'acquire', where, mode: 'exclusive', waitSeconds: 0 })
      .then((held) => this.deps.call(ls, { type: 'release', lease: { path: row.path, held } }))
      .then(
        () => this.deps.logger.info({ lockspace, resource }, 'cleaned up an acquire interrupted by the restart'),
        // Not ours (or unreachable): nothing to clean.
        () => undefined,
      )
      .finally(() => {
        this.deps.end(ls);
        done();
      });
  }

  // --------------------------------------------------------------------------- lease rows

  state(change: Extract<StateChange, { type: 'put_lease' | 'delete_lease' }>): void {
    if (change.type === 'put_lease') {
      this.putRow(change.row);
      return;
    }
    const key = leaseKey(change.lockspace, change.resource);
    const placement = this.placements.get(key);
    const holder = change.holder;
    this.deps.db.transaction(() => {
      this.deps.db.deleteLease(change.lockspace, change.resource, holderKey(holder));
      if (placement !== undefined && placement.token !== '')
        this.deps.db.addHistory('release', {
          lockspace: change.lockspace,
          resource: change.resource,
          ...(holder.kind === 'process' ? { pid: holder.pid } : {}),
        });
    });
    this.placements.delete(key);
    if (!this.deps.holds(holder)) this.unwatch(holder);
    this.freed(key);
  }

  private putRow(row: LeaseRow): void {
    const offer = this.offers.get(leaseKey(row.lockspace, row.resource));
    const placement =
      this.placement(row.lockspace, row.resource) ??
      (offer === undefined ? undefined : this.placeOffer(row.lockspace, row.resource, row.mode, offer)) ??
      this.adoptRecorded(row.lockspace, row.resource);
    assert(placement !== undefined, `a lease row of ${row.lockspace}:${row.resource} has its placement`);
    const firstHeld = !placement.rowHeld && row.token !== '';
    if (firstHeld) placement.rowHeld = true;
    const converted = placement.mode !== row.mode;
    const held = row.token === '' ? undefined : this.heldOf(placement, row.token);
    placement.mode = row.mode;
    const stored: StoredLease = {
      lockspace: row.lockspace,
      resource: row.resource,
      path: placement.path,
      offsetBytes: placement.offsetBytes,
      mode: row.mode,
      lver: held?.lver ?? 0n,
      hostId: held?.hostId ?? 0,
      generation: held?.generation ?? 0n,
      holder: row.holder.kind,
      pid: row.holder.kind === 'process' ? row.holder.pid : null,
      pidStartTime: row.holder.kind === 'process' ? row.holder.startTime : null,
      token: row.token,
      acquiredAt: placement.acquiredAt,
    };
    if (!firstHeld && !converted) {
      this.deps.db.putLease(stored);
      return;
    }
    this.deps.db.transaction(() => {
      this.deps.db.putLease(stored);
      this.deps.db.addHistory(firstHeld ? 'acquire' : 'convert', {
        lockspace: row.lockspace,
        resource: row.resource,
        ...(row.holder.kind === 'process' && firstHeld ? { pid: row.holder.pid } : {}),
        details: firstHeld
          ? { mode: row.mode, lver: held?.lver ?? 0n, persistent: row.holder.kind === 'persistent' }
          : { mode: row.mode, lver: held?.lver ?? 0n },
      });
    });
  }

  /** The HeldLease behind `token` (the placement's own when it is the same token). */
  private heldOf(placement: Placement, token: string): HeldLease {
    if (placement.held !== undefined && placement.token === token) return placement.held;
    return this.rememberToken(placement, token);
  }

  private rememberToken(placement: Placement, token: string): HeldLease {
    const held = decodeToken(token);
    placement.held = held;
    placement.token = token;
    return held;
  }

  private remember(placement: Placement, held: HeldLease): string {
    const token = encodeToken(held);
    placement.held = held;
    placement.token = token;
    return token;
  }

  // ------------------------------------------------------------------------------ holders

  /** The core asks that the holder's exit be reported (client_exit), whenever it comes. */
  watchHolder(holder: CoreHolder): void {
    if (holder.kind !== 'process') return;
    const key = holderKey(holder);
    if (this.watched.has(key)) return;
    const exited = (): void => {
      this.watched.delete(key);
      this.deps.feed({ type: 'client_exit', pid: holder.pid, startTime: holder.startTime });
    };
    if (this.deps.watch.watchIncarnation(holder.pid, holder.startTime, exited)) this.watched.set(key, exited);
    else exited();
  }

  private unwatch(holder: CoreHolder): void {
    if (holder.kind !== 'process') return;
    const key = holderKey(holder);
    const exited = this.watched.get(key);
    if (exited === undefined) return;
    this.watched.delete(key);
    this.deps.watch.unwatch(holder.pid, exited);
  }

  // ------------------------------------------------------------------- loss and adoption

  /** The core dropped the lockspace's leases for its loss: no I/O for them any more. */
  dropForLoss(lockspace: string): void {
    for (const [key, placement] of [...this.placements]) {
      if (placement.lockspace !== lockspace) continue;
      this.deps.logger.error(
        { lockspace, resource: placement.resource, mode: placement.mode },
        'lease lost with its lockspace',
      );
      this.deps.db.addHistory('lease_lost', { lockspace, resource: placement.resource });
      this.placements.delete(key);
      this.freed(key);
    }
  }

  /** The lockspace was resumed after a restart: where the leases the core adopted live. */
  adopt(stored: readonly StoredLease[]): void {
    for (const row of stored) {
      if (row.token === '' || this.placement(row.lockspace, row.resource) !== undefined) continue;
      this.placeRow(row);
      this.deps.logger.info({ lockspace: row.lockspace, resource: row.resource }, 'adopted lease after restart');
      this.deps.db.addHistory('adopt', {
        lockspace: row.lockspace,
        resource: row.resource,
        ...(row.holder === 'process' && row.pid !== null ? { pid: row.pid } : {}),
      });
    }
  }

  /** A lease the core adopted, used (released) before adopt() ran: its recorded row says where. */
  private adoptRecorded(lockspace: string, resource: string): Placement | undefined {
    const row = this.deps.recorded(lockspace, resource);
    return row === undefined || row.token === '' ? undefined : this.placeRow(row);
  }

  private placeOffer(lockspace: string, resource: string, mode: 'EX' | 'SH', offer: AcquireOffer): Placement {
    const placement: Placement = {
      lockspace,
      resource,
      path: offer.path,
      offsetBytes: offer.offsetBytes,
      acquiredAt: new Date().toISOString(),
      token: '',
      held: undefined,
      mode,
      rowHeld: false,
    };
    this.placements.set(leaseKey(lockspace, resource), placement);
    return placement;
  }

  private placeRow(row: StoredLease): Placement {
    const placement: Placement = {
      lockspace: row.lockspace,
      resource: row.resource,
      path: row.path,
      offsetBytes: row.offsetBytes,
      acquiredAt: row.acquiredAt,
      token: row.token,
      held: decodeToken(row.token),
      mode: row.mode,
      rowHeld: true,
    };
    this.placements.set(leaseKey(row.lockspace, row.resource), placement);
    return placement;
  }

  /** For replies: a coded error as the client sees it. */
  static errorOf(error: CoreError): DaemonError {
    return new DaemonError(error.code, error.message, error.details);
  }
}

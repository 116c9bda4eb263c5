/**
 * The LVs active on this host. The daemon owns them (docs/volumes.md, "Activation"): an activation
 * holds the LV's lease as a persistent lease (it outlives the command that asked), runs the
 * activation backend in this process, and is recorded in the state database, so that:
 *
 *   activate    row 'activating' -> lease acquired (persistent, EX or SH) -> device made -> row
 *               'active'. A failure at any step undoes the earlier ones: nothing is left half-active.
 *               Already active here in the other mode: the lease is converted (SH to EX fails with
 *               SHARED_HOLDERS naming the other hosts), as lvmlockd does.
 *   deactivate  refused with LV_IN_USE while a process has the device open; device removed, lease
 *               released, row deleted (lvm's order: deactivate first, then unlock).
 *   restart     the persistent leases are adopted by the lease registry; each recorded activation
 *               whose lease was adopted is checked with backend.verify and kept, otherwise dropped
 *               (lvmlockd's adopt file keeps only LVs whose device is still there).
 *   loss        see activation-loss.ts.
 *
 * Operations on one LV run one at a time (a queue per LV).
 */
import type { ActivationBackend, BackendOptions } from '@leasehold/activation';
import { MAX_PERSISTENT_LEASES } from '@leasehold/host-core';
import type { Logger } from '@leasehold/lease';
import {
  DaemonError,
  type ActivateRequest,
  type ActivateResult,
  type ActivationInfo,
  type ActiveDevice,
  type DeactivateResult,
  type RefreshRequest,
  type RefreshResult,
} from '@leasehold/protocol';
import { ClientProcess } from '../clients/client-registry.js';
import type { LeaseRegistry, Requester } from '../leases/lease-registry.js';
import type { LockspaceManager } from '../lockspaces/lockspace-manager.js';
import type { StateDb } from '../state/state-db.js';
import { activationKey, fromStored, lvText, toInfo, toStored, type ActivationRecord } from './activation-record.js';
import { withHolderIds } from './contention.js';

/** Activations whose lockspace was lost, kept for status until replaced (oldest forgotten first). */
export const MAX_LOST_ACTIVATIONS = 256;

export interface Opener {
  pid: number;
  startTime: bigint;
  comm: string;
}

/** Processes with one of these block devices open (@leasehold/activation's findOpeners). */
export type FindOpeners = (devices: Array<{ major: number; minor: number }>) => Promise<Opener[]>;

export interface ActivationDeps {
  leases: LeaseRegistry;
  manager: LockspaceManager;
  db: StateDb;
  backend: ActivationBackend;
  deviceDir: string;
  findOpeners: FindOpeners;
  logger: Logger;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A backend failure as a coded error (its own stable code when it has one). */
export function backendError(error: unknown, what: string): DaemonError {
  if (error instanceof DaemonError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  return new DaemonError(
    typeof code === 'string' && /^[A-Z][A-Z_]+$/.test(code) ? code : 'ACTIVATION_FAILED',
    `${what}: ${message(error)}`,
  );
}

export class ActivationRegistry {
  readonly records = new Map<string, ActivationRecord>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** The daemon itself, as the holder of persistent leases it releases on its own (restart checks). */
  private readonly self = new ClientProcess(process.pid, 0n, process.getuid?.() ?? 0, 0, 'leasehold-daemon');

  constructor(readonly deps: ActivationDeps) {}

  get backendOptions(): BackendOptions {
    return { deviceDir: this.deps.deviceDir };
  }

  /** Reads the activations recorded by the previous daemon (same boot) or forgets them (after a reboot). */
  load(sameBoot: boolean): void {
    const rows = this.deps.db.activations();
    if (!sameBoot) {
      for (const row of rows) this.deps.db.deleteActivation(row.lockspace, row.resource);
      return;
    }
    for (const row of rows) {
      try {
        const record = fromStored(row);
        this.records.set(record.key, record);
      } catch (error) {
        this.deps.logger.error(
          { lockspace: row.lockspace, resource: row.resource, err: message(error) },
          'unreadable activation in state: dropped',
        );
        this.deps.db.deleteActivation(row.lockspace, row.resource);
      }
    }
  }

  /** Runs `work` after every earlier operation on the same LV. */
  serial<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.queues.get(key) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.catch(() => undefined);
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return run;
  }

  list(lockspace?: string): ActivationInfo[] {
    return [...this.records.values()]
      .filter((record) => lockspace === undefined || record.lockspace === lockspace)
      .sort((a, b) => a.lockspace.localeCompare(b.lockspace) || lvText(a).localeCompare(lvText(b)))
      .map(toInfo);
  }

  /** The activation holding this persistent lease, if any (status and LOCKSPACE_BUSY say which LV). */
  recordOf(lockspace: string, resource: string): ActivationRecord | undefined {
    return this.records.get(activationKey(lockspace, resource));
  }

  // -------------------------------------------------------------------------------- activate

  activate(request: ActivateRequest, requester: Requester): Promise<ActivateResult> {
    if (request.mapping.lvUuid !== request.resource) {
      throw new DaemonError(
        'BAD_REQUEST',
        `the mapping is of LV ${request.mapping.lvUuid}, not of resource ${request.resource}`,
      );
    }
    const key = activationKey(request.lockspace, request.resource);
    return this.serial(key, async () => {
      // Not before the lockspace is joined: a restart's activations are adopted only then.
      this.deps.manager.requireUsable(request.lockspace);
      const existing = this.records.get(key);
      if (existing !== undefined && existing.loss === undefined && !existing.pendingAdoption) {
        return this.changeMode(existing, request, requester);
      }
      if (existing !== undefined) {
        // A lost activation, or one from state whose lease was not adopted: nothing holds it now.
        this.records.delete(key);
        if (existing.loss === undefined) this.deps.db.deleteActivation(existing.lockspace, existing.resource);
      }
      if (this.activeCount() >= MAX_PERSISTENT_LEASES) {
        throw new DaemonError('TOO_MANY_LEASES', `${MAX_PERSISTENT_LEASES} LVs are active on this host already`);
      }
      return this.activateNew(key, request, requester);
    });
  }

  private activeCount(): number {
    let count = 0;
    for (const record of this.records.values()) if (record.loss === undefined) count++;
    return count;
  }

  private async activateNew(key: string, request: ActivateRequest, requester: Requester): Promise<ActivateResult> {
    const { leases, backend, db, logger } = this.deps;
    const record: ActivationRecord = {
      key,
      lockspace: request.lockspace,
      resource: request.resource,
      path: request.path,
      offsetBytes: request.offsetBytes,
      mode: request.mode,
      mapping: request.mapping,
      device: null,
      state: 'activating',
      vgSeqno: request.vgSeqno,
      activatedAt: new Date().toISOString(),
      origin: 'activated',
      pendingAdoption: false,
      loss: undefined,
    };
    this.records.set(key, record);
    // On record before the lease is taken: a restart then finds the lease's owner.
    db.putActivation(toStored(record));
    try {
      await leases.acquire(
        {
          op: 'acquire',
          lockspace: request.lockspace,
          resource: request.resource,
          path: request.path,
          offsetBytes: request.offsetBytes,
          mode: request.mode,
          persistent: true,
          ...(request.waitSeconds === undefined ? {} : { waitSeconds: request.waitSeconds }),
        },
        requester,
      );
    } catch (error) {
      this.drop(record);
      throw withHolderIds(error);
    }
    let device: ActiveDevice;
    try {
      device = await backend.activate(request.mapping, this.backendOptions);
    } catch (error) {
      await this.releaseLease(record, 'activation failed');
      this.drop(record);
      throw backendError(error, `activating ${lvText(record)} (${backend.name})`);
    }
    record.device = device;
    if (record.loss !== undefined) {
      // The lockspace was lost while the device was being made: the loss handling removes it.
      throw new DaemonError(
        'LOCKSPACE_LOST',
        `lockspace ${record.lockspace} was lost while ${lvText(record)} was activated`,
      );
    }
    record.state = 'active';
    db.transaction(() => {
      db.putActivation(toStored(record));
      db.addHistory('activate', {
        lockspace: record.lockspace,
        resource: record.resource,
        details: { lv: lvText(record), mode: record.mode, device: device.devicePath, backend: device.backend },
      });
    });
    logger.info(
      {
        lockspace: record.lockspace,
        resource: record.resource,
        lv: lvText(record),
        mode: record.mode,
        device: device.devicePath,
      },
      'LV activated',
    );
    return { activation: toInfo(record), change: 'activated' };
  }

  /**
   * An LV active here is handed out again only with a device that still maps it. The device can go
   * behind our back: a loop device whose `-an` failed as busy is detached by the kernel at its last
   * close, and its number is then free for another LV; the record (and the link) would name that
   * other LV's device. Made again here, under the lease we hold.
   */
  private async ensureDevice(record: ActivationRecord): Promise<void> {
    const { backend, db, logger } = this.deps;
    const stale = record.device;
    if (stale === null) return;
    let made: ActiveDevice;
    try {
      if (await backend.verify(stale, record.mapping, this.backendOptions)) return;
      made = await backend.activate(record.mapping, this.backendOptions);
    } catch (error) {
      throw backendError(error, `activating ${lvText(record)} again (${backend.name})`);
    }
    record.device = made;
    db.transaction(() => {
      db.putActivation(toStored(record));
      db.addHistory('activate', {
        lockspace: record.lockspace,
        resource: record.resource,
        details: { lv: lvText(record), mode: record.mode, device: made.devicePath, backend: made.backend, again: true },
      });
    });
    logger.warn(
      {
        lockspace: record.lockspace,
        resource: record.resource,
        lv: lvText(record),
        stale: stale.devicePath,
        device: made.devicePath,
      },
      'LV device no longer mapped the LV: made again',
    );
  }

  /** Active here already: the same mode is a no-op, the other one a conversion of the lease. */
  private async changeMode(
    record: ActivationRecord,
    request: ActivateRequest,
    requester: Requester,
  ): Promise<ActivateResult> {
    await this.ensureDevice(record);
    if (record.mode === request.mode) return { activation: toInfo(record), change: 'unchanged' };
    try {
      await this.deps.leases.convert(
        { op: 'convert', lockspace: record.lockspace, resource: record.resource, mode: request.mode, persistent: true },
        requester,
      );
    } catch (error) {
      throw withHolderIds(error);
    }
    const from = record.mode;
    record.mode = request.mode;
    this.deps.db.transaction(() => {
      this.deps.db.putActivation(toStored(record));
      this.deps.db.addHistory('activation_convert', {
        lockspace: record.lockspace,
        resource: record.resource,
        details: { lv: lvText(record), from, to: record.mode },
      });
    });
    this.deps.logger.info(
      { lockspace: record.lockspace, resource: record.resource, lv: lvText(record), from, to: record.mode },
      'LV activation converted',
    );
    return { activation: toInfo(record), change: 'converted' };
  }

  // ------------------------------------------------------------------------------ deactivate

  deactivate(lockspace: string, resource: string): Promise<DeactivateResult> {
    const key = activationKey(lockspace, resource);
    return this.serial(key, async () => {
      const record = this.records.get(key);
      if (record === undefined || record.loss !== undefined) return { deactivated: false };
      if (record.pendingAdoption) {
        throw new DaemonError(
          'LOCKSPACE_STARTING',
          `lockspace ${lockspace} is still starting after the daemon's restart; retry once it is joined`,
        );
      }
      const pids = await this.openerPids(record);
      if (pids.length > 0) {
        throw new DaemonError(
          'LV_IN_USE',
          `${lvText(record)} is in use: its device ${record.device?.devicePath ?? ''} is open in process${pids.length > 1 ? 'es' : ''} ${pids.join(', ')}`,
          { pids },
        );
      }
      await this.removeDevice(record);
      await this.releaseLease(record, 'deactivate');
      this.drop(record);
      this.deps.db.addHistory('deactivate', { lockspace, resource, details: { lv: lvText(record) } });
      this.deps.logger.info({ lockspace, resource, lv: lvText(record) }, 'LV deactivated');
      return { deactivated: true };
    });
  }

  /** Processes (other than this daemon) with the record's device open. */
  async openerPids(record: ActivationRecord): Promise<number[]> {
    const device = record.device;
    if (device === null || device.major === null || device.minor === null) return [];
    const openers = await this.deps.findOpeners([{ major: device.major, minor: device.minor }]);
    return openers.filter((opener) => opener.pid !== process.pid).map((opener) => opener.pid);
  }

  async removeDevice(record: ActivationRecord): Promise<void> {
    if (record.device === null) return;
    try {
      await this.deps.backend.deactivate(record.device, record.mapping, this.backendOptions);
    } catch (error) {
      throw backendError(error, `deactivating ${lvText(record)} (${this.deps.backend.name})`);
    }
  }

  private async releaseLease(record: ActivationRecord, why: string): Promise<void> {
    try {
      await this.deps.leases.release(
        { op: 'release', lockspace: record.lockspace, resource: record.resource, persistent: true },
        this.self,
      );
    } catch (error) {
      // Not held any more (its lockspace was lost): nothing to give back.
      this.deps.logger.warn(
        { lockspace: record.lockspace, resource: record.resource, why, err: message(error) },
        'releasing the lease of an activation failed',
      );
    }
  }

  /** Forgets an activation (memory and state). */
  drop(record: ActivationRecord): void {
    if (this.records.get(record.key) === record) this.records.delete(record.key);
    this.deps.db.deleteActivation(record.lockspace, record.resource);
  }

  // --------------------------------------------------------------------------------- refresh

  refresh(request: RefreshRequest): Promise<RefreshResult> {
    const key = activationKey(request.lockspace, request.resource);
    return this.serial(key, async () => {
      const record = this.records.get(key);
      if (record === undefined || record.loss !== undefined || record.device === null || record.pendingAdoption) {
        throw new DaemonError(
          'LV_NOT_ACTIVE',
          `LV ${request.mapping.vgName}/${request.mapping.lvName} is not active on this host`,
        );
      }
      if (request.mapping.lvUuid !== record.resource)
        throw new DaemonError(
          'BAD_REQUEST',
          `the mapping is of LV ${request.mapping.lvUuid}, not of ${record.resource}`,
        );
      let device: ActiveDevice;
      try {
        device = await this.deps.backend.refresh(record.device, request.mapping, this.backendOptions);
      } catch (error) {
        throw backendError(error, `refreshing ${lvText(record)} (${this.deps.backend.name})`);
      }
      const before = record.mapping.sizeSectors;
      record.device = device;
      record.mapping = request.mapping;
      record.vgSeqno = request.vgSeqno;
      this.deps.db.transaction(() => {
        this.deps.db.putActivation(toStored(record));
        this.deps.db.addHistory('activation_refresh', {
          lockspace: record.lockspace,
          resource: record.resource,
          details: { lv: lvText(record), vgSeqno: request.vgSeqno, fromSectors: before, toSectors: device.sizeSectors },
        });
      });
      return { activation: toInfo(record) };
    });
  }

  // ---------------------------------------------------------------------------------- restart

  /**
   * The lockspace was resumed after a restart and its leases adopted: each activation recorded in
   * it is kept when its lease was adopted and its device is still there (an activation cut short
   * by the restart is completed), and dropped otherwise.
   */
  async restore(lockspace: string): Promise<void> {
    const adopted = new Set(
      this.deps.leases
        .heldBy({ kind: 'persistent' })
        .filter((lease) => lease.lockspace === lockspace)
        .map((lease) => lease.resource),
    );
    const pending = [...this.records.values()].filter((r) => r.lockspace === lockspace && r.pendingAdoption);
    // Queued at once, before any request about these LVs can be.
    await Promise.all(
      pending.map((record) => this.serial(record.key, () => this.restoreOne(record, adopted.has(record.resource)))),
    );
  }

  private async restoreOne(record: ActivationRecord, leaseAdopted: boolean): Promise<void> {
    const { backend, logger, db } = this.deps;
    const where = { lockspace: record.lockspace, resource: record.resource, lv: lvText(record) };
    if (!leaseAdopted) {
      logger.warn(where, 'activation recorded in state has no adopted lease: dropped');
      this.drop(record);
      db.addHistory('activation_dropped', { ...where, details: { why: 'lease not adopted' } });
      return;
    }
    try {
      if (record.device === null) {
        record.device = await backend.activate(record.mapping, this.backendOptions);
      } else if (!(await backend.verify(record.device, record.mapping, this.backendOptions))) {
        logger.warn(where, 'the device of an adopted activation is gone: releasing its lease');
        await this.releaseLease(record, 'device gone across restart');
        this.drop(record);
        db.addHistory('activation_dropped', { ...where, details: { why: 'device gone' } });
        return;
      }
    } catch (error) {
      logger.error({ ...where, err: message(error) }, 'checking an adopted activation failed: keeping it');
    }
    record.pendingAdoption = false;
    record.state = record.device === null ? 'activating' : 'active';
    record.origin = 'adopted';
    db.putActivation(toStored(record));
    db.addHistory('activation_adopted', { ...where, details: { device: record.device?.devicePath ?? null } });
    logger.info({ ...where, device: record.device?.devicePath ?? null }, 'adopted LV activation after restart');
  }

  /** Keeps at most MAX_LOST_ACTIVATIONS lost activations in memory for status. */
  trimLost(): void {
    const lost = [...this.records.values()].filter((r) => r.loss !== undefined);
    for (const record of lost.slice(0, Math.max(0, lost.length - MAX_LOST_ACTIVATIONS)))
      this.records.delete(record.key);
  }
}

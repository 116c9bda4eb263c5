/**
 * Lease loss under active LVs (issue 13, "lease loss deactivates"). When a VG's lockspace is lost,
 * the LVs active from it must be stopped before another host may take them:
 *
 *   1. the lockspace's kill campaign is held (it must not report the lockspace clean yet);
 *   2. the processes that have an LV's device open (found by device number in /proc) get the kill
 *      action of process holders: SIGTERM, then SIGKILL after the grace, or the kill command;
 *   3. once nobody has a device open it is removed (backend.deactivate);
 *   4. when every LV of the lockspace is deactivated the hold is let go: the campaign finishes and
 *      the companion is told the lockspace is gone (no reset).
 *
 * If that cannot finish before the lockspace's deadline, the companion keeps the expired
 * registration and the watchdog resets the host, before any other host may take the LVs. Status
 * shows each LV's loss: stopping, deactivated, or failed (with the last error).
 */
import type { Logger } from '@leasehold/lease';
import type { DaemonConfig } from '../config/daemon-config.js';
import { killCommandFor } from '../config/daemon-config.js';
import type { KillAction, KillVictim } from '../leases/kill-action.js';
import type { StateDb } from '../state/state-db.js';
import { lvText, type ActivationRecord } from './activation-record.js';
import type { ActivationRegistry, FindOpeners } from './activation-registry.js';

/** How often the devices of a lost lockspace are looked at for openers, and their removal retried. */
export const LOSS_POLL_MS = 250;

export interface LossDeps {
  registry: ActivationRegistry;
  kill: KillAction;
  config: DaemonConfig;
  db: StateDb;
  findOpeners: FindOpeners;
  logger: Logger;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ActivationLossHandler {
  private closed = false;

  constructor(private readonly deps: LossDeps) {}

  close(): void {
    this.closed = true;
  }

  /**
   * The lockspace's kill campaign starts with these persistent leases lost (no more disk I/O for
   * them): the LVs active from them are taken over, their users stopped and the LVs deactivated,
   * with the campaign held until then. Also for an older generation's activations found after a
   * late restart (their lease expired while the daemon was down). Returns the resources taken over.
   */
  onLost(lockspace: string, resources: readonly string[]): string[] {
    const records = resources
      .map((resource) => this.deps.registry.recordOf(lockspace, resource))
      .filter((record): record is ActivationRecord => record !== undefined && record.loss === undefined);
    if (records.length === 0) return [];
    const at = new Date().toISOString();
    for (const record of records) {
      record.loss = {
        at,
        phase: 'stopping',
        killedPids: [],
        message: 'lockspace lost: stopping the users of its device',
      };
    }
    const release = this.deps.kill.hold(lockspace);
    this.deps.logger.error(
      { lockspace, lvs: records.map(lvText) },
      'lockspace lost under active LVs: stopping their users, then deactivating them',
    );
    this.deps.db.addHistory('activation_loss', { lockspace, details: { lvs: records.map(lvText) } });
    void this.stopAll(lockspace, records)
      .catch((error: unknown) =>
        this.deps.logger.error({ lockspace, err: message(error) }, 'lease-loss deactivation failed'),
      )
      .finally(() => {
        this.deps.registry.trimLost();
        release();
      });
    return records.map((record) => record.resource);
  }

  private async stopAll(lockspace: string, records: ActivationRecord[]): Promise<void> {
    const handed = new Set<number>();
    for (;;) {
      if (this.closed) return;
      const pending = records.filter((record) => record.loss?.phase !== 'deactivated');
      if (pending.length === 0) break;
      for (const record of pending) {
        // One LV at a time, after any activate/deactivate of it in progress.
        await this.deps.registry.serial(record.key, () => this.stopOne(lockspace, record, handed));
      }
      if (records.every((record) => record.loss?.phase === 'deactivated')) break;
      await new Promise((resolve) => setTimeout(resolve, LOSS_POLL_MS));
    }
    this.deps.logger.warn({ lockspace, lvs: records.map(lvText) }, 'every LV of the lost lockspace is deactivated');
  }

  private async stopOne(lockspace: string, record: ActivationRecord, handed: Set<number>): Promise<void> {
    const loss = record.loss;
    if (loss === undefined || loss.phase === 'deactivated') return;
    const device = record.device;
    let openers: Array<{ pid: number; startTime: bigint }> = [];
    if (device !== null && device.major !== null && device.minor !== null) {
      openers = (await this.deps.findOpeners([{ major: device.major, minor: device.minor }])).filter(
        (opener) => opener.pid !== process.pid,
      );
    }
    const fresh: KillVictim[] = openers.filter((opener) => !handed.has(opener.pid));
    if (fresh.length > 0) {
      for (const victim of fresh) handed.add(victim.pid);
      loss.killedPids.push(...fresh.map((victim) => victim.pid));
      loss.message = `stopping process${loss.killedPids.length > 1 ? 'es' : ''} ${loss.killedPids.join(', ')} (device open)`;
      this.deps.logger.error(
        { lockspace, lv: lvText(record), pids: fresh.map((victim) => victim.pid) },
        'lockspace lost: stopping the processes that have the LV open',
      );
      this.deps.kill.start({
        lockspace,
        processes: fresh,
        persistentResources: [],
        command: killCommandFor(this.deps.config, lockspace),
        graceSeconds: this.deps.config.killGraceSeconds,
      });
    }
    if (openers.length > 0) return;
    try {
      await this.deps.registry.removeDevice(record);
    } catch (error) {
      loss.phase = 'failed';
      loss.message = `cannot deactivate: ${message(error)}`;
      return;
    }
    loss.phase = 'deactivated';
    loss.message =
      loss.killedPids.length === 0
        ? 'deactivated (nobody had it open)'
        : `deactivated after stopping process${loss.killedPids.length > 1 ? 'es' : ''} ${loss.killedPids.join(', ')}`;
    this.deps.db.deleteActivation(record.lockspace, record.resource);
    this.deps.db.addHistory('activation_lost_deactivated', {
      lockspace,
      resource: record.resource,
      details: { lv: lvText(record), killedPids: loss.killedPids },
    });
    this.deps.logger.warn(
      { lockspace, lv: lvText(record), killedPids: loss.killedPids },
      'lockspace lost: LV deactivated',
    );
  }
}

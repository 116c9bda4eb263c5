/**
 * The lease and activation state behind lvs' leasehold columns, gathered once per command for the
 * LVs of shared VGs being reported, and only when a selected field needs it:
 * - holders: read from disk (lv-holders.ts), one look at each VG's lockspace;
 * - this host's activation mode: from the daemon's `activations` op; unknown when the daemon cannot
 *   be reached.
 */
import { LeaseholdClient, defaultSocketPath, type LeaseMode } from '@leasehold/client';
import { formatUuid, isVgShared } from '@leasehold/lvm-format';
import { lvmLockspaceName } from '@leasehold/ondisk';
import { LvmCommandError } from '../lvm-error.js';
import { VgHolderReader, type LvLeaseHolders } from '../lv-holders.js';
import { printLvmLines } from '../output.js';
import { lockLvLocation, lockLvNameOf, SANLOCK_LOCK_TYPE } from '../shared-layout.js';
import type { LvView, ReportRow, VgView } from './views.js';

export interface LvLockState {
  /** Who holds the LV's lease, from disk; undefined when not read or unreadable. */
  holders?: LvLeaseHolders;
  /** This host: active in this mode, inactive, or unknown (the daemon did not answer). */
  local: LeaseMode | 'inactive' | 'unknown';
}

export interface LockStateNeeds {
  holders: boolean;
  local: boolean;
}

/** Fields that read the holders from disk. */
export const HOLDER_FIELDS: ReadonlySet<string> = new Set([
  'lv_lock_holders',
  'lv_lock_holders_long',
  'lv_active_remotely',
]);
/** Fields that read this host's activations from the daemon. */
export const LOCAL_FIELDS: ReadonlySet<string> = new Set([
  'lv_lock_mode',
  'lv_active',
  'lv_active_locally',
  'lv_active_exclusively',
  'lv_attr',
]);

function key(lockspace: string, resource: string): string {
  return `${lockspace}\0${resource}`;
}

/** The daemon's activations on this host (lockspace + LV UUID -> mode), or undefined when it does not answer. */
async function localActivations(client: LeaseholdClient | undefined): Promise<Map<string, LeaseMode> | undefined> {
  if (client === undefined) return undefined;
  try {
    const activations = await client.activations();
    return new Map(activations.map((a) => [key(a.lockspace, a.resource), a.mode]));
  } catch {
    return undefined;
  }
}

/** One connection for the command (activations, the holders' liveness); undefined when the daemon is down. */
async function tryConnect(): Promise<LeaseholdClient | undefined> {
  try {
    return await LeaseholdClient.connect({ socketPath: defaultSocketPath(), name: 'leasehold-lvs' });
  } catch {
    return undefined;
  }
}

function isSharedSanlock(vg: VgView): boolean {
  return isVgShared(vg.vg) && vg.vg.lockType === SANLOCK_LOCK_TYPE;
}

/** Fills `lock` of every LV row of a shared VG (the lvmlock LV has no lease and is left out). */
export async function addLockState(rows: readonly ReportRow[], needs: LockStateNeeds): Promise<void> {
  const byVg = new Map<VgView, LvView[]>();
  for (const row of rows) {
    const lv = row.lv;
    if (lv === undefined || lv.lock !== undefined || !isSharedSanlock(lv.vgView)) continue;
    if (lv.lv.name === lockLvNameOf(lv.vgView.vg)) continue;
    const list = byVg.get(lv.vgView) ?? [];
    if (!list.includes(lv)) list.push(lv);
    byVg.set(lv.vgView, list);
  }
  if (byVg.size === 0) return;
  const client = await tryConnect();
  const local = needs.local ? await localActivations(client) : undefined;
  try {
    for (const [vg, lvs] of byVg) {
      let reader: VgHolderReader | undefined;
      if (needs.holders) {
        try {
          reader = new VgHolderReader(vg.read, client, lockLvLocation(vg.read));
        } catch (error) {
          if (!(error instanceof LvmCommandError)) throw error;
          printLvmLines([`WARNING: VG ${vg.vg.name}: lock holders not read: ${error.lines.join(' ')}`]);
        }
      }
      const lockspace = reader?.location.lockspace ?? lvmLockspaceName(vg.vg.name);
      for (const lv of lvs) {
        const mode = local?.get(key(lockspace, formatUuid(lv.lv.id)));
        const state: LvLockState = { local: local === undefined ? 'unknown' : (mode ?? 'inactive') };
        if (reader !== undefined && lv.lv.lockArgs !== undefined) {
          try {
            state.holders = await reader.holdersOf(lv.lv);
          } catch (error) {
            const message = error instanceof LvmCommandError ? error.lines.join(' ') : String(error);
            printLvmLines([`WARNING: ${vg.vg.name}/${lv.lv.name}: lock holders not read: ${message}`]);
          }
        }
        lv.lock = state;
      }
    }
  } finally {
    client?.close();
  }
}

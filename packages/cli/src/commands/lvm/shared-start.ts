/**
 * Starting and stopping the lockspaces of shared VGs on this host (`leasehold lockstart [VG...]`,
 * `lockstop [VG...]`, `vgchange --lock-start/--lock-stop`, and vgcreate --shared's own start).
 * No VG named: every shared VG found (lockstart) or every one started here (lockstop).
 */
import type { LeaseholdClient, ProgressInfo } from '@leasehold/client';
import { isLeaseholdError } from '@leasehold/client';
import { LvmCommandError } from './lvm-error.js';
import { printLvmLines, printLvmOut } from './output.js';
import { LVM_LOCKSPACE_PREFIX, lvmLockspaceName } from '@leasehold/ondisk';
import { checkLockArea, lockLvLocation, type LockLvLocation } from './shared-layout.js';
import { connectForVg } from './shared-lock.js';
import { sharedVgsOf, startedLockspaces, startVgLockspace } from './shared-vg.js';
import { scanSession, type Session } from './session.js';

/** A bound on VGs one lockstart/lockstop handles. */
export const MAX_VGS_PER_LOCKSTART = 1024;

export interface StartOptions {
  wait: boolean;
  onProgress?: (progress: ProgressInfo) => void;
}

/** The shared VGs named (all found when none), each checked; unknown or local names are errors. */
async function locationsFor(session: Session, names: readonly string[]): Promise<LockLvLocation[]> {
  const result = await scanSession(session);
  const shared = sharedVgsOf(result);
  if (names.length === 0) return shared.map((s) => s.location).slice(0, MAX_VGS_PER_LOCKSTART);
  const out: LockLvLocation[] = [];
  for (const name of names.slice(0, MAX_VGS_PER_LOCKSTART)) {
    const found = shared.find((s) => s.read.name === name);
    if (found !== undefined) {
      out.push(found.location);
      continue;
    }
    const local = result.vgs.find((v) => v.name === name);
    if (local === undefined) throw new LvmCommandError('VG_NOT_FOUND', [`Volume group "${name}" not found`]);
    if (local.vg.lockType === undefined || local.vg.lockType === 'none')
      throw new LvmCommandError('NOT_SHARED', [`VG ${name} is not a shared VG: it has no lockspace to start.`]);
    // sharedVgsOf skipped it because its lvmlock is unreachable: say why.
    lockLvLocation(local);
  }
  return out;
}

/** Joins the lockspace of each VG (all shared VGs when none named). Returns how many were started. */
export async function lockstartVgs(session: Session, names: readonly string[], options: StartOptions): Promise<number> {
  const locations = await locationsFor(session, names);
  if (locations.length === 0) {
    printLvmOut(['No shared volume groups found.']);
    return 0;
  }
  for (const location of locations) await checkLockArea(location);
  const client = await connectForVg(locations[0]?.vgName ?? '', 'lock start');
  try {
    const started = await startedLockspaces(client);
    // Start all, then wait for each: joins overlap, as lvmlockd's per-VG threads do.
    for (const location of locations) {
      if (started.get(location.lockspace) === 'joined') continue;
      printLvmOut([`VG ${location.vgName} starting sanlock lockspace`]);
      await startVgLockspace(session, client, location, false);
    }
    if (options.wait) {
      printLvmOut(['Starting locking.  Waiting until locks are ready...']);
      for (const location of locations) {
        const result = await startVgLockspace(session, client, location, true, options.onProgress);
        if (result.lockspace.state !== 'joined')
          throw new LvmCommandError('LOCKSPACE_LOST', [
            `VG ${location.vgName} start failed: lockspace ${location.lockspace} is ${result.lockspace.state}.`,
          ]);
      }
    }
    return locations.length;
  } catch (error) {
    if (isLeaseholdError(error)) throw new LvmCommandError(error.code, [`Lock start failed: ${error.message}`]);
    throw error;
  } finally {
    client.close();
  }
}

/** Leaves the lockspace of each VG (every shared VG started here when none named). */
export async function lockstopVgs(_session: Session, names: readonly string[], wait: boolean): Promise<number> {
  const client = await connectForVg(names[0] ?? 'shared', 'lock stop');
  try {
    const started = await startedLockspaces(client);
    let lockspaces: Array<{ vgName: string; lockspace: string }>;
    if (names.length === 0) {
      // Every shared VG's lockspace this daemon has: lvm_<vg> (found even if the VG can no longer be read).
      lockspaces = [...started.keys()]
        .filter((ls) => ls.startsWith(LVM_LOCKSPACE_PREFIX))
        .map((ls) => ({ vgName: ls.slice(LVM_LOCKSPACE_PREFIX.length), lockspace: ls }));
    } else {
      lockspaces = names.map((vgName) => ({ vgName, lockspace: lvmLockspaceName(vgName) }));
    }
    for (const { vgName, lockspace } of lockspaces) {
      if (!started.has(lockspace)) {
        printLvmLines([`VG ${vgName} is not started on this host.`]);
        continue;
      }
      try {
        await client.lockstop(lockspace, { wait });
      } catch (error) {
        if (isLeaseholdError(error))
          throw new LvmCommandError(error.code, [`VG ${vgName} stop failed: ${error.message}`]);
        throw error;
      }
      printLvmOut([`VG ${vgName} stopped sanlock lockspace`]);
    }
    return lockspaces.length;
  } finally {
    client.close();
  }
}

/** vgcreate --shared: start the new VG's lockspace here, or say how when no daemon runs. */
export async function startCreatedVg(session: Session, vgName: string): Promise<void> {
  let client: LeaseholdClient;
  try {
    client = await connectForVg(vgName, 'lock start');
  } catch (error) {
    if (!(error instanceof LvmCommandError)) throw error;
    printLvmLines([
      `WARNING: VG ${vgName} created, but its lockspace is not started: no leasehold daemon is running.`,
      `Start the daemon, then run: leasehold lockstart ${vgName}`,
    ]);
    return;
  }
  client.close();
  await lockstartVgs(session, [vgName], { wait: true });
}

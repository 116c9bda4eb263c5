/**
 * Reports (pvs, vgs, lvs) read shared VGs under their VG lock taken shared (VGLK SH), as lvm does
 * through lvmlockd, so that they never show a VG halfway through another host's change; a report of
 * every VG or PV (pvs; vgs and lvs without names) first takes the global lock shared (GLLK SH), so
 * that it never shows the set of VGs and PVs halfway through a vgcreate, vgremove, vgextend, pvcreate
 * ... of another host. The locks are held by this process through the daemon for one re-read of the
 * devices, then released. As with lvm, a VG lock that cannot be had (no daemon, the lockspace not
 * started here, EX held elsewhere past the retries) only warns ("Reading VG <vg> without a lock.")
 * and the report goes on; a global lock whose VG is not started here is skipped quietly (lvm's
 * debug log only); a global lock held EX elsewhere past the retries fails the report as lvm's does
 * ("Global lock failed: held by other host.").
 */
import { existsSync } from 'node:fs';
import { LeaseholdClient, defaultSocketPath } from '@leasehold/client';
import { GL_RESOURCE_NAME, GL_SLOT, VG_RESOURCE_NAME, VG_SLOT } from '@leasehold/ondisk';
import { readAllVgs, scanDevices, type VgScanResult } from '@leasehold/volume';
import { LvmCommandError } from './lvm-error.js';
import { printLvmLines } from './output.js';
import { acquireVgResource, type HeldLock } from './shared-lock.js';
import { globalLockVgs, sharedVgsOf, startedLockspaces } from './shared-vg.js';
import { textCacheOf, type Session } from './session.js';

function withoutLock(vgName: string, why: readonly string[]): void {
  printLvmLines([...why, `Reading VG ${vgName} without a lock.`]);
}

/**
 * GLLK SH for a report of everything, when some VG carries the enabled global lock: undefined when
 * its lockspace is not started here; LvmCommandError when it stays held EX past the retries.
 */
async function globalLockShared(client: LeaseholdClient, result: VgScanResult): Promise<HeldLock | undefined> {
  const gl = (await globalLockVgs(result))[0];
  if (gl === undefined) return undefined;
  // lvm reads on without it and says so only in its debug log ("Skipping global lock: lockspace
  // not found or started"): a host that does not use the GL's VG must still be able to report.
  if ((await startedLockspaces(client)).get(gl.lockspace) !== 'joined') return undefined;
  try {
    return await acquireVgResource(client, gl, GL_RESOURCE_NAME, GL_SLOT, 'SH', 'Global');
  } catch (error) {
    if (error instanceof LvmCommandError && error.code === 'LEASE_HELD')
      throw new LvmCommandError('GLOBAL_LOCK', ['Global lock failed: held by other host.', ...error.lines]);
    throw error;
  }
}

/**
 * `result` with the shared VGs named in `vgNames` (all when empty) read again under VGLK SH, and,
 * when `listsAll` (the report covers every VG or PV), the whole scan read again under GLLK SH too.
 * Local VGs cost nothing: no daemon is asked unless a shared VG is seen.
 */
export async function readSharedVgsLocked(
  session: Session,
  result: VgScanResult,
  vgNames: readonly string[],
  listsAll: boolean,
): Promise<VgScanResult> {
  const shared = sharedVgsOf(result);
  const wanted = shared.filter(({ read }) => vgNames.length === 0 || vgNames.includes(read.name));
  if (wanted.length === 0 && !(listsAll && shared.length > 0)) return result;
  let client: LeaseholdClient;
  try {
    client = await LeaseholdClient.connect({ socketPath: defaultSocketPath(), name: 'leasehold-report' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    for (const { read } of wanted)
      withoutLock(read.name, [`VG ${read.name} lock skipped: cannot reach the leasehold daemon (${message}).`]);
    return result;
  }
  const held: HeldLock[] = [];
  try {
    const global = listsAll ? await globalLockShared(client, result) : undefined;
    if (global !== undefined) held.push(global);
    const locked = new Set<string>();
    for (const { read, location } of wanted) {
      try {
        held.push(await acquireVgResource(client, location, VG_RESOURCE_NAME, VG_SLOT, 'SH', `VG ${read.name}`));
        locked.add(read.vg.id);
      } catch (error) {
        if (!(error instanceof LvmCommandError)) throw error;
        withoutLock(read.name, error.lines.slice(0, 1));
      }
    }
    if (locked.size === 0 && global === undefined) return result;
    // Read again under the locks: the first scan (before them) may predate another host's commit.
    const textCache = textCacheOf(session);
    const again = readAllVgs(
      await scanDevices(
        session.devices.filter((d) => existsSync(d)),
        textCache === undefined ? {} : { textCache },
      ),
      { readOnly: true },
    );
    // Under the global lock the re-read is the set of VGs and PVs; without it, only the locked VGs.
    if (global !== undefined) return again;
    const fresh = new Map(again.vgs.filter((v) => locked.has(v.vg.id)).map((v) => [v.vg.id, v]));
    return { ...result, vgs: result.vgs.map((v) => fresh.get(v.vg.id) ?? v) };
  } finally {
    for (const lock of held) await lock.lease.release().catch(() => undefined);
    client.close();
  }
}

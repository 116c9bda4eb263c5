/**
 * Reports (pvs, vgs, lvs) read shared VGs under their VG lock taken shared (VGLK SH), as lvm does
 * through lvmlockd, so that they never show a VG halfway through another host's change. The locks
 * are held by this process through the daemon for one re-read of the devices, then released. As with
 * lvm, a shared lock that cannot be had (no daemon, the lockspace not started here, EX held elsewhere
 * past the retries) only warns ("Reading VG <vg> without a lock.") and the report goes on.
 */
import { existsSync } from 'node:fs';
import { LeaseholdClient, defaultSocketPath } from '@leasehold/client';
import { VG_RESOURCE_NAME, VG_SLOT } from '@leasehold/ondisk';
import { readAllVgs, scanDevices, type VgScanResult } from '@leasehold/volume';
import { LvmCommandError } from './lvm-error.js';
import { printLvmLines } from './output.js';
import { acquireVgResource, type HeldLock } from './shared-lock.js';
import { sharedVgsOf } from './shared-vg.js';
import { textCacheOf, type Session } from './session.js';

function withoutLock(vgName: string, why: readonly string[]): void {
  printLvmLines([...why, `Reading VG ${vgName} without a lock.`]);
}

/**
 * `result` with the shared VGs named in `vgNames` (all when empty) read again under VGLK SH. Local
 * VGs cost nothing: no daemon is asked unless a shared VG is reported.
 */
export async function readSharedVgsLocked(
  session: Session,
  result: VgScanResult,
  vgNames: readonly string[],
): Promise<VgScanResult> {
  const wanted = sharedVgsOf(result).filter(({ read }) => vgNames.length === 0 || vgNames.includes(read.name));
  if (wanted.length === 0) return result;
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
    if (locked.size === 0) return result;
    // Read again under the locks: the first scan (before them) may predate another host's commit.
    const textCache = textCacheOf(session);
    const again = readAllVgs(
      await scanDevices(
        session.devices.filter((d) => existsSync(d)),
        textCache === undefined ? {} : { textCache },
      ),
      { readOnly: true },
    );
    const fresh = new Map(again.vgs.filter((v) => locked.has(v.vg.id)).map((v) => [v.vg.id, v]));
    return { ...result, vgs: result.vgs.map((v) => fresh.get(v.vg.id) ?? v) };
  } finally {
    for (const lock of held) await lock.lease.release().catch(() => undefined);
    client.close();
  }
}

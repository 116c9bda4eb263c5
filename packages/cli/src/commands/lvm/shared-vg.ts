/**
 * Whole shared VGs: what vgcreate --shared adds (lvmlock at PE 0, its initial image, lock_type and
 * lock_args), the global lock around changes to the set of VGs, and starting / stopping a VG's
 * lockspace on this host through the daemon.
 */
import { hostname } from 'node:os';
import { isVgShared, type VolumeGroup } from '@leasehold/lvm-format';
import type { LeaseholdClient, LockstartResult, ProgressInfo } from '@leasehold/client';
import {
  formatVgLockArgs,
  lockspaceNamesCollide,
  lvmLockspaceName,
  lvmlockGeometry,
  OnDiskError,
} from '@leasehold/ondisk';
import type { VgRead, VgScanResult } from '@leasehold/volume';
import { LvmCommandError } from './lvm-error.js';
import { printLvmOut } from './output.js';
import {
  globalLockState,
  initLockArea,
  lockLvLocation,
  newLockLv,
  SANLOCK_LOCK_TYPE,
  type LockLvLocation,
} from './shared-layout.js';
import { connectForVg, hostIdFor, sharedSettings, withGlobalLockEx } from './shared-lock.js';
import type { Session } from './session.js';

/** The shared (sanlock) VGs of a scan that leasehold can reach, with their lvmlock locations. */
export function sharedVgsOf(result: VgScanResult): Array<{ read: VgRead; location: LockLvLocation }> {
  const out: Array<{ read: VgRead; location: LockLvLocation }> = [];
  for (const read of result.vgs) {
    if (!isVgShared(read.vg) || read.vg.lockType !== SANLOCK_LOCK_TYPE) continue;
    try {
      out.push({ read, location: lockLvLocation(read) });
    } catch {
      // unreachable lvmlock (missing PV, several segments): not a candidate here
    }
  }
  return out;
}

/** The VGs whose GL slot holds the enabled `GLLK`. */
export async function globalLockVgs(result: VgScanResult): Promise<LockLvLocation[]> {
  const out: LockLvLocation[] = [];
  for (const { location } of sharedVgsOf(result))
    if ((await globalLockState(location)) === 'enabled') out.push(location);
  return out;
}

/** The lockspaces this host's daemon has joined (or is joining), by name. */
export async function startedLockspaces(client: LeaseholdClient): Promise<Map<string, string>> {
  const status = await client.status();
  return new Map(status.lockspaces.map((ls) => [ls.lockspace, ls.state]));
}

/**
 * Runs `work` under the global lock EX when some VG carries the enabled GLLK (none before the first
 * shared VG, as with lvmlockd). `work` is told whether it holds the GL (then it must re-read: the set
 * of VGs may have changed since the caller's scan). Refused when the GL VG is not started here.
 */
export async function withGlobalLockIfAny<T>(
  result: VgScanResult,
  required: boolean,
  work: (held: boolean) => Promise<T>,
): Promise<T> {
  const gl = (await globalLockVgs(result))[0];
  if (gl === undefined) return work(false);
  const client = await connectForVg(gl.vgName, 'global lock');
  try {
    const started = await startedLockspaces(client);
    if (started.get(gl.lockspace) !== 'joined') {
      if (!required) return await work(false);
      throw new LvmCommandError('GLOBAL_LOCK', [
        `Global lock failed: check that global lockspace is started (the global lock is in VG ${gl.vgName}: leasehold lockstart ${gl.vgName}).`,
      ]);
    }
    return await withGlobalLockEx(client, gl, () => work(true));
  } finally {
    client.close();
  }
}

/** vgcreate --shared, before any write: the name must make a lockspace name of its own. */
export function checkNewSharedVgName(vgName: string, result: VgScanResult): void {
  try {
    lvmLockspaceName(vgName);
  } catch (error) {
    if (error instanceof OnDiskError)
      throw new LvmCommandError(error.code, [error.message, `Volume group "${vgName}" not created.`]);
    throw error;
  }
  for (const other of result.vgs) {
    if (isVgShared(other.vg) && lockspaceNamesCollide(vgName, other.name)) {
      throw new LvmCommandError('NAME_TOO_LONG', [
        `VG name ${vgName} collides with shared VG ${other.name}: sanlock sees only the first 44 characters, so both would be lockspace ${('lvm_' + vgName).slice(0, 48)}.`,
        `Volume group "${vgName}" not created.`,
      ]);
    }
  }
}

/** vgcreate --shared, before the commit: lvmlock, its initial image, lock_type/lock_args. */
export async function prepareSharedVg(
  session: Session,
  vg: VolumeGroup,
  result: VgScanResult,
  force: boolean,
  random: (n: number) => Uint8Array,
): Promise<'enabled' | 'disabled'> {
  checkNewSharedVgName(vg.name, result);
  const shared = sharedVgsOf(result);
  const globalLock = shared.length === 0 ? 'enabled' : 'disabled';
  const pv = vg.pvs[0];
  if (pv === undefined) throw new LvmCommandError('INTERNAL', ['Internal error: a VG without PVs.']);
  const sectorSize = sectorSizeOf(result, vg);
  const geometry = lvmlockGeometry(sectorSize);
  const lockLv = newLockLv(vg, geometry, random, hostname(), Math.floor(Date.now() / 1000));
  vg.lvs.push(lockLv);
  vg.lockType = SANLOCK_LOCK_TYPE;
  vg.lockArgs = formatVgLockArgs();
  const extentBytes = vg.extentSizeSectors * 512;
  const offsetBytes = pv.peStartSectors * 512;
  if (offsetBytes % geometry.alignBytes !== 0) {
    throw new LvmCommandError('SHARED_VG_LOCK', [
      `The first PV's data starts at ${offsetBytes}, not a multiple of the lease align ${geometry.alignBytes}; create it with --dataalignment ${geometry.alignBytes / 1024}k.`,
    ]);
  }
  if (globalLock === 'enabled') printLvmOut(['Enabling sanlock global lock']);
  await initLockArea({
    vgName: vg.name,
    path: pv.deviceHint ?? '',
    offsetBytes,
    sizeBytes: (lockLv.segments[0]?.extentCount ?? 0) * extentBytes,
    geometry,
    globalLock,
    ioTimeoutSeconds: sharedSettings(session).ioTimeoutSeconds,
    force,
  });
  printLvmOut(['Logical volume "lvmlock" created.']);
  return globalLock;
}

/** The sector size of the PV (4K if any PV of the VG has 4K sectors, as lvmlockd decides). */
function sectorSizeOf(result: VgScanResult, vg: VolumeGroup): number {
  const ids = new Set(vg.pvs.map((p) => p.id));
  const devices = [...result.orphans, ...result.vgs.flatMap((r) => [...r.devices.values()])].filter((d) =>
    ids.has(d.label.pvId),
  );
  return devices.some((d) => d.sectorSize === 4096) ? 4096 : 512;
}

/** Renders the daemon's progress for `lockstart --wait` on a terminal. */
export type ProgressSink = (progress: ProgressInfo) => void;

/** Starts the VG's lockspace on this host (host_id from host-id.conf or auto). */
export async function startVgLockspace(
  session: Session,
  client: LeaseholdClient,
  location: LockLvLocation,
  wait: boolean,
  onProgress?: ProgressSink,
): Promise<LockstartResult> {
  const hostId = hostIdFor(session, location.vgName, location.lockspace);
  return client.lockstart(location.lockspace, hostId, location.path, location.offsetBytes, {
    wait,
    ...(onProgress === undefined ? {} : { onProgress }),
  });
}

/**
 * LV activation as lvm with lvmlockd does it, through the daemon, which holds the LV's lease for as
 * long as the LV is active here (docs/volumes.md, "Activation"):
 *
 *   -aey / -ay / -aly   the LV's lease EX (in a shared VG plain `y` means exclusive), then the device
 *   -asy                the lease SH
 *   -an                 the device goes (refused while open), then the lease
 *   --refresh           the device follows the VG metadata (after an extend)
 *
 * Each command reads its VG under VGLK SH (as lvmlockd's lvchange -a does) and sends the daemon the
 * LV's mapping onto this host's PVs, computed from that metadata, with the LV lease's place in
 * lvmlock. A refusal names the holder (host_id, name, mode, liveness, last renewal).
 */
import { open } from 'node:fs/promises';
import { lvMapping } from '@leasehold/activation';
import { isLeaseholdError, type LeaseholdClient } from '@leasehold/client';
import { formatUuid, isLvVisible, isVgShared, type LogicalVolume } from '@leasehold/lvm-format';
import type { ActivateResult, LvMapping } from '@leasehold/client';
import { VG_RESOURCE_NAME, VG_SLOT } from '@leasehold/ondisk';
import type { VgRead, VgScanResult } from '@leasehold/volume';
import { holderLine } from './activation-holder.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmLines } from './output.js';
import { findVgOrFail, scanSession, type Session } from './session.js';
import { lockLvLocation, lvLeasePlace, type LockLvLocation } from './shared-layout.js';
import { acquireVgResource, connectForVg, scanQuietly } from './shared-lock.js';

/** What an -a value asks for. */
export type ActivationChange = { kind: 'activate'; mode: 'EX' | 'SH' } | { kind: 'deactivate' };

/** lvm zeroes the first 4 KiB of a new LV (lvcreate -Zy, the default) once it is active. */
export const NEW_LV_ZERO_BYTES = 4096;

/** Codes meaning another holder has the LV's lease. */
const HELD_CODES: ReadonlySet<string> = new Set(['LEASE_HELD', 'LEASE_HELD_LOCALLY', 'SHARED_HOLDERS', 'TIMEOUT']);
const NOT_STARTED_CODES: ReadonlySet<string> = new Set(['NO_LOCKSPACE', 'LOCKSPACE_STARTING', 'LOCKSPACE_STOPPING']);

/** -a VALUE: y, ey, ly (exclusive in a shared VG, as lvmlockd), sy (shared), n, en, ln, sn (deactivate). */
export function parseActivationValue(value: string, command: string): ActivationChange {
  if (value === 'y' || value === 'ey' || value === 'ly') return { kind: 'activate', mode: 'EX' };
  if (value === 'sy') return { kind: 'activate', mode: 'SH' };
  if (value === 'n' || value === 'en' || value === 'ln' || value === 'sn') return { kind: 'deactivate' };
  throw new LvmUsageError([
    `Invalid argument for --activate: ${value}`,
    `Run \`${command} --help' for more information.`,
  ]);
}

/** The LV's sectors on this host's PVs, from the VG metadata read here. */
export function mappingOf(read: VgRead, lv: LogicalVolume): LvMapping {
  return lvMapping(read.vg, lv.name, (pv) => {
    const device = read.devices.get(pv.id);
    if (device === undefined)
      throw new LvmCommandError('MISSING_PV', [
        `Cannot activate ${read.vg.name}/${lv.name}: its PV ${formatUuid(pv.id)} (${pv.key}) is missing.`,
      ]);
    return device.path;
  });
}

function lvOf(read: VgRead, lvName: string): LogicalVolume {
  const lv = read.vg.lvs.find((l) => l.name === lvName);
  if (lv === undefined)
    throw new LvmCommandError('NOT_FOUND', [`Failed to find logical volume "${read.vg.name}/${lvName}"`]);
  if (!isLvVisible(lv))
    throw new LvmCommandError('LV_INTERNAL', [`Operation not permitted on hidden LV ${read.vg.name}/${lvName}.`]);
  return lv;
}

/** A local VG: leasehold activates LVs of shared VGs (it has no lease to hold for a local one). */
function refuseLocal(read: VgRead, lvName: string): void {
  if (isVgShared(read.vg)) return;
  throw new LvmCommandError('UNSUPPORTED', [
    `VG ${read.vg.name} is not shared: leasehold activates LVs of shared VGs only (use lvm's lvchange for ${read.vg.name}/${lvName}).`,
  ]);
}

/** The daemon's refusal as lvm's lines, naming the holder. */
async function refusal(
  error: unknown,
  client: LeaseholdClient,
  location: LockLvLocation,
  lvPath: string,
): Promise<unknown> {
  if (!isLeaseholdError(error)) return error;
  if (HELD_CODES.has(error.code)) {
    const holder = await holderLine(client, location.lockspace, error.code, error.details);
    return new LvmCommandError(error.code === 'TIMEOUT' ? 'TIMEOUT' : 'LEASE_HELD', [
      `LV locked by other host: ${lvPath}`,
      ...(holder === undefined ? [error.message] : [holder]),
      `Failed to lock logical volume ${lvPath}.`,
    ]);
  }
  if (NOT_STARTED_CODES.has(error.code)) {
    return new LvmCommandError(error.code, [
      `LV ${lvPath} lock failed: the lockspace of VG ${location.vgName} is not started on this host (${error.message}).`,
      `Start it with: leasehold lockstart ${location.vgName}`,
    ]);
  }
  if (error.code === 'LV_IN_USE') {
    return new LvmCommandError('LV_IN_USE', [`Logical volume ${lvPath} in use.`, error.message]);
  }
  return new LvmCommandError(error.code, [error.message, `Failed to activate logical volume ${lvPath}.`]);
}

/** Activates (or converts) one LV of `read` through `client`, the VG read under its VGLK. */
export async function activateLv(
  client: LeaseholdClient,
  read: VgRead,
  lvName: string,
  mode: 'EX' | 'SH',
  seqno: number = read.seqno,
): Promise<ActivateResult> {
  refuseLocal(read, lvName);
  const lv = lvOf(read, lvName);
  const location = lockLvLocation(read);
  const place = lvLeasePlace(location, lv);
  const mapping = mappingOf(read, lv);
  try {
    return await client.activate({
      lockspace: location.lockspace,
      resource: formatUuid(lv.id),
      path: place.path,
      offsetBytes: place.offsetBytes,
      mode,
      mapping,
      vgSeqno: seqno,
    });
  } catch (error) {
    throw await refusal(error, client, location, `${read.vg.name}/${lvName}`);
  }
}

/** Deactivates one LV on this host; false when it was not active here. */
export async function deactivateLv(client: LeaseholdClient, read: VgRead, lvName: string): Promise<boolean> {
  refuseLocal(read, lvName);
  const lv = lvOf(read, lvName);
  const location = lockLvLocation(read);
  try {
    return (await client.deactivate(location.lockspace, formatUuid(lv.id))).deactivated;
  } catch (error) {
    throw await refusal(error, client, location, `${read.vg.name}/${lvName}`);
  }
}

/** Makes an LV active here follow its metadata; false when it is not active here (nothing to do). */
export async function refreshLv(client: LeaseholdClient, read: VgRead, lvName: string): Promise<boolean> {
  refuseLocal(read, lvName);
  const lv = lvOf(read, lvName);
  const location = lockLvLocation(read);
  try {
    await client.refreshActivation({
      lockspace: location.lockspace,
      resource: formatUuid(lv.id),
      mapping: mappingOf(read, lv),
      vgSeqno: read.seqno,
    });
    return true;
  } catch (error) {
    if (isLeaseholdError(error, 'LV_NOT_ACTIVE')) return false;
    throw await refusal(error, client, location, `${read.vg.name}/${lvName}`);
  }
}

/**
 * Runs `work` with the shared VG read under its VGLK SH (held by this process through the daemon),
 * as lvmlockd's lvchange -a and --refresh do. The first scan is reused when VGLK's value block shows
 * no later commit.
 */
export async function withVgShared<T>(
  session: Session,
  result: VgScanResult,
  vgName: string,
  work: (client: LeaseholdClient, read: VgRead) => Promise<T>,
): Promise<T> {
  const first = findVgOrFail(result, vgName);
  if (!isVgShared(first.vg)) {
    const client = await connectForVg(vgName, 'activation');
    try {
      return await work(client, first);
    } finally {
      client.close();
    }
  }
  const location = lockLvLocation(first);
  const client = await connectForVg(vgName, 'activation');
  try {
    const held = await acquireVgResource(client, location, VG_RESOURCE_NAME, VG_SLOT, 'SH', `VG ${vgName}`);
    try {
      const current = held.valueBlock.rVersion > first.seqno ? findVgOrFail(await scanQuietly(session), vgName) : first;
      return await work(client, current);
    } finally {
      await held.lease.release();
    }
  } finally {
    client.close();
  }
}

/** One VG/LV argument (also /dev/VG/LV); the VG alone when there is no slash. */
export function splitTarget(text: string): { vgName: string; lvName: string | undefined } {
  const trimmed = text.startsWith('/dev/') ? text.slice('/dev/'.length) : text;
  const slash = trimmed.indexOf('/');
  if (slash < 0) return { vgName: trimmed, lvName: undefined };
  return { vgName: trimmed.slice(0, slash), lvName: trimmed.slice(slash + 1) };
}

/**
 * Applies one -a change to LVs given as VG/LV (a plain VG: its visible LVs), VG by VG; failures are
 * printed and the others still done. Returns the number of failures.
 */
export async function changeActivation(
  session: Session,
  targets: readonly string[],
  change: ActivationChange,
  options: { wholeVgReport?: boolean } = {},
): Promise<number> {
  const result = await scanSession(session);
  const byVg = new Map<string, Array<string | undefined>>();
  for (const target of targets) {
    const { vgName, lvName } = splitTarget(target);
    byVg.set(vgName, [...(byVg.get(vgName) ?? []), lvName]);
  }
  let failures = 0;
  for (const [vgName, names] of byVg) {
    try {
      await withVgShared(session, result, vgName, async (client, read) => {
        const lvNames = names.flatMap((name) =>
          name !== undefined ? [name] : read.vg.lvs.filter(isLvVisible).map((lv) => lv.name),
        );
        let active = 0;
        for (const lvName of lvNames) {
          try {
            if (change.kind === 'activate') {
              await activateLv(client, read, lvName, change.mode);
              active++;
            } else {
              await deactivateLv(client, read, lvName);
            }
          } catch (error) {
            if (!(error instanceof LvmCommandError)) throw error;
            printLvmLines(error.lines);
            failures++;
            if (change.kind === 'deactivate') active++;
          }
        }
        if (options.wholeVgReport === true) {
          process.stdout.write(`  ${active} logical volume(s) in volume group "${vgName}" now active\n`);
        }
      });
    } catch (error) {
      if (!(error instanceof LvmCommandError)) throw error;
      printLvmLines(error.lines);
      failures++;
    }
  }
  return failures;
}

/** lvcreate's zeroing of a new LV's first 4 KiB, through its device (when the backend made one). */
export async function zeroStart(devicePath: string): Promise<void> {
  const handle = await open(devicePath, 'r+');
  try {
    await handle.write(new Uint8Array(NEW_LV_ZERO_BYTES), 0, NEW_LV_ZERO_BYTES, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * lvcreate in a shared VG, after the commit and still under VGLK EX: the new LV is activated as lvm
 * does by default (EX; SH for -asy) and its first 4 KiB zeroed unless -Zn.
 */
export async function activateNewLv(
  client: LeaseholdClient,
  read: VgRead,
  lvName: string,
  mode: 'EX' | 'SH',
  seqno: number,
  zero: boolean,
): Promise<void> {
  const { activation } = await activateLv(client, read, lvName, mode, seqno);
  const devicePath = activation.device.devicePath;
  if (!zero) return;
  if (devicePath === null) {
    printLvmLines([`WARNING: Logical volume ${read.vg.name}/${lvName} not zeroed.`]);
    return;
  }
  await zeroStart(devicePath);
}

/**
 * lvremove in a shared VG: an LV active on this host is deactivated first when -f says so (lvm asks
 * otherwise; leasehold refuses instead of asking). Nothing happens when it is not active here.
 */
export async function deactivateBeforeRemove(
  client: LeaseholdClient,
  read: VgRead,
  lv: LogicalVolume,
  force: boolean,
): Promise<void> {
  if (!isVgShared(read.vg)) return;
  const location = lockLvLocation(read);
  const active = (await client.activations(location.lockspace)).some(
    (a) => a.resource === formatUuid(lv.id) && a.loss === undefined,
  );
  if (!active) return;
  const lvPath = `${read.vg.name}/${lv.name}`;
  if (!force)
    throw new LvmCommandError('LV_ACTIVE', [
      `Logical volume ${lvPath} is active on this host: deactivate it first (leasehold lvchange -an ${lvPath}), or give -f.`,
      `Logical volume ${lvPath} not removed.`,
    ]);
  await deactivateLv(client, read, lv.name);
}

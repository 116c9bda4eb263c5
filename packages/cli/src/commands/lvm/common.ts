/** Helpers the changing lvm commands share: sizes in messages, PV entries, PV keys, confirmations. */
import { closeSync, openSync, readSync } from 'node:fs';
import type { PhysicalVolume, VolumeGroup } from '@leasehold/lvm-format';
import { type PvDevice, pvEntryFor, type VgScanResult } from '@leasehold/volume';
import { fixedC } from './units.js';
import { LvmUsageError } from './lvm-error.js';

const LONG_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/** lvm's sizes in messages: "100.00 MiB", with "<" when rounding went up. */
export function displaySizeLong(sizeBytes: number): string {
  let exponent = 0;
  while (exponent < LONG_UNITS.length - 1 && sizeBytes >= 1024 ** (exponent + 1)) exponent++;
  const value = sizeBytes / 1024 ** exponent;
  const text = exponent === 0 ? fixedC(value, 0) : fixedC(value, 2);
  return `${Number(text) > value ? '<' : ''}${text} ${LONG_UNITS[exponent]}`;
}

/** The kernel's random source, as lvm reads it for UUIDs (loading node:crypto costs a command ~5 ms). */
const RANDOM_DEVICE = '/dev/urandom';

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  const fd = openSync(RANDOM_DEVICE, 'r');
  try {
    for (let done = 0; done < length; ) {
      const n = readSync(fd, out, done, length - done, null);
      if (n <= 0) throw new Error(`short read from ${RANDOM_DEVICE}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** The device of `path` in a scan: a member of a VG, an orphan PV, or not a PV. */
export type DeviceRole =
  | { kind: 'member'; vgName: string; device: PvDevice }
  | { kind: 'orphan'; device: PvDevice }
  | { kind: 'none' };

export function roleOf(result: VgScanResult, path: string): DeviceRole {
  for (const read of result.vgs) {
    for (const device of read.devices.values())
      if (device.path === path) return { kind: 'member', vgName: read.name, device };
    for (const device of read.outdatedDevices)
      if (device.path === path) return { kind: 'member', vgName: read.name, device };
  }
  const orphan = result.orphans.find((d) => d.path === path);
  return orphan === undefined ? { kind: 'none' } : { kind: 'orphan', device: orphan };
}

/** The VG text entry of a PV joining a VG (vgcreate, vgextend). */
export function pvEntry(key: string, device: PvDevice, extentSizeSectors: number): PhysicalVolume {
  return pvEntryFor(device, key, extentSizeSectors);
}

/** lvm writes PV keys pv0, pv1 ... in VG order; renumbering after a PV leaves keeps that (segments follow). */
export function renumberPvKeys(vg: VolumeGroup): void {
  const rename = new Map<string, string>();
  for (const [i, pv] of vg.pvs.entries()) rename.set(pv.key, `pv${i}`);
  for (const pv of vg.pvs) pv.key = rename.get(pv.key) ?? pv.key;
  for (const lv of vg.lvs)
    for (const seg of lv.segments) for (const area of seg.stripes) area.pvKey = rename.get(area.pvKey) ?? area.pvKey;
}

/** The next free pvN key. */
export function nextPvKey(vg: VolumeGroup): string {
  const taken = new Set(vg.pvs.map((p) => p.key));
  let n = vg.pvs.length;
  while (taken.has(`pv${n}`)) n++;
  return `pv${n}`;
}

/** Devices of a VG keyed by PV UUID, for commitVg, with PVs joining added. */
export function devicesFor(
  existing: ReadonlyMap<string, PvDevice>,
  joining: readonly PvDevice[],
): Map<string, PvDevice> {
  const map = new Map(existing);
  for (const d of joining) map.set(d.label.pvId, d);
  return map;
}

/** lvm's tag rules: 1-1024 characters from [A-Za-z0-9_+.-/=!:&#], not starting with '-'. */
const TAG_PATTERN = /^[A-Za-z0-9_+./=!:&#][A-Za-z0-9_+.\-/=!:&#]*$/;
export const MAX_TAG_LENGTH = 1024;

/** The --addtag values, checked as lvm checks them (exit 3 for a bad one). */
export function checkedTags(values: readonly string[] | undefined): string[] {
  const tags = values ?? [];
  for (const tag of tags) {
    if (tag.length > MAX_TAG_LENGTH || !TAG_PATTERN.test(tag))
      throw new LvmUsageError([`Invalid argument for --addtag: ${tag}`, 'Error during parsing of command line.']);
  }
  return [...new Set(tags)];
}

/** Shared helpers of the volume tests: leasehold's own commands in a few lines, on top of the library. */
import { randomFillSync } from 'node:crypto';
import {
  allocateExtents,
  commitVg,
  type DeviceOpener,
  findVg,
  newLogicalVolume,
  readAllVgs,
  scanDevices,
  type VgRead,
  type VgScanResult,
  type WriterIdentity,
} from '@leasehold/volume';

export const randomBytes = (n: number): Uint8Array => randomFillSync(new Uint8Array(n));

export function identity(command: string): WriterIdentity {
  return {
    description: `Write from ${command}.`,
    hostName: 'testhost',
    unameText: 'Linux testhost 6.1 #1 SMP x86_64',
    nowSeconds: 1_796_600_000,
  };
}

export async function lhRead(devices: readonly string[], opener?: DeviceOpener): Promise<VgScanResult> {
  return readAllVgs(await scanDevices(devices, opener === undefined ? {} : { opener }));
}

export async function lhVg(devices: readonly string[], name: string, opener?: DeviceOpener): Promise<VgRead> {
  return findVg(await lhRead(devices, opener), name);
}

/** Commits `read.vg` (changed by the caller) with seqno + 1. */
export async function lhCommit(read: VgRead, command: string, opener?: DeviceOpener): Promise<void> {
  await commitVg(read.vg, read.devices, identity(command), {
    seqno: read.seqno + 1,
    ...(opener === undefined ? {} : { opener }),
  });
}

/** pv keys of the devices named, for allocation on those PVs only. */
export function pvKeysOf(read: VgRead, paths: readonly string[]): string[] {
  return paths.map((p) => {
    for (const [id, dev] of read.devices) {
      if (dev.path === p) {
        const pv = read.vg.pvs.find((x) => x.id === id);
        if (pv !== undefined) return pv.key;
      }
    }
    throw new Error(`${p} is not a PV of ${read.name}`);
  });
}

export async function lhLvcreate(
  devices: readonly string[],
  vgName: string,
  lvName: string,
  extents: number,
  onPvs?: string[],
  opener?: DeviceOpener,
  stripes = 1,
): Promise<void> {
  const read = await lhVg(devices, vgName, opener);
  const lv = newLogicalVolume(read.vg, { name: lvName, randomBytes, hostName: 'testhost', nowSeconds: 1_796_600_000 });
  lv.segments = allocateExtents({
    vg: read.vg,
    lvName,
    existing: [],
    extents,
    stripes,
    stripeSizeSectors: 128,
    ...(onPvs ? { pvKeys: pvKeysOf(read, onPvs) } : {}),
  });
  read.vg.lvs.push(lv);
  await lhCommit(read, `lvcreate -n ${lvName} -l ${extents} ${vgName}`, opener);
}

export async function lhLvextend(
  devices: readonly string[],
  vgName: string,
  lvName: string,
  extents: number,
  onPvs?: string[],
  opener?: DeviceOpener,
): Promise<void> {
  const read = await lhVg(devices, vgName, opener);
  const lv = read.vg.lvs.find((l) => l.name === lvName);
  if (lv === undefined) throw new Error(`no LV ${lvName}`);
  lv.segments = allocateExtents({
    vg: read.vg,
    lvName,
    existing: lv.segments,
    extents,
    ...(onPvs ? { pvKeys: pvKeysOf(read, onPvs) } : {}),
  });
  await lhCommit(read, `lvextend -l +${extents} ${vgName}/${lvName}`, opener);
}

/** "dev:start-end" ranges of an LV's segments, the way lvs prints seg_pe_ranges. */
export function peRanges(read: VgRead, lvName: string): string[] {
  const lv = read.vg.lvs.find((l) => l.name === lvName);
  if (lv === undefined) throw new Error(`no LV ${lvName}`);
  const pathOf = new Map<string, string>();
  for (const pv of read.vg.pvs) pathOf.set(pv.key, read.devices.get(pv.id)?.path ?? '[unknown]');
  return lv.segments.map((seg) => {
    const per = seg.extentCount / seg.stripes.length;
    return seg.stripes.map((a) => `${pathOf.get(a.pvKey)}:${a.startPe}-${a.startPe + per - 1}`).join(' ');
  });
}

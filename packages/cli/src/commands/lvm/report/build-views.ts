/**
 * Builds the report views from one scan: one pass over PVs, LVs and segments (no per-row lookups by
 * name), so reports stay linear in the size of the VGs.
 */
import { statSync } from 'node:fs';
import { isLabelInUse, isLvVisible, lvExtentCount, maxTextSizeBytes, SECTOR_SIZE_BYTES } from '@leasehold/lvm-format';
import type { MdaState, PvDevice, VgRead, VgScanResult } from '@leasehold/volume';
import { UNKNOWN_DEVICE_NAME, type MdaView, type PvView, type VgView } from './views.js';

export interface ReportViews {
  /** Every PV: members of VGs (found or missing) and orphans, in scan order (missing ones last). */
  pvs: PvView[];
  vgs: VgView[];
}

function roundDown(n: number, to: number): number {
  return Math.floor(n / to) * to;
}

/**
 * lvm's mda_free: the largest copy the mda may hold minus the current copy, in whole sectors
 * ((size - 512) / 2 - 512 - text size, rounded down; checked against vgs/pvs over many text sizes).
 */
export function mdaFreeBytes(mda: MdaState): number {
  if (mda.header === undefined) return 0;
  const current = mda.header.committed.offsetBytes === 0 ? 0 : mda.header.committed.sizeBytes;
  return roundDown(Math.max(0, maxTextSizeBytes(mda.area.sizeBytes) - current), SECTOR_SIZE_BYTES);
}

function mdaViews(device: PvDevice): MdaView[] {
  return device.mdas.map((m) => ({
    sizeBytes: m.area.sizeBytes,
    freeBytes: mdaFreeBytes(m),
    used: m.header !== undefined && !m.ignored,
  }));
}

function deviceNumbers(path: string): { major: number | undefined; minor: number | undefined } {
  try {
    const st = statSync(path);
    if (!st.isBlockDevice()) return { major: undefined, minor: undefined };
    const rdev = st.rdev;
    return { major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
  } catch {
    return { major: undefined, minor: undefined };
  }
}

function orphanView(device: PvDevice): PvView {
  return {
    deviceName: device.path,
    uuid: device.label.pvId,
    devSizeBytes: device.sizeBytes,
    ...deviceNumbers(device.path),
    mdas: mdaViews(device),
    extVersion: device.label.extensionVersion,
    peStartBytes: device.label.dataAreas[0]?.offsetBytes ?? 0,
    labelInUse: isLabelInUse(device.label),
    vg: undefined,
    pv: undefined,
    peAllocCount: 0,
    missing: false,
  };
}

function vgView(read: VgRead): VgView {
  const vg = read.vg;
  const view: VgView = {
    vg,
    read,
    pvs: [],
    pvByKey: new Map(),
    lvs: [],
    missingPvCount: 0,
    freeExtents: 0,
    totalExtents: 0,
    textSizeBytes: read.source.sizeBytes,
  };
  const allocated = new Map<string, number>();
  for (const lv of vg.lvs) {
    for (const seg of lv.segments) {
      const per = seg.stripes.length === 0 ? 0 : seg.extentCount / seg.stripes.length;
      for (const area of seg.stripes) allocated.set(area.pvKey, (allocated.get(area.pvKey) ?? 0) + per);
    }
    view.lvs.push({ vgView: view, lv, extentCount: lvExtentCount(lv), visible: isLvVisible(lv) });
  }
  for (const pv of vg.pvs) {
    const device = read.devices.get(pv.id);
    const alloc = allocated.get(pv.key) ?? 0;
    const pvView: PvView =
      device === undefined
        ? {
            deviceName: UNKNOWN_DEVICE_NAME,
            uuid: pv.id,
            devSizeBytes: 0,
            major: undefined,
            minor: undefined,
            mdas: [],
            extVersion: 0,
            peStartBytes: pv.peStartSectors * SECTOR_SIZE_BYTES,
            labelInUse: true,
            vg: view,
            pv,
            peAllocCount: alloc,
            missing: true,
          }
        : {
            ...orphanView(device),
            peStartBytes: pv.peStartSectors * SECTOR_SIZE_BYTES,
            vg: view,
            pv,
            peAllocCount: alloc,
          };
    if (pvView.missing) view.missingPvCount++;
    view.pvs.push(pvView);
    view.pvByKey.set(pv.key, pvView);
    view.totalExtents += pv.peCount;
    view.freeExtents += pv.peCount - alloc;
  }
  return view;
}

export function buildViews(result: VgScanResult): ReportViews {
  const vgs = result.vgs.map(vgView);
  const byPath = new Map<string, PvView>();
  const missing: PvView[] = [];
  for (const vg of vgs) {
    for (const pv of vg.pvs) {
      if (pv.missing) missing.push(pv);
      else byPath.set(pv.deviceName, pv);
    }
  }
  for (const device of result.orphans) byPath.set(device.path, orphanView(device));
  return { pvs: [...byPath.values(), ...missing], vgs };
}

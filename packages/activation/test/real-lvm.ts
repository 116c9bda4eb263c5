/** A VG made by the real lvm on loop devices, read back as the model lvMapping takes, and lvm's own report of it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatUuid, parseVgText, type PhysicalVolume, type VolumeGroup } from '@leasehold/lvm-format';
import type { LvSegmentMap } from '@leasehold/protocol';
import type { LoopSet, LvmSandbox } from '@leasehold/testkit';

export interface RealVg {
  sandbox: LvmSandbox;
  loops: LoopSet;
  name: string;
}

/** The committed metadata as lvm has it now (vgcfgbackup writes the same text format). */
export function readVg(real: RealVg): VolumeGroup {
  const file = join(real.sandbox.dir, `${real.name}.vg`);
  real.sandbox.ok('vgcfgbackup', ['-f', file, real.name], real.loops.devices);
  return parseVgText(readFileSync(file)).vg;
}

/** This host's path of each PV, by UUID, as `pvs` reports it. */
export function pvPaths(real: RealVg): (pv: PhysicalVolume) => string {
  const rows = real.sandbox.report('pvs', ['-o', 'pv_name,pv_uuid'], real.loops.devices);
  const byUuid = new Map(rows.map((r) => [r.pv_uuid ?? '', r.pv_name ?? '']));
  return (pv) => {
    const path = byUuid.get(formatUuid(pv.id));
    if (path === undefined) throw new Error(`pvs does not list PV ${formatUuid(pv.id)}`);
    return path;
  };
}

/** lvm's own account of an LV's runs: `lvs` segments (seg_start_pe, seg_pe_ranges) and `pvs` pe_start. */
export function lvmRuns(real: RealVg, lvName: string): LvSegmentMap[] {
  const devices = real.loops.devices;
  const units = ['--units', 's', '--nosuffix'];
  const [vgRow] = real.sandbox.report('vgs', [...units, '-o', 'vg_extent_size', real.name], devices);
  const extentSectors = Number(vgRow?.vg_extent_size);
  const peStart = new Map(
    real.sandbox
      .report('pvs', [...units, '-o', 'pv_name,pe_start'], devices)
      .map((r) => [r.pv_name, Number(r.pe_start)]),
  );
  const rows = real.sandbox.report('lvs', ['-o', 'seg_start_pe,seg_pe_ranges', `${real.name}/${lvName}`], devices);
  return rows
    .map((row) => {
      const match = /^(.+):([0-9]+)-([0-9]+)$/.exec(row.seg_pe_ranges ?? '');
      if (match === null) throw new Error(`unexpected seg_pe_ranges "${row.seg_pe_ranges}"`);
      const [, pvPath = '', first = '', last = ''] = match;
      const start = peStart.get(pvPath);
      if (start === undefined) throw new Error(`pvs does not list ${pvPath}`);
      return {
        lvStartSectors: Number(row.seg_start_pe) * extentSectors,
        lengthSectors: (Number(last) - Number(first) + 1) * extentSectors,
        pvPath,
        pvOffsetSectors: start + Number(first) * extentSectors,
      };
    })
    .sort((a, b) => a.lvStartSectors - b.lvStartSectors);
}

/**
 * The Attr strings of pvs, vgs and lvs (man pvs/vgs/lvs, "Attr" sections), for the LV kinds leasehold
 * knows: linear and striped LVs, hidden or not. The state is `a` for an LV of a shared VG the daemon
 * holds active on this host (lvs asks it when lv_attr is shown), else `-` as lvm prints an inactive LV
 * on a host with device-mapper (`-wi-------`; without device-mapper lvm prints `-wi-XX----`).
 */
import { isVgShared } from '@leasehold/lvm-format';
import type { LvView, PvView, VgView } from './views.js';

const ALLOCATION_CHARS: Record<string, string> = {
  contiguous: 'c',
  cling: 'l',
  cling_by_tags: 'l',
  normal: 'n',
  anywhere: 'a',
  inherit: 'i',
};

export function pvAttr(pv: PvView): string {
  const member = pv.vg !== undefined;
  let first = '-';
  if (member && pv.pv?.status.includes('ALLOCATABLE')) first = 'a';
  else if (!member && pv.labelInUse) first = 'u';
  const exported = pv.pv?.status.includes('EXPORTED') ? 'x' : '-';
  return `${first}${exported}${pv.missing ? 'm' : '-'}`;
}

export function vgAttr(view: VgView): string {
  const vg = view.vg;
  const perm = vg.status.includes('WRITE') ? 'w' : 'r';
  const resizeable = vg.status.includes('RESIZEABLE') ? 'z' : '-';
  const exported = vg.status.includes('EXPORTED') ? 'x' : '-';
  const partial = view.missingPvCount > 0 ? 'p' : '-';
  const policy = ALLOCATION_CHARS[vg.allocationPolicy ?? 'normal'] ?? '-';
  const cluster = vg.status.includes('CLUSTERED') ? 'c' : isVgShared(vg) ? 's' : '-';
  return `${perm}${resizeable}${exported}${partial}${policy}${cluster}`;
}

export function lvAttr(view: LvView): string {
  const lv = view.lv;
  const type = '-';
  const perm = lv.status.includes('WRITE') ? 'w' : 'r';
  const policy = ALLOCATION_CHARS[lv.allocationPolicy ?? 'inherit'] ?? 'i';
  const fixedMinor = lv.status.includes('FIXED_MINOR') ? 'm' : '-';
  const state = view.lock?.local === 'EX' || view.lock?.local === 'SH' ? 'a' : '-';
  const target = '-';
  const zero = '-';
  const health = view.vgView.missingPvCount > 0 && lvUsesMissingPv(view) ? 'p' : '-';
  const skip = lv.flags.includes('ACTIVATION_SKIP') ? 'k' : '-';
  return `${type}${perm}${policy}${fixedMinor}${state}-${target}${zero}${health}${skip}`;
}

function lvUsesMissingPv(view: LvView): boolean {
  for (const seg of view.lv.segments) {
    for (const area of seg.stripes) if (view.vgView.pvByKey.get(area.pvKey)?.missing) return true;
  }
  return false;
}

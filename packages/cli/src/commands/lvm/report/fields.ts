/**
 * The report fields leasehold prints, with lvm 2.03.16's names, headings and minimum widths
 * (lib/report/columns.h, checked against the real lvs/vgs/pvs here). Sizes are in bytes and printed in
 * the --units of the command; numbers and sizes are right-aligned, everything else left-aligned.
 */
import { formatUuid, isLvVisible, isVgShared, SECTOR_SIZE_BYTES } from '@leasehold/lvm-format';
import { holdersLong, holdersShort, type LvLeaseHolders } from '../lv-holders.js';
import { lvAttr, pvAttr, vgAttr } from './attrs.js';
import { refreshedText } from './refresh-state.js';
import type { LvView, PvView, ReportRow, SegView, VgView } from './views.js';

/** A size in bytes; printed in the command's units. */
export interface SizeValue {
  bytes: number;
}

/** What a field gives for one row: text, a number, a size, or a size-like text such as "auto". */
export type FieldValue = string | number | SizeValue;

/** Which rows a field reads: pvs rows carry pv (and vg), vgs rows vg, lvs rows lv, vg (and seg). */
export type FieldObject = 'pv' | 'vg' | 'lv' | 'seg';

export interface FieldDef {
  name: string;
  heading: string;
  minWidth: number;
  object: FieldObject;
  /** Right-aligned numbers and sizes. */
  numeric: boolean;
  get(row: ReportRow): FieldValue;
}

const SECTOR = SECTOR_SIZE_BYTES;
const FORMAT_NAME = 'lvm2';

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal: report row has no ${what}`);
  return value;
}
const pvOf = (row: ReportRow): PvView => need(row.pv, 'PV');
const vgOf = (row: ReportRow): VgView | undefined => row.vg ?? row.pv?.vg ?? row.lv?.vgView;
const lvOf = (row: ReportRow): LvView => need(row.lv, 'LV');
const segOf = (row: ReportRow): SegView | undefined => row.seg;
const size = (bytes: number): SizeValue => ({ bytes });
const bin = (set: boolean, word: string): string => (set ? word : '');

function extentBytes(vg: VgView | undefined): number {
  return vg === undefined ? 0 : vg.vg.extentSizeSectors * SECTOR;
}

/** The device mapper name of an LV: dashes in names are doubled, then VG-LV. */
export function dmName(vgName: string, lvName: string): string {
  return `${vgName.replaceAll('-', '--')}-${lvName.replaceAll('-', '--')}`;
}

/** lvm's report/time_format default "%Y-%m-%d %T %z", in local time. */
export function formatLvmTime(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const offsetMinutes = -date.getTimezoneOffset();
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

function segDevice(seg: SegView, pvKey: string): string {
  return seg.lvView.vgView.pvByKey.get(pvKey)?.deviceName ?? pvKey;
}

function segArea(seg: SegView): number {
  return seg.seg.stripes.length === 0 ? 0 : seg.seg.extentCount / seg.seg.stripes.length;
}

function peRanges(seg: SegView | undefined): string {
  if (seg === undefined) return '';
  const per = segArea(seg);
  return seg.seg.stripes.map((s) => `${segDevice(seg, s.pvKey)}:${s.startPe}-${s.startPe + per - 1}`).join(' ');
}

function devices(seg: SegView | undefined): string {
  if (seg === undefined) return '';
  return seg.seg.stripes.map((s) => `${segDevice(seg, s.pvKey)}(${s.startPe})`).join(',');
}

function segType(seg: SegView | undefined): string {
  if (seg === undefined) return '';
  if (seg.seg.type === 'striped') return seg.seg.stripes.length === 1 ? 'linear' : 'striped';
  return seg.seg.type;
}

function pvSizeBytes(pv: PvView): number {
  const vg = pv.vg;
  if (vg === undefined || pv.pv === undefined) return pv.devSizeBytes;
  return pv.pv.peCount * extentBytes(vg);
}

function pvFreeBytes(pv: PvView): number {
  if (pv.vg === undefined || pv.pv === undefined) return pv.devSizeBytes;
  return (pv.pv.peCount - pv.peAllocCount) * extentBytes(pv.vg);
}

function minOf(values: number[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < min) min = v;
  return min === Number.POSITIVE_INFINITY ? 0 : min;
}

function pvMdaFree(pv: PvView): number {
  return minOf(pv.mdas.filter((m) => m.used).map((m) => m.freeBytes));
}

function vgMdas(vg: VgView): PvView['mdas'] {
  const all: PvView['mdas'] = [];
  for (const pv of vg.pvs) all.push(...pv.mdas);
  return all;
}

/** The hidden LV lvmlockd keeps sanlock's leases in; lvm recognises it by name. */
const SANLOCK_LV_NAME = 'lvmlock';

function lvRole(lv: LvView): string {
  if (lv.visible) return 'public';
  return lv.lv.name === SANLOCK_LV_NAME ? 'private,lockd,sanlock' : 'private';
}

/**
 * lvm's active fields: `word` when active on this host (in `onlyMode`, if given), '' when not, and
 * `unknown` (as lvm prints with activation disabled) when the daemon did not say. LVs of local VGs
 * have no lock state: leasehold activates LVs of shared VGs only.
 */
function activeText(lv: LvView, word: string, onlyMode?: 'EX' | 'SH'): string {
  const local = lv.lock?.local;
  if (local === undefined || local === 'inactive') return '';
  if (local === 'unknown') return 'unknown';
  return onlyMode === undefined || local === onlyMode ? word : '';
}

function lockMode(lv: LvView): string {
  const local = lv.lock?.local;
  return local === 'EX' || local === 'SH' ? local : '';
}

function holdersOf(lv: LvView, format: (holders: LvLeaseHolders) => string): string {
  const holders = lv.lock?.holders;
  return holders === undefined ? '' : format(holders);
}

function lvName(lv: LvView): string {
  return lv.visible ? lv.lv.name : `[${lv.lv.name}]`;
}

type Def = [
  name: string,
  heading: string,
  minWidth: number,
  object: FieldObject,
  numeric: boolean,
  get: (row: ReportRow) => FieldValue,
];

const DEFS: Def[] = [
  // ---- LV fields ----
  ['lv_uuid', 'LV UUID', 38, 'lv', false, (r) => formatUuid(lvOf(r).lv.id)],
  ['lv_name', 'LV', 4, 'lv', false, (r) => lvName(lvOf(r))],
  ['lv_full_name', 'LV', 4, 'lv', false, (r) => `${lvOf(r).vgView.vg.name}/${lvOf(r).lv.name}`],
  [
    'lv_path',
    'Path',
    0,
    'lv',
    false,
    (r) => (lvOf(r).visible ? `/dev/${lvOf(r).vgView.vg.name}/${lvOf(r).lv.name}` : ''),
  ],
  ['lv_dm_path', 'DMPath', 0, 'lv', false, (r) => `/dev/mapper/${dmName(lvOf(r).vgView.vg.name, lvOf(r).lv.name)}`],
  ['lv_parent', 'Parent', 0, 'lv', false, () => ''],
  [
    'lv_layout',
    'Layout',
    10,
    'lv',
    false,
    (r) => (lvOf(r).lv.segments.some((s) => s.stripes.length > 1) ? 'striped' : 'linear'),
  ],
  ['lv_role', 'Role', 10, 'lv', false, (r) => lvRole(lvOf(r))],
  ['lv_allocation_policy', 'AllocPol', 10, 'lv', false, (r) => lvOf(r).lv.allocationPolicy ?? 'inherit'],
  ['lv_fixed_minor', 'FixMin', 10, 'lv', true, (r) => bin(lvOf(r).lv.status.includes('FIXED_MINOR'), 'fixed minor')],
  [
    'lv_skip_activation',
    'SkipAct',
    15,
    'lv',
    true,
    (r) => bin(lvOf(r).lv.flags.includes('ACTIVATION_SKIP'), 'skip activation'),
  ],
  ['lv_active', 'Active', 0, 'lv', false, (r) => activeText(lvOf(r), 'active')],
  ['lv_active_locally', 'ActLocal', 10, 'lv', true, (r) => activeText(lvOf(r), 'active locally')],
  [
    'lv_active_remotely',
    'ActRemote',
    10,
    'lv',
    true,
    (r) =>
      bin(
        (lvOf(r).lock?.holders?.holders ?? []).some((h) => !h.self),
        'active remotely',
      ),
  ],
  ['lv_active_exclusively', 'ActExcl', 10, 'lv', true, (r) => activeText(lvOf(r), 'active exclusively', 'EX')],
  // leasehold's own: who holds the LV's lease (from disk) and this host's mode (from its daemon).
  ['lv_lock_holders', 'LockHolders', 0, 'lv', false, (r) => holdersOf(lvOf(r), holdersShort)],
  ['lv_lock_holders_long', 'LockHolderHosts', 0, 'lv', false, (r) => holdersOf(lvOf(r), holdersLong)],
  ['lv_lock_mode', 'LockMode', 0, 'lv', false, (r) => lockMode(lvOf(r))],
  ['lv_major', 'Maj', 0, 'lv', true, (r) => lvOf(r).lv.major ?? -1],
  ['lv_minor', 'Min', 0, 'lv', true, (r) => lvOf(r).lv.minor ?? -1],
  [
    'lv_read_ahead',
    'Rahead',
    0,
    'lv',
    true,
    (r) => {
      const ra = lvOf(r).lv.readAheadSectors;
      return ra === undefined ? 'auto' : ra < 0 ? 'none' : size(ra * SECTOR);
    },
  ],
  ['lv_size', 'LSize', 0, 'lv', true, (r) => size(lvOf(r).extentCount * extentBytes(lvOf(r).vgView))],
  ['seg_count', '#Seg', 0, 'lv', true, (r) => lvOf(r).lv.segments.length],
  ['origin', 'Origin', 0, 'lv', false, () => ''],
  ['pool_lv', 'Pool', 0, 'lv', false, () => ''],
  ['move_pv', 'Move', 0, 'lv', false, () => ''],
  ['mirror_log', 'Log', 0, 'lv', false, () => ''],
  ['convert_lv', 'Convert', 0, 'lv', false, () => ''],
  ['data_lv', 'Data', 0, 'lv', false, () => ''],
  ['metadata_lv', 'Meta', 0, 'lv', false, () => ''],
  ['data_percent', 'Data%', 6, 'lv', true, () => ''],
  ['snap_percent', 'Snap%', 6, 'lv', true, () => ''],
  ['metadata_percent', 'Meta%', 6, 'lv', true, () => ''],
  ['copy_percent', 'Cpy%Sync', 0, 'lv', true, () => ''],
  ['sync_percent', 'Cpy%Sync', 0, 'lv', true, () => ''],
  ['lv_tags', 'LV Tags', 0, 'lv', false, (r) => lvOf(r).lv.tags.join(',')],
  ['lv_profile', 'LProfile', 0, 'lv', false, (r) => lvOf(r).lv.profile ?? ''],
  ['lv_lockargs', 'LLockArgs', 0, 'lv', false, (r) => lvOf(r).lv.lockArgs ?? ''],
  [
    'lv_time',
    'CTime',
    26,
    'lv',
    false,
    (r) => {
      const t = lvOf(r).lv.creationTime;
      return t === undefined ? '' : formatLvmTime(t);
    },
  ],
  ['lv_host', 'Host', 10, 'lv', false, (r) => lvOf(r).lv.creationHost ?? ''],
  ['lv_kernel_major', 'KMaj', 0, 'lv', true, () => -1],
  ['lv_kernel_minor', 'KMin', 0, 'lv', true, () => -1],
  [
    'lv_permissions',
    'LPerms',
    8,
    'lv',
    false,
    (r) => (lvOf(r).lv.status.includes('WRITE') ? 'writeable' : 'read-only'),
  ],
  ['lv_attr', 'Attr', 0, 'lv', false, (r) => lvAttr(lvOf(r))],
  // leasehold's own: the seqno each holder refreshed to after a shared extend (refresh-state.ts).
  ['lv_lock_refreshed', 'Refreshed', 0, 'lv', false, (r) => refreshedText(lvOf(r))],
  // ---- segment fields (an lvs with any of them prints one row per segment) ----
  ['segtype', 'Type', 0, 'seg', false, (r) => segType(segOf(r))],
  ['stripes', '#Str', 0, 'seg', true, (r) => segOf(r)?.seg.stripes.length ?? 0],
  ['data_stripes', '#DStr', 0, 'seg', true, (r) => segOf(r)?.seg.stripes.length ?? 0],
  ['stripe_size', 'Stripe', 0, 'seg', true, (r) => size((segOf(r)?.seg.stripeSizeSectors ?? 0) * SECTOR)],
  ['seg_start', 'Start', 0, 'seg', true, (r) => size((segOf(r)?.seg.startExtent ?? 0) * extentBytes(lvOf(r).vgView))],
  ['seg_start_pe', 'Start', 0, 'seg', true, (r) => segOf(r)?.seg.startExtent ?? 0],
  ['seg_size', 'SSize', 0, 'seg', true, (r) => size((segOf(r)?.seg.extentCount ?? 0) * extentBytes(lvOf(r).vgView))],
  ['seg_size_pe', 'SSize', 0, 'seg', true, (r) => segOf(r)?.seg.extentCount ?? 0],
  ['seg_tags', 'Seg Tags', 0, 'seg', false, (r) => segOf(r)?.seg.tags.join(',') ?? ''],
  ['seg_pe_ranges', 'PE Ranges', 0, 'seg', false, (r) => peRanges(segOf(r))],
  ['seg_le_ranges', 'LE Ranges', 0, 'seg', false, (r) => peRanges(segOf(r))],
  ['devices', 'Devices', 0, 'seg', false, (r) => devices(segOf(r))],
  // ---- PV label fields ----
  ['pv_fmt', 'Fmt', 0, 'pv', false, () => FORMAT_NAME],
  ['pv_uuid', 'PV UUID', 38, 'pv', false, (r) => formatUuid(pvOf(r).uuid)],
  ['dev_size', 'DevSize', 0, 'pv', true, (r) => size(pvOf(r).devSizeBytes)],
  ['pv_name', 'PV', 10, 'pv', false, (r) => pvOf(r).deviceName],
  ['pv_major', 'Maj', 0, 'pv', false, (r) => (pvOf(r).major === undefined ? '' : String(pvOf(r).major))],
  ['pv_minor', 'Min', 0, 'pv', false, (r) => (pvOf(r).minor === undefined ? '' : String(pvOf(r).minor))],
  ['pv_mda_free', 'PMdaFree', 9, 'pv', true, (r) => size(pvMdaFree(pvOf(r)))],
  ['pv_mda_size', 'PMdaSize', 9, 'pv', true, (r) => size(minOf(pvOf(r).mdas.map((m) => m.sizeBytes)))],
  ['pv_ext_vsn', 'PExtVsn', 0, 'pv', true, (r) => pvOf(r).extVersion],
  // ---- PV fields ----
  ['pe_start', '1st PE', 7, 'pv', true, (r) => size(pvOf(r).peStartBytes)],
  ['pv_size', 'PSize', 0, 'pv', true, (r) => size(pvSizeBytes(pvOf(r)))],
  ['pv_free', 'PFree', 0, 'pv', true, (r) => size(pvFreeBytes(pvOf(r)))],
  ['pv_used', 'Used', 0, 'pv', true, (r) => size(pvOf(r).peAllocCount * extentBytes(pvOf(r).vg))],
  ['pv_attr', 'Attr', 0, 'pv', false, (r) => pvAttr(pvOf(r))],
  [
    'pv_allocatable',
    'Allocatable',
    0,
    'pv',
    true,
    (r) => bin(pvOf(r).vg !== undefined && (pvOf(r).pv?.status.includes('ALLOCATABLE') ?? false), 'allocatable'),
  ],
  ['pv_exported', 'Exported', 10, 'pv', true, (r) => bin(pvOf(r).pv?.status.includes('EXPORTED') ?? false, 'exported')],
  ['pv_missing', 'Missing', 10, 'pv', true, (r) => bin(pvOf(r).missing, 'missing')],
  ['pv_pe_count', 'PE', 3, 'pv', true, (r) => pvOf(r).pv?.peCount ?? 0],
  ['pv_pe_alloc_count', 'Alloc', 0, 'pv', true, (r) => pvOf(r).peAllocCount],
  ['pv_tags', 'PV Tags', 0, 'pv', false, (r) => pvOf(r).pv?.tags.join(',') ?? ''],
  ['pv_mda_count', '#PMda', 0, 'pv', true, (r) => pvOf(r).mdas.length],
  ['pv_mda_used_count', '#PMdaUse', 0, 'pv', true, (r) => pvOf(r).mdas.filter((m) => m.used).length],
  ['pv_ba_start', 'BA Start', 0, 'pv', true, (r) => size((pvOf(r).pv?.baStartSectors ?? 0) * SECTOR)],
  ['pv_ba_size', 'BA Size', 0, 'pv', true, (r) => size((pvOf(r).pv?.baSizeSectors ?? 0) * SECTOR)],
  ['pv_in_use', 'PInUse', 0, 'pv', true, (r) => bin(pvOf(r).vg !== undefined || pvOf(r).labelInUse, 'used')],
  ['pv_duplicate', 'Duplicate', 0, 'pv', true, () => ''],
  ['pv_device_id', 'DeviceID', 0, 'pv', false, (r) => pvOf(r).pv?.deviceId ?? ''],
  ['pv_device_id_type', 'DeviceIDType', 0, 'pv', false, (r) => pvOf(r).pv?.deviceIdType ?? ''],
  // ---- VG fields ----
  ['vg_fmt', 'Fmt', 0, 'vg', false, () => FORMAT_NAME],
  ['vg_uuid', 'VG UUID', 38, 'vg', false, (r) => vgField(r, (v) => formatUuid(v.vg.id))],
  ['vg_name', 'VG', 0, 'vg', false, (r) => vgField(r, (v) => v.vg.name)],
  ['vg_attr', 'Attr', 5, 'vg', false, (r) => vgField(r, vgAttr)],
  [
    'vg_permissions',
    'VPerms',
    10,
    'vg',
    false,
    (r) => vgField(r, (v) => (v.vg.status.includes('WRITE') ? 'writeable' : 'read-only')),
  ],
  [
    'vg_extendable',
    'Extendable',
    0,
    'vg',
    true,
    (r) => vgField(r, (v) => bin(v.vg.status.includes('RESIZEABLE'), 'extendable')),
  ],
  [
    'vg_exported',
    'Exported',
    10,
    'vg',
    true,
    (r) => vgField(r, (v) => bin(v.vg.status.includes('EXPORTED'), 'exported')),
  ],
  [
    'vg_autoactivation',
    'AutoAct',
    0,
    'vg',
    true,
    (r) => vgField(r, (v) => bin(!v.vg.flags.includes('NOAUTOACTIVATE'), 'enabled')),
  ],
  ['vg_partial', 'Partial', 10, 'vg', true, (r) => vgField(r, (v) => bin(v.missingPvCount > 0, 'partial'))],
  ['vg_allocation_policy', 'AllocPol', 10, 'vg', false, (r) => vgField(r, (v) => v.vg.allocationPolicy ?? 'normal')],
  [
    'vg_clustered',
    'Clustered',
    10,
    'vg',
    true,
    (r) => vgField(r, (v) => bin(v.vg.status.includes('CLUSTERED'), 'clustered')),
  ],
  ['vg_shared', 'Shared', 7, 'vg', true, (r) => vgField(r, (v) => bin(isVgShared(v.vg), 'shared'))],
  ['vg_size', 'VSize', 0, 'vg', true, (r) => vgSize(r, (v) => v.totalExtents)],
  ['vg_free', 'VFree', 0, 'vg', true, (r) => vgSize(r, (v) => v.freeExtents)],
  ['vg_sysid', 'SYS ID', 0, 'vg', false, (r) => vgField(r, (v) => v.vg.systemId ?? '')],
  ['vg_systemid', 'System ID', 0, 'vg', false, (r) => vgField(r, (v) => v.vg.systemId ?? '')],
  ['vg_lock_type', 'LockType', 0, 'vg', false, (r) => vgField(r, (v) => v.vg.lockType ?? '')],
  ['vg_lock_args', 'VLockArgs', 0, 'vg', false, (r) => vgField(r, (v) => v.vg.lockArgs ?? '')],
  ['vg_extent_size', 'Ext', 0, 'vg', true, (r) => (vgOf(r) === undefined ? '' : size(extentBytes(vgOf(r))))],
  ['vg_extent_count', '#Ext', 0, 'vg', true, (r) => vgNum(r, (v) => v.totalExtents)],
  ['vg_free_count', 'Free', 0, 'vg', true, (r) => vgNum(r, (v) => v.freeExtents)],
  ['max_lv', 'MaxLV', 0, 'vg', true, (r) => vgNum(r, (v) => v.vg.maxLv)],
  ['max_pv', 'MaxPV', 0, 'vg', true, (r) => vgNum(r, (v) => v.vg.maxPv)],
  ['pv_count', '#PV', 0, 'vg', true, (r) => vgNum(r, (v) => v.vg.pvs.length)],
  ['vg_missing_pv_count', '#PV Missing', 0, 'vg', true, (r) => vgNum(r, (v) => v.missingPvCount)],
  ['lv_count', '#LV', 0, 'vg', true, (r) => vgNum(r, (v) => v.vg.lvs.filter(isLvVisible).length)],
  ['snap_count', '#SN', 0, 'vg', true, (r) => vgNum(r, () => 0)],
  ['vg_seqno', 'Seq', 0, 'vg', true, (r) => vgNum(r, (v) => v.vg.seqno)],
  ['vg_tags', 'VG Tags', 0, 'vg', false, (r) => vgField(r, (v) => v.vg.tags.join(','))],
  ['vg_profile', 'VProfile', 0, 'vg', false, (r) => vgField(r, (v) => v.vg.profile ?? '')],
  ['vg_mda_count', '#VMda', 0, 'vg', true, (r) => vgNum(r, (v) => vgMdas(v).length)],
  ['vg_mda_used_count', '#VMdaUse', 0, 'vg', true, (r) => vgNum(r, (v) => vgMdas(v).filter((m) => m.used).length)],
  [
    'vg_mda_free',
    'VMdaFree',
    9,
    'vg',
    true,
    (r) =>
      vgOf(r) === undefined
        ? ''
        : size(
            minOf(
              vgMdas(need(vgOf(r), 'VG'))
                .filter((m) => m.used)
                .map((m) => m.freeBytes),
            ),
          ),
  ],
  [
    'vg_mda_size',
    'VMdaSize',
    9,
    'vg',
    true,
    (r) => (vgOf(r) === undefined ? '' : size(minOf(vgMdas(need(vgOf(r), 'VG')).map((m) => m.sizeBytes)))),
  ],
  [
    'vg_mda_copies',
    '#VMdaCps',
    0,
    'vg',
    true,
    (r) => vgField(r, (v) => (v.vg.metadataCopies ? String(v.vg.metadataCopies) : 'unmanaged')),
  ],
];

function vgField(row: ReportRow, get: (vg: VgView) => string): string {
  const vg = vgOf(row);
  return vg === undefined ? '' : get(vg);
}

function vgNum(row: ReportRow, get: (vg: VgView) => number): FieldValue {
  const vg = vgOf(row);
  return vg === undefined ? '' : get(vg);
}

function vgSize(row: ReportRow, extents: (vg: VgView) => number): FieldValue {
  const vg = vgOf(row);
  return vg === undefined ? '' : size(extents(vg) * extentBytes(vg));
}

/** lvm's `<kind>_all` field groups, in lvm's column order (the fields of each section leasehold knows). */
export const FIELD_GROUPS: ReadonlyMap<string, readonly string[]> = new Map([
  [
    'pv_all',
    [
      'pv_fmt',
      'pv_uuid',
      'dev_size',
      'pv_name',
      'pv_major',
      'pv_minor',
      'pv_mda_free',
      'pv_mda_size',
      'pv_ext_vsn',
      'pe_start',
      'pv_size',
      'pv_free',
      'pv_used',
      'pv_attr',
      'pv_allocatable',
      'pv_exported',
      'pv_missing',
      'pv_pe_count',
      'pv_pe_alloc_count',
      'pv_tags',
      'pv_mda_count',
      'pv_mda_used_count',
      'pv_ba_start',
      'pv_ba_size',
      'pv_in_use',
      'pv_duplicate',
      'pv_device_id',
      'pv_device_id_type',
    ],
  ],
  [
    'vg_all',
    [
      'vg_fmt',
      'vg_uuid',
      'vg_name',
      'vg_attr',
      'vg_permissions',
      'vg_extendable',
      'vg_exported',
      'vg_autoactivation',
      'vg_partial',
      'vg_allocation_policy',
      'vg_clustered',
      'vg_shared',
      'vg_size',
      'vg_free',
      'vg_sysid',
      'vg_systemid',
      'vg_lock_type',
      'vg_lock_args',
      'vg_extent_size',
      'vg_extent_count',
      'vg_free_count',
      'max_lv',
      'max_pv',
      'pv_count',
      'vg_missing_pv_count',
      'lv_count',
      'snap_count',
      'vg_seqno',
      'vg_tags',
      'vg_profile',
      'vg_mda_count',
      'vg_mda_used_count',
      'vg_mda_free',
      'vg_mda_size',
      'vg_mda_copies',
    ],
  ],
]);

/**
 * What pvs prints in VG fields for a PV in no VG: lvm reports orphans as members of an internal
 * orphan VG with these values (checked against pvs -o vg_all).
 */
const ORPHAN_VG_VALUES: ReadonlyMap<string, FieldValue> = new Map<string, FieldValue>([
  ['vg_fmt', FORMAT_NAME],
  ['vg_attr', 'r-----'],
  ['vg_permissions', 'read-only'],
  ['vg_autoactivation', 'enabled'],
  ['vg_allocation_policy', 'unknown'],
  ['vg_size', size(0)],
  ['vg_free', size(0)],
  ['vg_extent_size', size(0)],
  ['vg_extent_count', 0],
  ['vg_free_count', 0],
  ['max_lv', 0],
  ['max_pv', 0],
  ['pv_count', 0],
  ['vg_missing_pv_count', 0],
  ['lv_count', 0],
  ['snap_count', 0],
  ['vg_seqno', 0],
  ['vg_mda_count', 0],
  ['vg_mda_used_count', 0],
  ['vg_mda_free', size(0)],
  ['vg_mda_size', size(0)],
  ['vg_mda_copies', 'unmanaged'],
]);

function toField([name, heading, minWidth, object, numeric, get]: Def): FieldDef {
  if (object !== 'vg') return { name, heading, minWidth, object, numeric, get };
  const orphan = ORPHAN_VG_VALUES.get(name) ?? '';
  return { name, heading, minWidth, object, numeric, get: (row) => (vgOf(row) === undefined ? orphan : get(row)) };
}

export const FIELDS: ReadonlyMap<string, FieldDef> = new Map(DEFS.map((def) => [def[0], toField(def)]));

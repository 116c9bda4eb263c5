/**
 * VG model -> metadata text, in lvm 2.03's exact layout (lib/format_text/export.c, read for facts):
 * the raw form written into mdas (no indentation, no per-field comments, footer after the VG,
 * ending "\n\n\0") and the backup-file form of vgcfgbackup (footer first, tab indentation, size and
 * hint comments aligned as lvm aligns them).
 */
import { escapeString, printConfig } from './config.js';
import { SECTOR_SIZE_BYTES } from './constants.js';
import {
  isLvVisible,
  isVgShared,
  LV_KNOWN_FLAGS,
  LV_STATUS_FLAGS,
  type LogicalVolume,
  type MetadataFooter,
  PV_KNOWN_FLAGS,
  PV_STATUS_FLAGS,
  type Segment,
  VG_KNOWN_FLAGS,
  VG_STATUS_FLAGS,
  type VgMetadata,
  type VolumeGroup,
  WRITE_LOCKED_FLAG,
} from './model.js';
import { CONTENTS_VALUE, FORMAT_VERSION_VALUE } from './vg-import.js';
import { formatUuid } from './uuid.js';

/** The device hint lvm writes for a PV whose device is unknown. */
export const UNKNOWN_DEVICE_HINT = '[unknown]';
/** Columns of tabs lvm aligns comments to in the backup form (COMMENT_TAB). */
const COMMENT_TAB_STOPS = 6;
const TAB_WIDTH = 8;
const SIZE_UNITS = ['Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Petabytes', 'Exabytes'] as const;

interface Writer {
  indent: number;
  lines: string[];
  /** true: backup-file form (tabs, comments); false: raw form. */
  file: boolean;
}

function out(w: Writer, text: string, comment?: string): void {
  const pad = w.file ? '\t'.repeat(w.indent) : '';
  if (comment === undefined || !w.file) {
    w.lines.push(pad + text);
    return;
  }
  // lvm lines comments up at tab stops: see _out_with_comment_file.
  let i = Math.floor((text.length + TAB_WIDTH * w.indent) / TAB_WIDTH) + 1;
  let tabs = '';
  do {
    tabs += '\t';
  } while (++i < COMMENT_TAB_STOPS);
  w.lines.push(pad + text + tabs + comment);
}

function nl(w: Writer): void {
  w.lines.push('');
}

/** printf's %g (6 significant digits, trailing zeros dropped). */
export function formatG(value: number): string {
  if (value === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(value)));
  if (exp < -4 || exp >= 6) {
    const [mant = '0', e = '0'] = value.toExponential(5).split('e');
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const en = Number(e);
    return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  const fixed = value.toFixed(Math.max(0, 5 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** lvm's size comment: "# 4 Megabytes" for 8192 sectors. */
export function sizeComment(sectors: number): string {
  let d = sectors / 2;
  let i = 0;
  while (d > 1024 && i < SIZE_UNITS.length - 1) {
    d /= 1024;
    i++;
  }
  return `# ${formatG(d)} ${SIZE_UNITS[i]}`;
}

function ordered(words: readonly string[], vocab: readonly string[]): string[] {
  return vocab.filter((v) => words.includes(v));
}

function list(words: string[]): string {
  return `[${words.map((w) => `"${escapeString(w)}"`).join(', ')}]`;
}

/** Whether WRITE is written as the WRITE_LOCKED flags word (shared or system-id VGs, spec 6). */
export function vgWriteLocked(vg: Pick<VolumeGroup, 'lockType' | 'systemId'>): boolean {
  return isVgShared(vg) || (vg.systemId !== undefined && vg.systemId !== '');
}

function statusAndFlags(
  w: Writer,
  status: readonly string[],
  flags: readonly string[],
  statusVocab: readonly string[],
  flagVocab: readonly string[],
  writeLocked: boolean,
): void {
  let st = [...status];
  let fl = [...flags];
  if (writeLocked && st.includes('WRITE')) {
    st = st.filter((s) => s !== 'WRITE');
    fl = [WRITE_LOCKED_FLAG, ...fl.filter((f) => f !== WRITE_LOCKED_FLAG)];
  }
  out(w, `status = ${list(ordered(st, statusVocab))}`);
  out(w, `flags = ${list(ordered(fl, flagVocab))}`);
}

function tags(w: Writer, t: string[]): void {
  if (t.length > 0) out(w, `tags = ${list(t)}`);
}

/** strftime "%Y-%m-%d %T %z" for the LV creation_time comment. */
function isoLocal(unixSeconds: number, tzOffsetMinutes: number): string {
  const d = new Date((unixSeconds + tzOffsetMinutes * 60) * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  const sign = tzOffsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(tzOffsetMinutes);
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** C's ctime() without the newline: "Mon Dec  7 00:58:33 2026" at `tzOffsetMinutes` east of UTC. */
export function ctime(unixSeconds: number, tzOffsetMinutes = 0): string {
  const d = new Date((unixSeconds + tzOffsetMinutes * 60) * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

export interface ExportOptions {
  /** Minutes east of UTC for the LV creation_time comments of the backup form (default 0). */
  tzOffsetMinutes?: number;
}

function printVgBody(w: Writer, vg: VolumeGroup, options: ExportOptions): void {
  const writeLocked = vgWriteLocked(vg);
  out(w, `${vg.name} {`);
  w.indent++;
  out(w, `id = "${formatUuid(vg.id)}"`);
  out(w, `seqno = ${vg.seqno}`);
  if (vg.format !== undefined) out(w, `format = "${escapeString(vg.format)}"`, '# informational');
  statusAndFlags(w, vg.status, vg.flags, VG_STATUS_FLAGS, VG_KNOWN_FLAGS, writeLocked);
  tags(w, vg.tags);
  if (vg.systemId !== undefined && vg.systemId !== '') out(w, `system_id = "${escapeString(vg.systemId)}"`);
  if (vg.lockType !== undefined) {
    out(w, `lock_type = "${escapeString(vg.lockType)}"`);
    if (vg.lockArgs !== undefined) out(w, `lock_args = "${escapeString(vg.lockArgs)}"`);
  }
  out(w, `extent_size = ${vg.extentSizeSectors}`, sizeComment(vg.extentSizeSectors));
  out(w, `max_lv = ${vg.maxLv}`);
  out(w, `max_pv = ${vg.maxPv}`);
  if (vg.allocationPolicy !== undefined && vg.allocationPolicy !== 'normal' && vg.allocationPolicy !== 'inherit') {
    nl(w);
    out(w, `allocation_policy = "${escapeString(vg.allocationPolicy)}"`);
  }
  if (vg.profile !== undefined) out(w, `profile = "${escapeString(vg.profile)}"`);
  out(w, `metadata_copies = ${vg.metadataCopies ?? 0}`);
  nl(w);
  out(w, 'physical_volumes {');
  w.indent++;
  vg.pvs.forEach((pv, index) => {
    nl(w);
    out(w, `pv${index} {`);
    w.indent++;
    out(w, `id = "${formatUuid(pv.id)}"`);
    out(w, `device = "${escapeString(pv.deviceHint ?? UNKNOWN_DEVICE_HINT)}"`, '# Hint only');
    if (pv.deviceIdType !== undefined) out(w, `device_id_type = "${escapeString(pv.deviceIdType)}"`);
    if (pv.deviceId !== undefined) out(w, `device_id = "${escapeString(pv.deviceId)}"`);
    nl(w);
    statusAndFlags(w, pv.status, pv.flags, PV_STATUS_FLAGS, PV_KNOWN_FLAGS, false);
    tags(w, pv.tags);
    const devSize = pv.devSizeSectors ?? 0;
    out(w, `dev_size = ${devSize}`, sizeComment(devSize));
    out(w, `pe_start = ${pv.peStartSectors}`);
    out(w, `pe_count = ${pv.peCount}`, sizeComment(vg.extentSizeSectors * pv.peCount));
    if (
      pv.baStartSectors !== undefined &&
      pv.baSizeSectors !== undefined &&
      pv.baStartSectors !== 0 &&
      pv.baSizeSectors !== 0
    ) {
      out(w, `ba_start = ${pv.baStartSectors}`);
      out(w, `ba_size = ${pv.baSizeSectors}`, sizeComment(pv.baSizeSectors));
    }
    w.indent--;
    out(w, '}');
  });
  w.indent--;
  out(w, '}');
  nl(w);
  if (vg.lvs.length > 0) {
    const pvIndex = new Map(vg.pvs.map((pv, i) => [pv.key, `pv${i}`]));
    out(w, 'logical_volumes {');
    w.indent++;
    for (const lv of vg.lvs) if (isLvVisible(lv)) printLv(w, vg, lv, pvIndex, writeLocked, options);
    for (const lv of vg.lvs) if (!isLvVisible(lv)) printLv(w, vg, lv, pvIndex, writeLocked, options);
    w.indent--;
    out(w, '}');
  }
  nl(w);
  if (vg.historicalLvs !== undefined && vg.historicalLvs.length > 0) {
    out(w, 'historical_logical_volumes {');
    for (const line of printConfig(vg.historicalLvs, w.file).split('\n')) if (line !== '') out(w, line);
    out(w, '}');
  }
  w.indent--;
  out(w, '}');
}

function printLv(
  w: Writer,
  vg: VolumeGroup,
  lv: LogicalVolume,
  pvIndex: Map<string, string>,
  writeLocked: boolean,
  options: ExportOptions,
): void {
  nl(w);
  out(w, `${lv.name} {`);
  w.indent++;
  out(w, `id = "${formatUuid(lv.id)}"`);
  statusAndFlags(w, lv.status, lv.flags, LV_STATUS_FLAGS, LV_KNOWN_FLAGS, writeLocked);
  tags(w, lv.tags);
  if (lv.creationTime !== undefined && lv.creationTime !== 0) {
    out(w, `creation_time = ${lv.creationTime}`, `# ${isoLocal(lv.creationTime, options.tzOffsetMinutes ?? 0)}`);
    out(w, `creation_host = "${escapeString(lv.creationHost ?? '')}"`);
  }
  if (lv.lockArgs !== undefined) out(w, `lock_args = "${escapeString(lv.lockArgs)}"`);
  if (lv.allocationPolicy !== undefined && lv.allocationPolicy !== 'inherit')
    out(w, `allocation_policy = "${escapeString(lv.allocationPolicy)}"`);
  if (lv.profile !== undefined) out(w, `profile = "${escapeString(lv.profile)}"`);
  if (lv.readAheadSectors === -1) out(w, 'read_ahead = -1', '# None');
  else if (lv.readAheadSectors !== undefined) out(w, `read_ahead = ${lv.readAheadSectors}`);
  if (lv.major !== undefined && lv.major >= 0) out(w, `major = ${lv.major}`);
  if (lv.minor !== undefined && lv.minor >= 0) out(w, `minor = ${lv.minor}`);
  out(w, `segment_count = ${lv.segments.length}`);
  nl(w);
  lv.segments.forEach((seg, i) => {
    printSegment(w, vg, seg, i + 1, pvIndex);
  });
  w.indent--;
  out(w, '}');
}

function printSegment(w: Writer, vg: VolumeGroup, seg: Segment, count: number, pvIndex: Map<string, string>): void {
  out(w, `segment${count} {`);
  w.indent++;
  out(w, `start_extent = ${seg.startExtent}`);
  out(w, `extent_count = ${seg.extentCount}`, sizeComment(seg.extentCount * vg.extentSizeSectors));
  nl(w);
  out(w, `type = "${escapeString(seg.type)}"`);
  tags(w, seg.tags);
  if (seg.stripes.length > 0) {
    out(w, `stripe_count = ${seg.stripes.length}`, seg.stripes.length === 1 ? '# linear' : undefined);
    if (seg.stripes.length > 1)
      out(w, `stripe_size = ${seg.stripeSizeSectors ?? 0}`, sizeComment(seg.stripeSizeSectors ?? 0));
    nl(w);
    out(w, 'stripes = [');
    w.indent++;
    seg.stripes.forEach((area, i) => {
      out(
        w,
        `"${escapeString(pvIndex.get(area.pvKey) ?? area.pvKey)}", ${area.startPe}${i === seg.stripes.length - 1 ? '' : ','}`,
      );
    });
    w.indent--;
    out(w, ']');
  }
  if (seg.extra !== undefined) {
    for (const line of printConfig(seg.extra, false).split('\n')) if (line !== '') out(w, line);
  }
  w.indent--;
  out(w, '}');
}

function footerLines(w: Writer, footer: MetadataFooter): void {
  const host = footer.creationHost ?? '';
  const time = footer.creationTime ?? 0;
  w.lines.push(`# ${footer.generatedBy ?? `Generated by leasehold: ${ctime(time)}`}`, '');
  w.lines.push(`contents = "${CONTENTS_VALUE}"`, `version = ${FORMAT_VERSION_VALUE}`, '');
  w.lines.push(`description = "${escapeString(footer.description ?? '')}"`, '');
  w.lines.push(`creation_host = "${escapeString(host)}"\t# ${footer.creationHostComment ?? ''}`);
  if (footer.creationHostSystemId !== undefined && footer.creationHostSystemId !== '')
    w.lines.push(`creation_host_system_id = "${escapeString(footer.creationHostSystemId)}"`);
  w.lines.push(`creation_time = ${time}\t# ${footer.creationTimeComment ?? ctime(time)}`, '');
}

/** The raw text lvm writes into an mda, without the trailing NUL. */
export function printVgRaw(meta: VgMetadata): string {
  const w: Writer = { indent: 0, lines: [], file: false };
  printVgBody(w, meta.vg, {});
  footerLines(w, meta.footer);
  return `${w.lines.join('\n')}\n`;
}

/** The bytes of an mda copy: the raw text, UTF-8, with the NUL that lvm counts in raw_locn.size. */
export function encodeVgText(meta: VgMetadata): Uint8Array {
  const text = new TextEncoder().encode(printVgRaw(meta));
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return bytes;
}

/** The vgcfgbackup file form. */
export function printVgBackup(meta: VgMetadata, options: ExportOptions = {}): string {
  const w: Writer = { indent: 0, lines: [], file: true };
  footerLines(w, meta.footer);
  printVgBody(w, meta.vg, options);
  return `${w.lines.join('\n')}\n`;
}

/** Sectors in bytes, for callers converting label sizes. */
export function sectorsToBytes(sectors: number): number {
  return sectors * SECTOR_SIZE_BYTES;
}

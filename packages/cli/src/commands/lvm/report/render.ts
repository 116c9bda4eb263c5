/**
 * Report output as lvm prints it: aligned columns (two leading spaces, headings left-aligned, numbers
 * and sizes right-aligned, every column padded to its width), or with --separator unaligned, or lvm's
 * JSON (`{"report": [{"lv": [...]}]}`, every value a string).
 */
import { formatSizeBytes, type UnitSettings } from '../units.js';
import { LvmCommandError } from '../lvm-error.js';
import { FIELD_GROUPS, FIELDS, type FieldDef, type FieldObject, type FieldValue } from './fields.js';
import type { ReportRow } from './views.js';

export type ReportKind = 'pvs' | 'vgs' | 'lvs';

/** The objects each report may show fields of. */
const ALLOWED_OBJECTS: Record<ReportKind, readonly FieldObject[]> = {
  pvs: ['pv', 'vg'],
  vgs: ['vg'],
  lvs: ['lv', 'seg', 'vg'],
};

/** lvm's report/<kind>_cols and <kind>_sort defaults. */
export const DEFAULT_COLUMNS: Record<ReportKind, string> = {
  lvs: 'lv_name,vg_name,lv_attr,lv_size,pool_lv,origin,data_percent,metadata_percent,move_pv,mirror_log,copy_percent,convert_lv',
  vgs: 'vg_name,pv_count,lv_count,snap_count,vg_attr,vg_size,vg_free',
  pvs: 'pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free',
};
export const DEFAULT_SORT: Record<ReportKind, string> = { lvs: 'vg_name,lv_name', vgs: 'vg_name', pvs: 'pv_name' };

const PREFIXES: Record<ReportKind, string[]> = { lvs: ['lv_', 'seg_', 'vg_'], vgs: ['vg_'], pvs: ['pv_', 'vg_'] };

/** A bound on the fields one report may list (lvm has about 250). */
export const MAX_REPORT_FIELDS = 512;

export function lookupField(kind: ReportKind, name: string): FieldDef {
  const lower = name.toLowerCase();
  let field = FIELDS.get(lower);
  if (field === undefined) {
    for (const prefix of PREFIXES[kind]) {
      field = FIELDS.get(prefix + lower);
      if (field !== undefined) break;
    }
  }
  if (field === undefined || !ALLOWED_OBJECTS[kind].includes(field.object)) {
    throw new LvmCommandError('BAD_FIELD', [`Unrecognised field: ${name}`]);
  }
  return field;
}

/** Applies -o options in order: a plain list replaces, `+list` appends, `-list` removes. */
export function selectFields(kind: ReportKind, options: readonly string[]): FieldDef[] {
  let names = DEFAULT_COLUMNS[kind].split(',');
  for (const option of options) {
    if (option.startsWith('+')) names = names.concat(splitList(option.slice(1)));
    else if (option.startsWith('-')) {
      const drop = new Set(splitList(option.slice(1)).map((n) => lookupField(kind, n).name));
      names = names.filter((n) => !drop.has(lookupField(kind, n).name));
    } else names = splitList(option);
  }
  if (names.length > MAX_REPORT_FIELDS)
    throw new LvmCommandError('BAD_FIELD', [`Too many fields (${names.length}, at most ${MAX_REPORT_FIELDS}).`]);
  return names.map((n) => lookupField(kind, n));
}

/** Splits a field list; `pv_all` and `vg_all` stand for their groups. */
function splitList(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .filter((s) => s !== '')
    .flatMap((name) => FIELD_GROUPS.get(name.toLowerCase()) ?? [name]);
}

export interface SortKey {
  field: FieldDef;
  descending: boolean;
}

/** Applies -O options: a list of fields, each optionally prefixed with `+` (ascending) or `-` (descending). */
export function selectSort(kind: ReportKind, options: readonly string[]): SortKey[] {
  const text = options.length === 0 ? DEFAULT_SORT[kind] : options.join(',');
  return splitList(text).map((part) => {
    const descending = part.startsWith('-');
    const name = part.startsWith('-') || part.startsWith('+') ? part.slice(1) : part;
    return { field: lookupField(kind, name), descending };
  });
}

function sortValue(value: FieldValue): string | number {
  if (typeof value === 'object') return value.bytes;
  return value;
}

/** The sort value of a field: hidden LV names sort by their bare name, as lvm's do. */
function rowSortValue(field: FieldDef, row: ReportRow): string | number {
  if (field.name === 'lv_name' && row.lv !== undefined) return row.lv.lv.name;
  return sortValue(field.get(row));
}

export function sortRows(rows: ReportRow[], keys: readonly SortKey[]): ReportRow[] {
  if (keys.length === 0) return rows;
  const decorated = rows.map((row, index) => ({ row, index, values: keys.map((k) => rowSortValue(k.field, row)) }));
  decorated.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const x = a.values[i] as string | number;
      const y = b.values[i] as string | number;
      if (x === y) continue;
      let cmp: number;
      if (typeof x === 'number' && typeof y === 'number') cmp = x < y ? -1 : 1;
      else cmp = String(x) < String(y) ? -1 : 1;
      return keys[i]?.descending ? -cmp : cmp;
    }
    return a.index - b.index;
  });
  return decorated.map((d) => d.row);
}

export interface RenderOptions {
  units: UnitSettings;
  headings: boolean;
  /** undefined: aligned columns. */
  separator: string | undefined;
  /** Pad columns even with a separator (--aligned). */
  aligned: boolean;
  json: boolean;
}

function text(value: FieldValue, units: UnitSettings): string {
  if (typeof value === 'object') return formatSizeBytes(value.bytes, units);
  return String(value);
}

/** JSON object key per report kind. */
const JSON_KEYS: Record<ReportKind, string> = { pvs: 'pv', vgs: 'vg', lvs: 'lv' };

/** Renders rows to lines (without trailing newline). */
export function renderReport(
  kind: ReportKind,
  fields: readonly FieldDef[],
  rows: readonly ReportRow[],
  options: RenderOptions,
): string[] {
  const cells: string[][] = rows.map((row) => fields.map((f) => text(f.get(row), options.units)));
  if (options.json) return renderJson(kind, fields, cells);
  if (rows.length === 0) return [];
  const lines: string[] = [];
  const aligned = options.separator === undefined || options.aligned;
  const separator = options.separator ?? ' ';
  const widths = fields.map((f, i) => {
    // lvm sizes columns by their headings even with --noheadings
    let width = Math.max(f.minWidth, f.heading.length);
    for (const row of cells) width = Math.max(width, (row[i] as string).length);
    return width;
  });
  if (options.headings) {
    lines.push(
      '  ' + fields.map((f, i) => (aligned ? f.heading.padEnd(widths[i] as number) : f.heading)).join(separator),
    );
  }
  for (const row of cells) {
    const parts = row.map((cell, i) => {
      if (!aligned) return cell;
      const width = widths[i] as number;
      return (fields[i] as FieldDef).numeric ? cell.padStart(width) : cell.padEnd(width);
    });
    lines.push('  ' + parts.join(separator));
  }
  return lines;
}

function renderJson(kind: ReportKind, fields: readonly FieldDef[], cells: readonly string[][]): string[] {
  const lines = ['  {', '      "report": [', '          {', `              "${JSON_KEYS[kind]}": [`];
  cells.forEach((row, r) => {
    const body = fields.map((f, i) => `${JSON.stringify(f.name)}:${JSON.stringify(row[i])}`).join(', ');
    lines.push(`                  {${body}}${r === cells.length - 1 ? '' : ','}`);
  });
  lines.push('              ]', '          }', '      ]', '  }');
  return lines;
}

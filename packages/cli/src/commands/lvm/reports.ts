/**
 * pvs, vgs and lvs: lvm's report commands over one scan of the devices. Positional arguments select
 * PVs (device paths), VGs (names) or LVs (VG or VG/LV), as with lvm; a name that matches nothing is
 * reported and makes the exit status 5, the rest is still printed.
 */
import { COMMON_OPTIONS, flagCount, hasOption, lastValue, parseLvmArgs, type OptionSpec } from './getopt.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printReportLines } from './output.js';
import { addRefreshState, REFRESH_FIELDS } from './report/refresh-state.js';
import { buildViews, type ReportViews } from './report/build-views.js';
import { addLockState, HOLDER_FIELDS, LOCAL_FIELDS } from './report/lock-state.js';
import { renderReport, selectFields, selectSort, sortRows, type ReportKind } from './report/render.js';
import type { ReportRow } from './report/views.js';
import { openSession, scanSession } from './session.js';
import { DEFAULT_UNITS, parseUnitsOption, type UnitSettings } from './units.js';
import { lvmCommand } from './run.js';
import { readSharedVgsLocked } from './shared-report.js';

/** The VG of a report argument: `vg`, `vg/lv` or `/dev/vg/lv`. */
function reportedVgName(name: string): string {
  const trimmed = name.startsWith('/dev/') ? name.slice('/dev/'.length) : name;
  const slash = trimmed.indexOf('/');
  return slash < 0 ? trimmed : trimmed.slice(0, slash);
}

const REPORT_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'options', short: 'o', value: true },
  { long: 'sort', short: 'O', value: true },
  { long: 'noheadings', value: false },
  { long: 'nosuffix', value: false },
  { long: 'separator', value: true },
  { long: 'aligned', value: false },
  { long: 'units', value: true },
  { long: 'all', short: 'a', value: false },
  { long: 'reportformat', value: true },
  { long: 'shared', value: false },
  { long: 'foreign', value: false },
  { long: 'readonly', value: false },
  { long: 'unbuffered', value: false },
  { long: 'nameprefixes', value: false },
  { long: 'rows', value: false },
  { long: 'segments', value: false },
  { long: 'binary', value: false },
  { long: 'ignorelockingfailure', value: false },
  { long: 'partial', short: 'P', value: false },
];

export const REPORT_USAGE: Record<ReportKind, string> = {
  pvs: 'pvs [-o|--options [+|-]Field[,Field...]] [-O|--sort [+|-]Field[,...]] [--noheadings] [--nosuffix] [--separator String] [--units hHbBsSkKmMgGtTpPeErR] [--reportformat basic|json] [--devices PV,...] [PV...]',
  vgs: 'vgs [-o|--options [+|-]Field[,Field...]] [-O|--sort [+|-]Field[,...]] [--noheadings] [--nosuffix] [--separator String] [--units hHbBsSkKmMgGtTpPeErR] [--reportformat basic|json] [--devices PV,...] [VG...]',
  lvs: 'lvs [-a|--all] [-o|--options [+|-]Field[,Field...]] [-O|--sort [+|-]Field[,...]] [--noheadings] [--nosuffix] [--separator String] [--units hHbBsSkKmMgGtTpPeErR] [--reportformat basic|json] [--devices PV,...] [VG|VG/LV...]',
};

interface Selection {
  rows: ReportRow[];
  problems: string[];
}

function pvRows(views: ReportViews, names: readonly string[]): Selection {
  if (names.length === 0) return { rows: views.pvs.map((pv) => ({ pv })), problems: [] };
  const rows: ReportRow[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const pv = views.pvs.find((p) => p.deviceName === name);
    if (pv === undefined) problems.push(`Failed to find physical volume "${name}".`);
    else rows.push({ pv });
  }
  return { rows, problems };
}

function vgRows(views: ReportViews, names: readonly string[]): Selection {
  if (names.length === 0) return { rows: views.vgs.map((vg) => ({ vg })), problems: [] };
  const rows: ReportRow[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const vg = views.vgs.find((v) => v.vg.name === name);
    if (vg === undefined) problems.push(`Volume group "${name}" not found`, `Cannot process volume group ${name}`);
    else rows.push({ vg });
  }
  return { rows, problems };
}

function lvRows(views: ReportViews, names: readonly string[], all: boolean, segments: boolean): Selection {
  const rows: ReportRow[] = [];
  const problems: string[] = [];
  const add = (lvs: ReportViews['vgs'][number]['lvs'], explicit: boolean): void => {
    for (const lv of lvs) {
      if (!lv.visible && !all && !explicit) continue;
      if (!segments) rows.push({ lv, vg: lv.vgView });
      else for (const seg of lv.lv.segments) rows.push({ lv, vg: lv.vgView, seg: { lvView: lv, seg } });
    }
  };
  if (names.length === 0) {
    for (const vg of views.vgs) add(vg.lvs, false);
    return { rows, problems };
  }
  for (const name of names) {
    const trimmed = name.startsWith('/dev/') ? name.slice('/dev/'.length) : name;
    const slash = trimmed.indexOf('/');
    const vgName = slash < 0 ? trimmed : trimmed.slice(0, slash);
    const vg = views.vgs.find((v) => v.vg.name === vgName);
    if (vg === undefined) {
      problems.push(`Volume group "${vgName}" not found`, `Cannot process volume group ${vgName}`);
      continue;
    }
    if (slash < 0) {
      add(vg.lvs, false);
      continue;
    }
    const lvName = trimmed.slice(slash + 1);
    const lv = vg.lvs.find((l) => l.lv.name === lvName);
    if (lv === undefined) problems.push(`Failed to find logical volume "${vgName}/${lvName}"`);
    else add([lv], true);
  }
  return { rows, problems };
}

export async function runReport(kind: ReportKind, words: readonly string[]): Promise<void> {
  const args = parseLvmArgs(kind, words, REPORT_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(`  ${REPORT_USAGE[kind]}\n`);
    return;
  }
  const format = lastValue(args, 'reportformat') ?? 'basic';
  if (format !== 'basic' && format !== 'json')
    throw new LvmUsageError([`Invalid report format "${format}" (leasehold supports basic and json).`]);
  const fields = selectFields(kind, args.values.get('options') ?? []);
  const sort = selectSort(kind, args.values.get('sort') ?? []);
  const unitsText = lastValue(args, 'units');
  const units: UnitSettings = {
    unit: unitsText === undefined ? DEFAULT_UNITS.unit : parseUnitsOption(unitsText),
    suffix: !hasOption(args, 'nosuffix'),
  };
  const session = openSession(kind, words, args);
  const named = kind === 'pvs' ? [] : args.positionals.map((name) => reportedVgName(name));
  // lvmlockd's rule: a report of every VG or PV (pvs; vgs and lvs without names) takes GLLK SH.
  const listsAll = kind === 'pvs' || named.length === 0;
  const result = await readSharedVgsLocked(
    session,
    await scanSession(session, [], { readOnly: true }),
    named,
    listsAll,
  );
  const views = buildViews(result);
  if (kind === 'lvs' && [...fields, ...sort.map((k) => k.field)].some((f) => REFRESH_FIELDS.has(f.name)))
    await addRefreshState(
      views.vgs.flatMap((vg) => vg.lvs),
      result,
    );
  const segments =
    kind === 'lvs' &&
    (hasOption(args, 'segments') ||
      fields.some((f) => f.object === 'seg') ||
      sort.some((k) => k.field.object === 'seg'));
  const selection =
    kind === 'pvs'
      ? pvRows(views, args.positionals)
      : kind === 'vgs'
        ? vgRows(views, args.positionals)
        : lvRows(views, args.positionals, flagCount(args, 'all') > 0, segments);
  if (kind === 'lvs') {
    const names = [...fields.map((f) => f.name), ...sort.map((k) => k.field.name)];
    const needs = { holders: names.some((n) => HOLDER_FIELDS.has(n)), local: names.some((n) => LOCAL_FIELDS.has(n)) };
    if (needs.holders || needs.local) await addLockState(selection.rows, needs);
  }
  const rows = sortRows(selection.rows, sort);
  printReportLines(
    renderReport(kind, fields, rows, {
      units,
      headings: !hasOption(args, 'noheadings'),
      separator: lastValue(args, 'separator'),
      aligned: hasOption(args, 'aligned'),
      json: format === 'json',
    }),
  );
  if (selection.problems.length > 0) throw new LvmCommandError('NOT_FOUND', selection.problems);
}

export const pvsCommand = lvmCommand((words) => runReport('pvs', words));
export const vgsCommand = lvmCommand((words) => runReport('vgs', words));
export const lvsCommand = lvmCommand((words) => runReport('lvs', words));

/**
 * lvcreate, lvremove and lvrename: one commit each (lvremove: one per LV, as lvm), linear and
 * striped LVs only. In a shared VG lvcreate activates the new LV (lvm's default -ay, exclusive; -an
 * not to) through the daemon and zeroes its start; in a local VG LVs are created inactive and not
 * zeroed, with a warning. lvremove -f deactivates an LV active on this host first.
 */
import { hostname } from 'node:os';
import {
  generateUuid,
  isLvVisible,
  isVgShared,
  lvNameProblem,
  SECTOR_SIZE_BYTES,
  type LogicalVolume,
  type VolumeGroup,
} from '@leasehold/lvm-format';
import { allocateExtents, commitVg, type VgRead, VolumeError } from '@leasehold/volume';
import { checkedTags, displaySizeLong, randomBytes } from './common.js';
import { COMMON_OPTIONS, hasOption, lastValue, parseLvmArgs, type OptionSpec, type ParsedArgs } from './getopt.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmLines, printLvmOut } from './output.js';
import { openSession, scanSession, vgForChange, withVgLock, writerIdentity, type Session } from './session.js';
import { parseExtentsArgument, parseSizeArgument, type ExtentsArgument } from './units.js';
import { lvmCommand } from './run.js';
import { assignSharedLvLease, checkSharedLvChange, checkSharedLvUnused, freeSharedLvLease } from './shared-lv.js';
import { activateNewLv, deactivateBeforeRemove } from './activation.js';
import { sharedChangeOf } from './shared-lock.js';

/** lvm names LVs created without -n lvol0, lvol1 ... */
const AUTO_NAME_PREFIX = 'lvol';
/** lvm's default stripe size (64 KiB) in sectors. */
const DEFAULT_STRIPE_SIZE_SECTORS = 128;

function usage(command: string, lines: string[]): LvmUsageError {
  return new LvmUsageError([...lines, `Run \`${command} --help' for more information.`]);
}

export function checkLvName(command: string, name: string): void {
  const problem = lvNameProblem(name);
  if (problem === undefined) return;
  if (problem.startsWith('Names ')) throw usage(command, [problem]);
  throw usage(command, [`Logical volume name "${name}" is invalid.`]);
}

/** Splits "VG/LV" (or "/dev/VG/LV"); LV undefined for a plain VG name. */
export function splitLvPath(text: string): { vgName: string; lvName: string | undefined } {
  const trimmed = text.startsWith('/dev/') ? text.slice('/dev/'.length) : text;
  const slash = trimmed.indexOf('/');
  if (slash < 0) return { vgName: trimmed, lvName: undefined };
  return { vgName: trimmed.slice(0, slash), lvName: trimmed.slice(slash + 1) };
}

/** PV paths on the command line as keys of the VG (allocation restricted to them, in that order). */
export function pvKeysFor(read: VgRead, paths: readonly string[]): string[] | undefined {
  if (paths.length === 0) return undefined;
  const keys: string[] = [];
  for (const path of paths) {
    if (/:\d/.test(path))
      throw new LvmUsageError([
        `PE ranges on the command line (${path}) are not supported by leasehold; name whole PVs.`,
      ]);
    const pv = read.vg.pvs.find((p) => read.devices.get(p.id)?.path === path);
    if (pv === undefined)
      throw new LvmCommandError('PV_NOT_FOUND', [
        `Physical Volume "${path}" not found in Volume Group "${read.vg.name}".`,
      ]);
    keys.push(pv.key);
  }
  return keys;
}

/** Free extents on the given PVs (or the whole VG). */
export function freeExtentsOn(vg: VolumeGroup, keys: readonly string[] | undefined): number {
  const allowed = keys === undefined ? undefined : new Set(keys);
  const used = new Map<string, number>();
  for (const lv of vg.lvs) {
    for (const seg of lv.segments) {
      const per = seg.extentCount / Math.max(1, seg.stripes.length);
      for (const a of seg.stripes) used.set(a.pvKey, (used.get(a.pvKey) ?? 0) + per);
    }
  }
  let free = 0;
  for (const pv of vg.pvs) {
    if (allowed !== undefined && !allowed.has(pv.key)) continue;
    if (!pv.status.includes('ALLOCATABLE')) continue;
    free += pv.peCount - (used.get(pv.key) ?? 0);
  }
  return free;
}

export function vgExtentCount(vg: VolumeGroup): number {
  return vg.pvs.reduce((n, pv) => n + pv.peCount, 0);
}

/** The extents an -l argument stands for (the number itself, or a percentage of VG, FREE or PVS). */
export function extentsFor(arg: ExtentsArgument, vg: VolumeGroup, keys: readonly string[] | undefined): number {
  switch (arg.basis) {
    case 'extents':
      return arg.count;
    case 'VG':
      return Math.floor((arg.count * vgExtentCount(vg)) / 100);
    case 'FREE':
      return Math.floor((arg.count * freeExtentsOn(vg, undefined)) / 100);
    case 'PVS':
      return Math.floor((arg.count * freeExtentsOn(vg, keys)) / 100);
    case 'ORIGIN':
      throw new LvmUsageError(['%ORIGIN needs a snapshot; leasehold has no snapshots.']);
  }
}

/** -L: extents, rounded up to whole extents with lvm's message (lvcreate's, or lvresize's for a resize). */
export function extentsForSize(sizeSectors: number, vg: VolumeGroup, quiet: boolean, resize = false): number {
  const extents = Math.ceil(sizeSectors / vg.extentSizeSectors);
  if (extents * vg.extentSizeSectors !== sizeSectors && !quiet) {
    const shown = displaySizeLong(extents * vg.extentSizeSectors * SECTOR_SIZE_BYTES);
    printLvmOut([
      resize
        ? `Rounding size to boundary between physical extents: ${shown}.`
        : `Rounding up size to full physical extent ${shown}`,
    ]);
  }
  return extents;
}

function insufficient(vg: VolumeGroup, keys: readonly string[] | undefined, required: number): LvmCommandError {
  return new LvmCommandError('INSUFFICIENT_FREE_EXTENTS', [
    `Volume group "${vg.name}" has insufficient free space (${freeExtentsOn(vg, keys)} extents): ${required} required.`,
  ]);
}

/** Maps the allocator's refusal to lvm's message. */
export function allocate(
  read: VgRead,
  lv: LogicalVolume,
  extents: number,
  keys: string[] | undefined,
  stripes?: number,
  stripeSizeSectors?: number,
): void {
  try {
    lv.segments = allocateExtents({
      vg: read.vg,
      lvName: lv.name,
      existing: lv.segments,
      extents,
      ...(keys !== undefined ? { pvKeys: keys } : {}),
      ...(stripes !== undefined ? { stripes } : {}),
      ...(stripeSizeSectors !== undefined ? { stripeSizeSectors } : {}),
    });
  } catch (error) {
    if (error instanceof VolumeError && error.code === 'INSUFFICIENT_FREE_EXTENTS') {
      if (freeExtentsOn(read.vg, keys) < extents) throw insufficient(read.vg, keys, extents);
      throw new LvmCommandError(error.code, [error.message]);
    }
    throw error;
  }
}

const LVCREATE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'name', short: 'n', value: true },
  { long: 'size', short: 'L', value: true },
  { long: 'extents', short: 'l', value: true },
  { long: 'stripes', short: 'i', value: true },
  { long: 'stripesize', short: 'I', value: true },
  { long: 'activate', short: 'a', value: true },
  { long: 'zero', short: 'Z', value: true },
  { long: 'wipesignatures', short: 'W', value: true },
  { long: 'contiguous', short: 'C', value: true },
  { long: 'type', value: true },
  { long: 'readahead', short: 'r', value: true },
  { long: 'permission', short: 'p', value: true },
  { long: 'addtag', value: true },
  { long: 'alloc', value: true },
  { long: 'setactivationskip', value: true },
  { long: 'ignoreactivationskip', short: 'K', value: false },
  { long: 'snapshot', short: 's', value: false },
  { long: 'mirrors', short: 'm', value: true },
  { long: 'thin', short: 'T', value: false },
  { long: 'virtualsize', short: 'V', value: true },
  { long: 'autobackup', short: 'A', value: true },
  { long: 'force', short: 'f', value: false },
];

function yesNo(args: ParsedArgs, name: string, command: string): boolean | undefined {
  const value = lastValue(args, name);
  if (value === undefined) return undefined;
  if (value === 'y' || value === 'n') return value === 'y';
  throw usage(command, [`Invalid argument for --${name}: ${value}`]);
}

function activationRequested(args: ParsedArgs, command: string): boolean {
  const value = lastValue(args, 'activate');
  if (value === undefined) return true;
  if (['y', 'ey', 'ly', 'sy'].includes(value)) return true;
  if (['n', 'en', 'ln', 'sn'].includes(value)) return false;
  throw usage(command, [`Invalid argument for --activate: ${value}`]);
}

function autoName(vg: VolumeGroup): string {
  const taken = new Set(vg.lvs.map((l) => l.name));
  let n = 0;
  while (taken.has(`${AUTO_NAME_PREFIX}${n}`)) n++;
  return `${AUTO_NAME_PREFIX}${n}`;
}

export async function runLvcreate(words: string[]): Promise<void> {
  const args = parseLvmArgs('lvcreate', words, LVCREATE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(
      '  lvcreate -L|--size Size[m|UNIT] | -l|--extents Number[PERCENT] [-n|--name LV] [-i|--stripes Number [-I|--stripesize Size]] [-an] [-Zn] VG [PV ...]\n',
    );
    return;
  }
  for (const unsupported of ['snapshot', 'thin', 'virtualsize']) {
    if (hasOption(args, unsupported))
      throw new LvmCommandError('UNSUPPORTED', [
        `leasehold creates linear and striped LVs only (--${unsupported} is not supported).`,
      ]);
  }
  const mirrors = lastValue(args, 'mirrors');
  if (mirrors !== undefined && mirrors !== '0')
    throw new LvmCommandError('UNSUPPORTED', [
      'leasehold creates linear and striped LVs only (--mirrors is not supported).',
    ]);
  const type = lastValue(args, 'type');
  if (type !== undefined && type !== 'linear' && type !== 'striped')
    throw new LvmCommandError('UNSUPPORTED', [
      `leasehold creates linear and striped LVs only (--type ${type} is not supported).`,
    ]);
  const sizeText = lastValue(args, 'size');
  const extentsText = lastValue(args, 'extents');
  if ((sizeText === undefined) === (extentsText === undefined))
    throw usage('lvcreate', ['Please specify either size or extents (not both).']);
  const stripesText = lastValue(args, 'stripes');
  const stripes = stripesText === undefined ? (type === 'striped' ? undefined : 1) : Number(stripesText);
  if (stripes !== undefined && (!Number.isInteger(stripes) || stripes < 1))
    throw usage('lvcreate', [`Invalid argument for --stripes: ${stripesText ?? ''}`]);
  const stripeSizeText = lastValue(args, 'stripesize');
  const stripeSizeSectors =
    stripeSizeText === undefined
      ? DEFAULT_STRIPE_SIZE_SECTORS
      : parseSizeArgument(stripeSizeText, '--stripesize', false, 'k').sizeSectors;
  const [target, ...pvPaths] = args.positionals;
  let nameArg = lastValue(args, 'name');
  let vgName = target;
  if (nameArg?.includes('/')) {
    const split = splitLvPath(nameArg);
    vgName = vgName ?? split.vgName;
    nameArg = split.lvName;
  }
  if (vgName === undefined) throw usage('lvcreate', ['Please provide a volume group name']);
  if (nameArg !== undefined) checkLvName('lvcreate', nameArg);
  const activate = activationRequested(args, 'lvcreate');
  const zero = yesNo(args, 'zero', 'lvcreate') ?? true;
  const readAheadText = lastValue(args, 'readahead');
  const permission = lastValue(args, 'permission') ?? 'rw';
  if (permission !== 'rw' && permission !== 'r')
    throw usage('lvcreate', [`Invalid argument for --permission: ${permission}`]);
  const session = openSession('lvcreate', words, args);
  await withVgLock(session, vgName, async () => {
    const result = await scanSession(session);
    const read = vgForChange(result, vgName as string);
    const vg = read.vg;
    const name = nameArg ?? autoName(vg);
    if (vg.lvs.some((l) => l.name === name))
      throw new LvmCommandError('LV_EXISTS', [`Logical Volume "${name}" already exists in volume group "${vg.name}"`]);
    if (vg.maxLv > 0 && vg.lvs.filter(isLvVisible).length >= vg.maxLv) {
      throw new LvmCommandError('TOO_MANY_LVS', [
        `Maximum number of logical volumes (${vg.maxLv}) reached in volume group ${vg.name}`,
      ]);
    }
    const keys = pvKeysFor(read, pvPaths);
    const stripeCount = stripes ?? Math.max(1, keys?.length ?? vg.pvs.length);
    let extents =
      sizeText !== undefined
        ? extentsForSize(parseSizeArgument(sizeText, '--size', false).sizeSectors, vg, session.quiet)
        : extentsFor(parseExtentsArgument(extentsText as string, '--extents', false), vg, keys);
    if (extents % stripeCount !== 0) {
      const rounded = extents + stripeCount - (extents % stripeCount);
      printLvmOut([
        `Rounding size ${displaySizeLong(extents * vg.extentSizeSectors * SECTOR_SIZE_BYTES)} (${extents} extents) up to stripe boundary size ${displaySizeLong(rounded * vg.extentSizeSectors * SECTOR_SIZE_BYTES)} (${rounded} extents).`,
      ]);
      extents = rounded;
    }
    if (extents === 0)
      throw new LvmCommandError('BAD_ARGUMENT', ['Unable to create new logical volume with no extents.']);
    if (freeExtentsOn(vg, keys) < extents) throw insufficient(vg, keys, extents);
    const lv: LogicalVolume = {
      name,
      id: generateUuid(randomBytes),
      status: permission === 'rw' ? ['READ', 'WRITE', 'VISIBLE'] : ['READ', 'VISIBLE'],
      flags: [],
      tags: checkedTags(args.values.get('addtag')),
      creationTime: Math.floor(Date.now() / 1000),
      creationHost: hostname(),
      segments: [],
    };
    if (readAheadText !== undefined && readAheadText !== 'auto')
      lv.readAheadSectors =
        readAheadText === 'none' ? -1 : parseSizeArgument(readAheadText, '--readahead', false, 's').sizeSectors;
    const alloc = lastValue(args, 'alloc');
    if (alloc !== undefined && alloc !== 'inherit') lv.allocationPolicy = alloc;
    vg.lvs.push(lv);
    // lvm writes visible LVs before hidden ones
    vg.lvs.sort((a, b) => Number(isLvVisible(b)) - Number(isLvVisible(a)));
    allocate(read, lv, extents, keys, stripeCount, stripeCount > 1 ? stripeSizeSectors : undefined);
    await assignSharedLvLease(read, lv);
    await commitVg(vg, read.devices, writerIdentity(session), { seqno: read.seqno + 1 });
    const change = sharedChangeOf(vg.name);
    if (activate && isVgShared(vg) && change !== undefined) {
      const mode = lastValue(args, 'activate') === 'sy' ? 'SH' : 'EX';
      try {
        await activateNewLv(change.client, read, name, mode, read.seqno + 1, zero);
      } catch (error) {
        if (!(error instanceof LvmCommandError)) throw error;
        throw new LvmCommandError(error.code, [
          ...error.lines,
          `Logical volume "${name}" created, but not activated: ${vg.name}/${name} is inactive.`,
        ]);
      }
    } else if (activate)
      printLvmLines([
        `WARNING: leasehold activates LVs of shared VGs only: ${vg.name}/${name} is inactive and was not zeroed.`,
      ]);
    else if (zero) printLvmLines([`WARNING: Logical volume ${vg.name}/${name} not zeroed.`]);
    printLvmOut([`Logical volume "${name}" created.`]);
  });
}

const LVREMOVE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'force', short: 'f', value: false },
  { long: 'autobackup', short: 'A', value: true },
];

export async function runLvremove(words: string[]): Promise<void> {
  const args = parseLvmArgs('lvremove', words, LVREMOVE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write('  lvremove VG|LV ... [-f|--force] [--devices PV,...]\n');
    return;
  }
  if (args.positionals.length === 0) throw usage('lvremove', ['Please enter one or more logical volume paths.']);
  const session = openSession('lvremove', words, args);
  let failed: LvmCommandError | undefined;
  for (const arg of args.positionals) {
    const { vgName, lvName } = splitLvPath(arg);
    try {
      await withVgLock(session, vgName, () => removeLvs(session, vgName, lvName, hasOption(args, 'force')));
    } catch (error) {
      if (!(error instanceof LvmCommandError)) throw error;
      printLvmLines(error.lines);
      failed = error;
    }
  }
  if (failed !== undefined) throw new LvmCommandError(failed.code, [], failed.exitStatus);
}

async function removeLvs(session: Session, vgName: string, lvName: string | undefined, force: boolean): Promise<void> {
  const result = await scanSession(session);
  const read = vgForChange(result, vgName);
  const names = lvName === undefined ? read.vg.lvs.filter(isLvVisible).map((l) => l.name) : [lvName];
  let seqno = read.seqno;
  for (const name of names) {
    const index = read.vg.lvs.findIndex((l) => l.name === name);
    if (index < 0) throw new LvmCommandError('LV_NOT_FOUND', [`Failed to find logical volume "${vgName}/${name}"`]);
    if (!isLvVisible(read.vg.lvs[index] as LogicalVolume))
      throw new LvmCommandError('LV_INTERNAL', [`Can't remove internal logical volume ${vgName}/${name}.`]);
    const removed = read.vg.lvs[index] as LogicalVolume;
    // As lvm: another host's hold refuses before anything is done here; active only here, -f
    // deactivates it, and then the lease must be free.
    const change = sharedChangeOf(vgName);
    if ((await checkSharedLvChange(read, removed, 'remove', { activeHereAllowed: true })) === 'active-here') {
      if (change !== undefined) await deactivateBeforeRemove(change.client, read, removed, force);
      await checkSharedLvUnused(read, removed);
    }
    read.vg.lvs.splice(index, 1);
    seqno++;
    await commitVg(read.vg, read.devices, writerIdentity(session), { seqno });
    await freeSharedLvLease(read, removed);
    printLvmOut([`Logical volume "${name}" successfully removed.`]);
  }
}

const LVRENAME_OPTIONS: readonly OptionSpec[] = [...COMMON_OPTIONS, { long: 'autobackup', short: 'A', value: true }];

export async function runLvrename(words: string[]): Promise<void> {
  const args = parseLvmArgs('lvrename', words, LVRENAME_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write('  lvrename VG LV LV_new | lvrename VG/LV VG/LV_new [--devices PV,...]\n');
    return;
  }
  const p = args.positionals;
  let vgName: string;
  let oldName: string;
  let newName: string;
  if (p.length === 3) {
    [vgName, oldName, newName] = p as [string, string, string];
    oldName = splitLvPath(oldName).lvName ?? oldName;
    newName = splitLvPath(newName).lvName ?? newName;
  } else if (p.length === 2) {
    const from = splitLvPath(p[0] as string);
    const to = splitLvPath(p[1] as string);
    if (from.lvName === undefined) throw usage('lvrename', ['Old logical volume name need specifying']);
    if (to.lvName !== undefined && to.vgName !== from.vgName)
      throw usage('lvrename', [
        'Logical volume names must have the same volume group ("' + from.vgName + '" or "' + to.vgName + '")',
      ]);
    vgName = from.vgName;
    oldName = from.lvName;
    newName = to.lvName ?? to.vgName;
  } else {
    throw usage('lvrename', ['Old and new logical volume names required']);
  }
  checkLvName('lvrename', newName);
  if (oldName === newName) throw new LvmCommandError('BAD_ARGUMENT', ['Old and new logical volume names must differ']);
  const session = openSession('lvrename', words, args);
  await withVgLock(session, vgName, async () => {
    const result = await scanSession(session);
    const read = vgForChange(result, vgName);
    const lv = read.vg.lvs.find((l) => l.name === oldName);
    if (lv === undefined)
      throw new LvmCommandError('LV_NOT_FOUND', [
        `Existing logical volume "${oldName}" not found in volume group "${vgName}"`,
      ]);
    if (read.vg.lvs.some((l) => l.name === newName))
      throw new LvmCommandError('LV_EXISTS', [
        `Logical Volume "${newName}" already exists in volume group "${vgName}"`,
      ]);
    if (!isLvVisible(lv)) throw new LvmCommandError('LV_INTERNAL', [`Cannot rename internal LV "${oldName}".`]);
    await checkSharedLvChange(read, lv, 'rename');
    lv.name = newName;
    await commitVg(read.vg, read.devices, writerIdentity(session), { seqno: read.seqno + 1 });
    printLvmOut([`Renamed "${oldName}" to "${newName}" in volume group "${vgName}"`]);
  });
}

export const lvcreateCommand = lvmCommand(runLvcreate);
export const lvremoveCommand = lvmCommand(runLvremove);
export const lvrenameCommand = lvmCommand(runLvrename);

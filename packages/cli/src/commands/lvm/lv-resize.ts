/** lvextend, lvreduce and lvresize: -L/-l absolute or with +/-, across the PVs given (or any PV). */
import { SECTOR_SIZE_BYTES, lvExtentCount } from '@leasehold/lvm-format';
import { commitVg, reduceExtents } from '@leasehold/volume';
import { displaySizeLong } from './common.js';
import { COMMON_OPTIONS, hasOption, lastValue, parseLvmArgs, type OptionSpec } from './getopt.js';
import { allocate, extentsFor, extentsForSize, pvKeysFor, splitLvPath } from './lv-commands.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmOut } from './output.js';
import { openSession, scanSession, vgForChange, withVgLock, writerIdentity } from './session.js';
import { announceExtend, refreshHereAfterExtend, type ExtendAnnouncement } from './shared-extend.js';
import { sharedChangeOf } from './shared-lock.js';
import { parseExtentsArgument, parseSizeArgument, type SizeSign } from './units.js';
import { lvmCommand } from './run.js';
import { checkSharedLvChange } from './shared-lv.js';

type ResizeKind = 'lvextend' | 'lvreduce' | 'lvresize';

const RESIZE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'size', short: 'L', value: true },
  { long: 'extents', short: 'l', value: true },
  { long: 'force', short: 'f', value: false },
  { long: 'resizefs', short: 'r', value: false },
  { long: 'nofsck', short: 'n', value: false },
  { long: 'stripes', short: 'i', value: true },
  { long: 'stripesize', short: 'I', value: true },
  { long: 'alloc', value: true },
  { long: 'autobackup', short: 'A', value: true },
];

function usage(command: string, lines: string[]): LvmUsageError {
  return new LvmUsageError([...lines, `Run \`${command} --help' for more information.`]);
}

function describeSize(extents: number, extentSizeSectors: number): string {
  return `${displaySizeLong(extents * extentSizeSectors * SECTOR_SIZE_BYTES)} (${extents} extents)`;
}

async function runResize(kind: ResizeKind, words: string[]): Promise<void> {
  const args = parseLvmArgs(kind, words, RESIZE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(
      `  ${kind} -L|--size [+|-]Size[m|UNIT] | -l|--extents [+|-]Number[PERCENT] VG/LV [PV ...] [--devices PV,...]\n`,
    );
    return;
  }
  if (hasOption(args, 'resizefs'))
    throw new LvmCommandError('UNSUPPORTED', [
      'leasehold does not resize file systems (--resizefs); resize the LV, then the file system.',
    ]);
  const sizeText = lastValue(args, 'size');
  const extentsText = lastValue(args, 'extents');
  if ((sizeText === undefined) === (extentsText === undefined))
    throw usage(kind, ['Please specify either size or extents but not both.']);
  const [target, ...pvPaths] = args.positionals;
  if (target === undefined) throw usage(kind, ['Please provide the logical volume name']);
  const { vgName, lvName } = splitLvPath(target);
  if (lvName === undefined)
    throw usage(kind, ['Please provide a volume group name and a logical volume name (VG/LV).']);
  const session = openSession(kind, words, args);
  let announcement: ExtendAnnouncement | undefined;
  await withVgLock(session, vgName, async () => {
    const result = await scanSession(session);
    const read = vgForChange(result, vgName);
    const vg = read.vg;
    const lv = vg.lvs.find((l) => l.name === lvName);
    if (lv === undefined)
      throw new LvmCommandError('LV_NOT_FOUND', [`Logical volume ${lvName} not found in volume group ${vgName}.`]);
    const keys = pvKeysFor(read, pvPaths);
    const current = lvExtentCount(lv);
    let sign: SizeSign;
    let amount: number;
    if (sizeText !== undefined) {
      const size = parseSizeArgument(sizeText, '--size', true);
      sign = size.sign;
      amount = extentsForSize(size.sizeSectors, vg, session.quiet, true);
    } else {
      const extents = parseExtentsArgument(extentsText as string, '--extents', true);
      sign = extents.sign;
      amount = extentsFor(extents, vg, keys);
    }
    const target = sign === '+' ? current + amount : sign === '-' ? current - amount : amount;
    if (sign === '-' && kind === 'lvextend') throw usage(kind, ['Negative argument not permitted - use lvreduce']);
    if (sign === '+' && kind === 'lvreduce') throw usage(kind, ['Positive sign not permitted - use lvextend']);
    if (target === current)
      throw new LvmCommandError('SIZE_UNCHANGED', [
        `New size (${target} extents) matches existing size (${current} extents).`,
      ]);
    if (target < current && kind === 'lvextend') {
      throw new LvmCommandError('BAD_SIZE', [
        `New size given (${target} extents) not larger than existing size (${current} extents)`,
      ]);
    }
    if (target > current && kind === 'lvreduce') {
      throw new LvmCommandError('BAD_SIZE', [
        `New size given (${target} extents) not less than existing size (${current} extents)`,
      ]);
    }
    if (target <= 0) throw new LvmCommandError('BAD_SIZE', [`Unable to reduce ${vgName}/${lvName} below 1 extent.`]);
    // Shared VG: not while another host has it active (nor a reduce while active shared here).
    await checkSharedLvChange(read, lv, target < current ? 'reduce' : 'extend');
    if (target > current) {
      allocate(read, lv, target - current, keys);
    } else {
      lv.segments = reduceExtents(lv.segments, current - target, lv.name);
    }
    const seqno = read.seqno + 1;
    await commitVg(vg, read.devices, writerIdentity(session), { seqno });
    printLvmOut([
      `Size of logical volume ${vgName}/${lvName} changed from ${describeSize(current, vg.extentSizeSectors)} to ${describeSize(target, vg.extentSizeSectors)}.`,
      `Logical volume ${vgName}/${lvName} successfully resized.`,
    ]);
    // A shared VG grown: the LV may be active here and on other hosts (shared-extend.ts).
    const shared = sharedChangeOf(vgName);
    if (shared !== undefined && target > current) {
      await refreshHereAfterExtend(shared.client, { ...read, seqno }, lvName);
      announcement = { vgName, lvName, lockspace: shared.location.lockspace, seqno };
    }
  });
  if (announcement !== undefined) await announceExtend(announcement);
}

export const runLvextend = (words: string[]): Promise<void> => runResize('lvextend', words);
export const runLvreduce = (words: string[]): Promise<void> => runResize('lvreduce', words);
export const runLvresize = (words: string[]): Promise<void> => runResize('lvresize', words);

export const lvextendCommand = lvmCommand(runLvextend);
export const lvreduceCommand = lvmCommand(runLvreduce);
export const lvresizeCommand = lvmCommand(runLvresize);

/**
 * pvcreate and pvremove, and the implicit pvcreate of vgcreate/vgextend. A device is only written
 * after it passed lvm's checks: a PV of a VG needs -ff, a device with any other signature
 * (filesystem, swap, partition table, md, sanlock lease area) needs -y or -f to be wiped, and with
 * neither nothing on it changes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseUuid, parseVgText, SECTOR_SIZE_BYTES } from '@leasehold/lvm-format';
import {
  GLOBAL_LOCK_NAME,
  pvcreate,
  pvremove,
  scanDevices,
  takeFileLock,
  type PvDevice,
  type VgScanResult,
} from '@leasehold/volume';
import { randomBytes, roleOf } from './common.js';
import { COMMON_OPTIONS, flagCount, hasOption, lastValue, parseLvmArgs, type OptionSpec } from './getopt.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmLines, printLvmOut } from './output.js';
import { openSession, scanSession, type Session } from './session.js';
import { scanQuietly } from './shared-lock.js';
import { withGlobalLockIfAny } from './shared-vg.js';
import { isLeaseArea, probeForeignSignatures, wipeSignatures } from './signatures.js';
import { parseSizeArgument } from './units.js';
import { lvmCommand } from './run.js';

/** Options of pvcreate that vgcreate and vgextend accept for the PVs they create. */
export const PV_LAYOUT_OPTIONS: readonly OptionSpec[] = [
  { long: 'pvmetadatacopies', value: true, aliases: ['metadatacopies'] },
  { long: 'metadatasize', value: true },
  { long: 'dataalignment', value: true },
  { long: 'metadataignore', value: true },
  { long: 'zero', short: 'Z', value: true },
  { long: 'force', short: 'f', value: false },
  { long: 'labelsector', value: true },
];

const PVCREATE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  ...PV_LAYOUT_OPTIONS,
  { long: 'uuid', short: 'u', value: true },
  { long: 'restorefile', value: true },
  { long: 'norestorefile', value: false },
];

export interface PvLayoutArgs {
  metadataCopies?: number;
  metadataSizeBytes?: number;
  dataAlignmentBytes?: number;
  metadataIgnore?: boolean;
}

export function pvLayoutArgs(values: { get(name: string): string[] | undefined }): PvLayoutArgs {
  const last = (name: string): string | undefined => {
    const list = values.get(name);
    return list === undefined ? undefined : list[list.length - 1];
  };
  const out: PvLayoutArgs = {};
  const copies = last('pvmetadatacopies');
  if (copies !== undefined) {
    if (!/^[012]$/.test(copies))
      throw new LvmUsageError([
        `Invalid argument for --pvmetadatacopies: ${copies}`,
        'Metadata copies must be 0, 1 or 2.',
      ]);
    out.metadataCopies = Number(copies);
  }
  const size = last('metadatasize');
  if (size !== undefined)
    out.metadataSizeBytes = parseSizeArgument(size, '--metadatasize', false).sizeSectors * SECTOR_SIZE_BYTES;
  const align = last('dataalignment');
  if (align !== undefined)
    out.dataAlignmentBytes = parseSizeArgument(align, '--dataalignment', false, 'k').sizeSectors * SECTOR_SIZE_BYTES;
  const ignore = last('metadataignore');
  if (ignore !== undefined) {
    if (ignore !== 'y' && ignore !== 'n') throw new LvmUsageError([`Invalid argument for --metadataignore: ${ignore}`]);
    out.metadataIgnore = ignore === 'y';
  }
  const labelSector = last('labelsector');
  if (labelSector !== undefined && labelSector !== '1')
    throw new LvmUsageError(['leasehold writes labels to sector 1 only (--labelsector 1).']);
  return out;
}

export interface InitOptions {
  /** -f given this many times. */
  force: number;
  yes: boolean;
  layout: PvLayoutArgs;
  uuid?: string;
  peStartSectors?: number;
  /** The command, for messages ("pvcreate", "vgcreate"). */
  command: string;
}

/**
 * Checks and initializes one device as a PV (nothing is written unless every check passed).
 * Returns the new PV as a scan sees it.
 */
export async function initializePv(result: VgScanResult, path: string, options: InitOptions): Promise<PvDevice> {
  if (!existsSync(path)) throw new LvmCommandError('DEVICE_NOT_FOUND', [`No device found for ${path}.`]);
  const role = roleOf(result, path);
  if (role.kind === 'member') {
    if (options.force < 2) {
      throw new LvmCommandError('PV_IN_USE', [
        `Can't initialize physical volume "${path}" of volume group "${role.vgName}" without -ff`,
        `${path}: physical volume not initialized.`,
      ]);
    }
    if (!options.yes) {
      throw new LvmCommandError('NOT_CONFIRMED', [
        `Really INITIALIZE physical volume "${path}" of volume group "${role.vgName}" [y/n]? [n]`,
        `${path}: physical volume not initialized.`,
      ]);
    }
    printLvmLines([`WARNING: Forcing physical volume creation on ${path} of volume group "${role.vgName}"`]);
  } else if (role.kind === 'none') {
    const found = await probeForeignSignatures(path);
    if (found.length > 0) {
      const wipe = options.yes || options.force > 0;
      const leaseArea = found.some(isLeaseArea);
      for (const sig of found)
        printLvmLines([
          `WARNING: ${sig.description} signature detected on ${path} at offset ${sig.offsetBytes}.${wipe ? '' : ' Wipe it? [y/n]: [n]'}`,
        ]);
      if (leaseArea && options.force < 2) {
        throw new LvmCommandError('SIGNATURE_FOUND', [
          `Can't initialize physical volume "${path}" holding a sanlock lease area without -ff`,
          `${path}: physical volume not initialized.`,
        ]);
      }
      if (!wipe) {
        const kinds = [...new Set(found.map((f) => f.kind))].join(', ');
        throw new LvmCommandError('SIGNATURE_FOUND', [
          `Aborted wiping of ${kinds}.`,
          `${found.length} existing signature${found.length === 1 ? '' : 's'} left on the device.`,
          `${path}: physical volume not initialized (use -y or -f to wipe, as with lvm).`,
        ]);
      }
      await wipeSignatures(path, found);
      for (const sig of found) printLvmOut([`Wiping ${sig.description} signature on ${path}.`]);
    }
  }
  await pvcreate(path, {
    randomBytes,
    ...(options.uuid !== undefined ? { uuid: options.uuid } : {}),
    ...(options.layout.metadataCopies !== undefined ? { metadataCopies: options.layout.metadataCopies } : {}),
    ...(options.layout.metadataSizeBytes !== undefined ? { metadataSizeBytes: options.layout.metadataSizeBytes } : {}),
    ...(options.layout.dataAlignmentBytes !== undefined
      ? { dataAlignmentBytes: options.layout.dataAlignmentBytes }
      : {}),
    ...(options.layout.metadataIgnore !== undefined ? { metadataIgnore: options.layout.metadataIgnore } : {}),
    ...(options.peStartSectors !== undefined ? { peStartSectors: options.peStartSectors } : {}),
  });
  const rescan = await scanDevices([path], { strict: true });
  const device = rescan.pvs[0];
  if (device === undefined)
    throw new LvmCommandError('IO_ERROR', [`${path}: the new PV label could not be read back.`]);
  return device;
}

/** pe_start of PV `uuid` in a backup file (pvcreate --restorefile). */
function peStartFromFile(file: string, uuid: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LvmCommandError('BAD_FILE', [`Couldn't read restore file ${file}: ${(error as Error).message}`]);
  }
  const meta = parseVgText(text);
  const pv = meta.vg.pvs.find((p) => p.id === uuid);
  if (pv === undefined) throw new LvmCommandError('PV_NOT_FOUND', [`Can't find uuid ${uuid} in backup file ${file}`]);
  return pv.peStartSectors;
}

async function withGlobalLock<T>(session: Session, work: () => Promise<T>): Promise<T> {
  const lock = await takeFileLock(GLOBAL_LOCK_NAME, { lockingDir: session.config.lockingDir });
  try {
    // pvcreate and pvremove change the set of orphan PVs: GLLK EX when a shared VG carries it, as
    // lvmlockd takes it (and, as there, a global lock that cannot be had fails the command).
    return await withGlobalLockIfAny(await scanQuietly(session), true, () => work());
  } finally {
    lock.release();
  }
}

export async function runPvcreate(words: string[]): Promise<void> {
  const args = parseLvmArgs('pvcreate', words, PVCREATE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(
      '  pvcreate PV ... [-f|--force] [-y|--yes] [--pvmetadatacopies 0|1|2] [--metadatasize Size] [--dataalignment Size] [-u|--uuid String --restorefile File] [--devices PV,...]\n',
    );
    return;
  }
  if (args.positionals.length === 0)
    throw new LvmUsageError(['Please enter a physical volume path.', "Run `pvcreate --help' for more information."]);
  const layout = pvLayoutArgs(args.values);
  const uuidText = lastValue(args, 'uuid');
  const restoreFile = lastValue(args, 'restorefile');
  let uuid: string | undefined;
  let peStartSectors: number | undefined;
  if (uuidText !== undefined) {
    if (args.positionals.length > 1) throw new LvmUsageError(['Can only set uuid on one volume at once']);
    try {
      uuid = parseUuid(uuidText);
    } catch (error) {
      throw new LvmUsageError([(error as Error).message]);
    }
    if (restoreFile !== undefined) peStartSectors = peStartFromFile(restoreFile, uuid);
    else if (!hasOption(args, 'norestorefile')) throw new LvmUsageError(['--restorefile is required with --uuid']);
  }
  const session = openSession('pvcreate', words, args);
  await withGlobalLock(session, async () => {
    const result = await scanSession(session, args.positionals);
    let failed: LvmCommandError | undefined;
    for (const path of args.positionals) {
      try {
        await initializePv(result, path, {
          force: flagCount(args, 'force'),
          yes: hasOption(args, 'yes'),
          layout,
          command: 'pvcreate',
          ...(uuid !== undefined ? { uuid } : {}),
          ...(peStartSectors !== undefined ? { peStartSectors } : {}),
        });
        printLvmOut([`Physical volume "${path}" successfully created.`]);
      } catch (error) {
        if (!(error instanceof LvmCommandError)) throw error;
        printLvmLines(error.lines);
        failed = error;
      }
    }
    if (failed !== undefined) throw new LvmCommandError(failed.code, [], failed.exitStatus);
  });
}

const PVREMOVE_OPTIONS: readonly OptionSpec[] = [...COMMON_OPTIONS, { long: 'force', short: 'f', value: false }];

export async function runPvremove(words: string[]): Promise<void> {
  const args = parseLvmArgs('pvremove', words, PVREMOVE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write('  pvremove PV ... [-f|--force [-f]] [-y|--yes] [--devices PV,...]\n');
    return;
  }
  if (args.positionals.length === 0)
    throw new LvmUsageError(['Please enter a physical volume path.', "Run `pvremove --help' for more information."]);
  const session = openSession('pvremove', words, args);
  const force = flagCount(args, 'force');
  await withGlobalLock(session, async () => {
    const result = await scanSession(session, args.positionals);
    let failed: LvmCommandError | undefined;
    for (const path of args.positionals) {
      try {
        const role = roleOf(result, path);
        if (role.kind === 'none') {
          if (force > 0 && existsSync(path)) continue;
          throw new LvmCommandError('NOT_A_PV', [
            existsSync(path) ? `No PV found on device ${path}.` : `No device found for ${path}.`,
          ]);
        }
        if (role.kind === 'member') {
          if (force < 2) {
            throw new LvmCommandError('PV_IN_USE', [
              `PV ${path} is used by VG ${role.vgName} so please use vgreduce first.`,
              '(If you are certain you need pvremove, then confirm by using --force twice.)',
              `${path}: physical volume label not removed.`,
            ]);
          }
          if (!hasOption(args, 'yes')) {
            throw new LvmCommandError('NOT_CONFIRMED', [
              `Really WIPE LABELS from physical volume "${path}" of volume group "${role.vgName}" [y/n]? [n]`,
              `${path}: physical volume label not removed.`,
            ]);
          }
          printLvmLines([`WARNING: Wiping physical volume label from ${path} of volume group "${role.vgName}".`]);
        }
        await pvremove(path);
        printLvmOut([`Labels on physical volume "${path}" successfully wiped.`]);
      } catch (error) {
        if (!(error instanceof LvmCommandError)) throw error;
        printLvmLines(error.lines);
        failed = error;
      }
    }
    if (failed !== undefined) throw new LvmCommandError(failed.code, [], failed.exitStatus);
  });
}

export const pvcreateCommand = lvmCommand(runPvcreate);
export const pvremoveCommand = lvmCommand(runPvremove);

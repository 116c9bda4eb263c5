/**
 * vgck, vgcfgbackup and vgcfgrestore. vgck only reads unless --updatemetadata is given; then it
 * rewrites every mda of the VG with seqno + 1 (repairing damaged, older and disagreeing copies and
 * missing used flags) and turns outdated PVs into orphans, as lvm does.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LvmFormatError, parseVgText, printVgBackup, type VgMetadata } from '@leasehold/lvm-format';
import { commitVg, footerFor, orphanPv, type PvDevice } from '@leasehold/volume';
import { COMMON_OPTIONS, hasOption, lastValue, parseLvmArgs, type OptionSpec } from './getopt.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmLines, printLvmOut } from './output.js';
import { findVgOrFail, openSession, refuseShared, scanSession, withVgLock, writerIdentity } from './session.js';
import { lvmCommand } from './run.js';

/** lvm's default backup/backup_dir. */
export const DEFAULT_BACKUP_DIR = '/etc/lvm/backup';

const VGCK_OPTIONS: readonly OptionSpec[] = [...COMMON_OPTIONS, { long: 'updatemetadata', value: false }];

export async function runVgck(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgck', words, VGCK_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write('  vgck [VG ...] [--updatemetadata] [--devices PV,...]\n');
    return;
  }
  const session = openSession('vgck', words, args);
  const update = hasOption(args, 'updatemetadata');
  const check = async (name: string | undefined): Promise<boolean> => {
    const result = await scanSession(session);
    const reads = name === undefined ? result.vgs : [findVgOrFail(result, name)];
    let ok = true;
    for (const read of reads) {
      printLvmLines(read.warnings);
      if (read.missingPvIds.length > 0) {
        printLvmLines([`The volume group is missing ${read.missingPvIds.length} physical volumes.`]);
        ok = false;
        continue;
      }
      if (!update) continue;
      if (read.duplicatePvIds.length > 0)
        throw new LvmCommandError('DUPLICATE_PV', [
          `Cannot update VG ${read.name} while PVs appear on duplicate devices.`,
        ]);
      refuseShared(read);
      await commitVg(read.vg, read.devices, writerIdentity(session), { seqno: read.seqno + 1 });
      for (const outdated of read.outdatedDevices) {
        await orphanPv(outdated);
        printLvmLines([`WARNING: wiping outdated PV ${outdated.path} from VG ${read.name}.`]);
      }
    }
    return ok;
  };
  let failed = false;
  const names = args.positionals.length === 0 ? [undefined] : args.positionals;
  for (const name of names) {
    try {
      const ok = name !== undefined && update ? await withVgLock(session, name, () => check(name)) : await check(name);
      if (!ok) failed = true;
    } catch (error) {
      if (!(error instanceof LvmCommandError)) throw error;
      printLvmLines(error.lines);
      failed = true;
    }
  }
  if (failed) throw new LvmCommandError('VG_CHECK_FAILED', []);
}

const BACKUP_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'file', short: 'f', value: true },
  { long: 'ignorelockingfailure', value: false },
];

export async function runVgcfgbackup(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgcfgbackup', words, BACKUP_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write('  vgcfgbackup [-f|--file String] [VG ...] [--devices PV,...]\n');
    return;
  }
  const session = openSession('vgcfgbackup', words, args);
  const result = await scanSession(session);
  const reads = args.positionals.length === 0 ? result.vgs : args.positionals.map((n) => findVgOrFail(result, n));
  const file = lastValue(args, 'file');
  if (file !== undefined && reads.length > 1 && !file.includes('%s')) {
    throw new LvmUsageError(['VGs must be backed up into different files. Use %s in filename for VG name.']);
  }
  const identity = writerIdentity(session);
  for (const read of reads) {
    printLvmLines(read.warnings);
    const path = file === undefined ? `${DEFAULT_BACKUP_DIR}/${read.name}` : file.replaceAll('%s', read.name);
    const meta: VgMetadata = {
      vg: read.vg,
      footer: { ...footerFor(identity), description: ['vgcfgbackup', ...words].join(' ') },
    };
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, printVgBackup(meta, { tzOffsetMinutes: identity.tzOffsetMinutes ?? 0 }), { mode: 0o600 });
    printLvmOut([`Volume group "${read.name}" successfully backed up.`]);
  }
}

const RESTORE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'file', short: 'f', value: true },
  { long: 'force', value: false },
  { long: 'list', short: 'l', value: false },
];

export async function runVgcfgrestore(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgcfgrestore', words, RESTORE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write('  vgcfgrestore -f|--file String VG [--devices PV,...]\n');
    return;
  }
  const [name, extra] = args.positionals;
  if (name === undefined || extra !== undefined)
    throw new LvmUsageError(['Please specify a *single* volume group to restore.']);
  const file = lastValue(args, 'file') ?? `${DEFAULT_BACKUP_DIR}/${name}`;
  let meta: VgMetadata;
  try {
    meta = parseVgText(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof LvmFormatError)
      throw new LvmCommandError(error.code, [
        `${file}: ${error.message}`,
        `Couldn't read volume group metadata from file.`,
        'Restore failed.',
      ]);
    throw new LvmCommandError('BAD_FILE', [`Couldn't read ${file}: ${(error as Error).message}`, 'Restore failed.']);
  }
  if (meta.vg.name !== name)
    throw new LvmCommandError('BAD_FILE', [`Volume group ${name} not found in file ${file}.`, 'Restore failed.']);
  if (hasOption(args, 'list')) {
    printLvmOut([`File:\t\t${file}`, `VG name:    \t${name}`, `Description:\t${meta.footer.description ?? ''}`]);
    return;
  }
  const session = openSession('vgcfgrestore', words, args);
  await withVgLock(session, name, async () => {
    const result = await scanSession(session);
    const other = result.vgs.find((v) => v.name === name && v.vg.id !== meta.vg.id);
    if (other !== undefined)
      throw new LvmCommandError('VG_EXISTS', [
        `Another volume group called ${name} (${other.vg.id}) exists; not restoring over it.`,
        'Restore failed.',
      ]);
    const byId = new Map<string, PvDevice>();
    for (const d of result.orphans) byId.set(d.label.pvId, d);
    for (const read of result.vgs) {
      for (const d of read.devices.values()) {
        if (read.vg.id === meta.vg.id) byId.set(d.label.pvId, d);
        else if (meta.vg.pvs.some((p) => p.id === d.label.pvId)) {
          throw new LvmCommandError('PV_IN_USE', [
            `PV ${d.path} belongs to VG ${read.name}; not restoring ${name} over it.`,
            'Restore failed.',
          ]);
        }
      }
    }
    const devices = new Map<string, PvDevice>();
    for (const pv of meta.vg.pvs) {
      const d = byId.get(pv.id);
      if (d === undefined)
        throw new LvmCommandError('MISSING_PV', [
          `Couldn't find device with uuid ${pv.id}.`,
          'Cannot restore Volume Group ' + name + ' with 1 PVs marked as missing.',
          'Restore failed.',
        ]);
      devices.set(pv.id, d);
    }
    await commitVg(meta.vg, devices, writerIdentity(session), { seqno: meta.vg.seqno + 1 });
    printLvmOut([`Restored volume group ${name}.`]);
  });
}

export const vgckCommand = lvmCommand(runVgck);
export const vgcfgbackupCommand = lvmCommand(runVgcfgbackup);
export const vgcfgrestoreCommand = lvmCommand(runVgcfgrestore);

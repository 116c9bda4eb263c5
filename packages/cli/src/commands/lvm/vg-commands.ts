/** vgcreate, vgremove, vgextend, vgreduce, vgrename with lvm's checks, messages and exit statuses. */
import {
  DEFAULT_EXTENT_SIZE_SECTORS,
  generateUuid,
  isLvVisible,
  isVgShared,
  SECTOR_SIZE_BYTES,
  vgNameProblem,
  type VolumeGroup,
} from '@leasehold/lvm-format';
import {
  commitVg,
  GLOBAL_LOCK_NAME,
  orphanPv,
  takeFileLock,
  type PvDevice,
  type VgRead,
  type VgScanResult,
} from '@leasehold/volume';
import { checkedTags, devicesFor, nextPvKey, pvEntry, randomBytes, renumberPvKeys, roleOf } from './common.js';
import {
  COMMON_OPTIONS,
  flagCount,
  hasOption,
  lastValue,
  parseLvmArgs,
  type OptionSpec,
  type ParsedArgs,
} from './getopt.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmLines, printLvmOut } from './output.js';
import { initializePv, PV_LAYOUT_OPTIONS, pvLayoutArgs } from './pv-commands.js';
import {
  findVgOrFail,
  openSession,
  refuseShared,
  scanSession,
  vgForChange,
  withVgLock,
  writerIdentity,
  type Session,
} from './session.js';
import { parseSizeArgument } from './units.js';
import { lvmCommand } from './run.js';
import { checkNewSharedVgName, prepareSharedVg, withGlobalLockIfAny } from './shared-vg.js';
import { scanQuietly } from './shared-lock.js';
import { finishSharedVgRemove, planSharedVgRemove, type SharedRemovePlan } from './shared-remove.js';
import { lockLvNameOf } from './shared-layout.js';
import { startCreatedVg } from './shared-start.js';

/** Extent sizes lvm accepts for new VGs: at least 1 KiB (2 sectors), and a power of 2 or a multiple of 128 KiB (256 sectors). */
const MIN_EXTENT_SIZE_SECTORS = 2;
const EXTENT_MULTIPLE_SECTORS = 256;

function usage(command: string, lines: string[]): LvmUsageError {
  return new LvmUsageError([...lines, `Run \`${command} --help' for more information.`]);
}

function checkNewVgName(command: string, name: string): void {
  const problem = vgNameProblem(name);
  if (problem !== undefined) throw usage(command, [problem, `New volume group name "${name}" is invalid.`]);
}

/**
 * lvm's global file lock on this host; with `clusterWide`, also the global lock (GLLK) EX of the
 * shared VGs when one carries it and is started here (vgextend, vgreduce, vgrename change the set of
 * PVs or VG names). vgcreate and vgremove take GLLK themselves, after their own checks.
 */
async function withGlobal<T>(session: Session, work: () => Promise<T>, clusterWide = false): Promise<T> {
  const lock = await takeFileLock(GLOBAL_LOCK_NAME, { lockingDir: session.config.lockingDir });
  try {
    if (!clusterWide) return await work();
    return await withGlobalLockIfAny(await scanQuietly(session), false, () => work());
  } finally {
    lock.release();
  }
}

/** The PVs named for vgcreate/vgextend: orphan PVs as they are, other devices initialized first. */
async function pvsToAdd(
  result: VgScanResult,
  args: ParsedArgs,
  command: string,
  vgName: string,
  paths: readonly string[],
): Promise<PvDevice[]> {
  const layout = pvLayoutArgs(args.values);
  const seen = new Set<string>();
  const out: PvDevice[] = [];
  // Check all before writing any: a refused device leaves every device as it was.
  for (const path of paths) {
    if (seen.has(path))
      throw new LvmCommandError('DUPLICATE_PV', [`Physical volume ${path} is listed more than once.`]);
    seen.add(path);
    const role = roleOf(result, path);
    if (role.kind === 'member') {
      const lines =
        role.vgName === vgName
          ? [
              `Physical volume '${path}' is already in volume group '${vgName}'`,
              `Unable to add physical volume '${path}' to volume group '${vgName}'`,
            ]
          : [
              `Physical volume '${path}' is already in volume group '${role.vgName}'`,
              `Unable to add physical volume '${path}' to volume group '${vgName}'`,
            ];
      throw new LvmCommandError('PV_IN_USE', [...lines, `${path}: physical volume not initialized.`]);
    }
  }
  for (const path of paths) {
    const role = roleOf(result, path);
    if (role.kind === 'orphan') out.push(role.device);
    else {
      out.push(
        await initializePv(result, path, {
          force: flagCount(args, 'force'),
          yes: hasOption(args, 'yes'),
          layout,
          command,
        }),
      );
      printLvmOut([`Physical volume "${path}" successfully created.`]);
    }
  }
  return out;
}

function parseMax(args: ParsedArgs, name: string): number {
  const text = lastValue(args, name);
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text)) throw new LvmUsageError([`Invalid argument for --${name}: ${text}`]);
  return Number(text);
}

const VGCREATE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  ...PV_LAYOUT_OPTIONS,
  { long: 'physicalextentsize', short: 's', value: true },
  { long: 'maxlogicalvolumes', short: 'l', value: true },
  { long: 'maxphysicalvolumes', short: 'p', value: true },
  { long: 'alloc', value: true },
  { long: 'addtag', value: true },
  { long: 'shared', value: false },
  { long: 'locktype', value: true },
  { long: 'clustered', short: 'c', value: true },
  { long: 'autobackup', short: 'A', value: true },
  { long: 'vgmetadatacopies', value: true },
];

export async function runVgcreate(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgcreate', words, VGCREATE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(
      '  vgcreate VG_new PV ... [-s|--physicalextentsize Size[m|UNIT]] [--pvmetadatacopies 0|1|2] [--metadatasize Size] [-f|--force] [-y|--yes] [--devices PV,...]\n',
    );
    return;
  }
  const [name, ...paths] = args.positionals;
  if (name === undefined) throw usage('vgcreate', ['Please provide volume group name and physical volumes']);
  if (paths.length === 0) throw usage('vgcreate', ['Please enter physical volume name(s)']);
  checkNewVgName('vgcreate', name);
  const lockType = lastValue(args, 'locktype');
  if (lockType !== undefined && lockType !== 'sanlock' && lockType !== 'none')
    throw new LvmCommandError('UNSUPPORTED', [`leasehold supports lock type sanlock only (--locktype ${lockType}).`]);
  const shared = hasOption(args, 'shared') || lockType === 'sanlock';
  const clustered = lastValue(args, 'clustered');
  if (clustered !== undefined && clustered !== 'n')
    throw new LvmUsageError(['Clustered VGs (clvmd) are not supported; use --shared.']);
  let extentSizeSectors = DEFAULT_EXTENT_SIZE_SECTORS;
  const extentText = lastValue(args, 'physicalextentsize');
  if (extentText !== undefined) {
    extentSizeSectors = parseSizeArgument(extentText, '--physicalextentsize', false).sizeSectors;
    if (extentSizeSectors < MIN_EXTENT_SIZE_SECTORS)
      throw usage('vgcreate', ['Physical extent size must be at least 1 KiB.']);
    const powerOfTwo = (extentSizeSectors & (extentSizeSectors - 1)) === 0;
    if (!powerOfTwo && extentSizeSectors % EXTENT_MULTIPLE_SECTORS !== 0) {
      throw usage('vgcreate', [`Physical extent size ${extentText} is not a power of 2 or a multiple of 128 KiB.`]);
    }
  }
  const alloc = lastValue(args, 'alloc');
  if (alloc !== undefined && !['normal', 'contiguous', 'cling', 'anywhere'].includes(alloc))
    throw new LvmUsageError([`Invalid argument for --alloc: ${alloc}`]);
  const session = openSession('vgcreate', words, args);
  let created: VolumeGroup | undefined;
  await withGlobal(session, () =>
    withVgLock(session, name, async () => {
      const scanned = await scanSession(session, paths);
      // With a shared VG around, the global lock (GLLK) EX makes the name and PV checks hold cluster-wide.
      await withGlobalLockIfAny(scanned, shared, async (held) => {
        const result = held ? await scanSession(session, paths) : scanned;
        if (result.vgs.some((v) => v.name === name))
          throw new LvmCommandError('VG_EXISTS', [`A volume group called ${name} already exists.`]);
        if (shared) checkNewSharedVgName(name, result);
        const devices = await pvsToAdd(result, args, 'vgcreate', name, paths);
        const vg: VolumeGroup = {
          name,
          id: generateUuid(randomBytes),
          seqno: 1,
          format: 'lvm2',
          status: ['RESIZEABLE', 'READ', 'WRITE'],
          flags: [],
          tags: checkedTags(args.values.get('addtag')),
          extentSizeSectors,
          maxLv: parseMax(args, 'maxlogicalvolumes'),
          maxPv: parseMax(args, 'maxphysicalvolumes'),
          metadataCopies: 0,
          pvs: devices.map((d, i) => pvEntry(`pv${i}`, d, extentSizeSectors)),
          lvs: [],
        };
        if (alloc !== undefined && alloc !== 'normal') vg.allocationPolicy = alloc;
        for (const pv of vg.pvs) {
          if (pv.peCount === 0)
            throw new LvmCommandError('DEVICE_TOO_SMALL', [
              `Physical volume ${pv.deviceHint ?? ''} has no room for an extent of ${(extentSizeSectors * SECTOR_SIZE_BYTES) / 1024} KiB.`,
            ]);
        }
        if (shared) await prepareSharedVg(session, vg, result, flagCount(args, 'force') >= 2, randomBytes);
        await commitVg(vg, devicesFor(new Map(), devices), writerIdentity(session), { seqno: 1 });
        printLvmOut([`Volume group "${name}" successfully created`]);
        created = vg;
      });
    }),
  );
  if (shared && created !== undefined) await startCreatedVg(session, name);
}

const VGREMOVE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'force', short: 'f', value: false },
  { long: 'select', short: 'S', value: true },
];

export async function runVgremove(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgremove', words, VGREMOVE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write('  vgremove VG ... [-f|--force] [--devices PV,...]\n');
    return;
  }
  if (args.positionals.length === 0)
    throw usage('vgremove', ['Please enter one or more volume group paths or use --select for selection.']);
  const session = openSession('vgremove', words, args);
  let failed: LvmCommandError | undefined;
  for (const name of args.positionals) {
    try {
      let sharedPlan: SharedRemovePlan | undefined;
      await withGlobal(session, () =>
        withVgLock(session, name, async () => {
          const scanned = await scanSession(session);
          await withGlobalLockIfAny(scanned, isVgShared(vgForChange(scanned, name).vg), async (held) => {
            const result = held ? await scanSession(session) : scanned;
            const read = vgForChange(result, name);
            const visible = read.vg.lvs.filter(isLvVisible).length;
            // A shared VG's hidden lvmlock is not an LV to confirm.
            const userLvs = read.vg.lvs.filter((lv) => !(isVgShared(read.vg) && lv.name === lockLvNameOf(read.vg)));
            if (userLvs.length > 0 && !hasOption(args, 'force')) {
              if (!hasOption(args, 'yes')) {
                throw new LvmCommandError('NOT_CONFIRMED', [
                  `Do you really want to remove volume group "${name}" containing ${visible} logical volumes? [y/n]: [n]`,
                  `Volume group "${name}" not removed`,
                ]);
              }
            }
            sharedPlan = await planSharedVgRemove(read, result, { force: hasOption(args, 'force') });
            for (const lv of read.vg.lvs.filter(isLvVisible))
              printLvmOut([`Logical volume "${lv.name}" successfully removed.`]);
            for (const device of read.devices.values()) await orphanPv(device);
            printLvmOut([`Volume group "${name}" successfully removed`]);
          });
        }),
      );
      if (sharedPlan !== undefined) await finishSharedVgRemove(sharedPlan);
    } catch (error) {
      if (!(error instanceof LvmCommandError)) throw error;
      printLvmLines(error.lines);
      failed = error;
    }
  }
  if (failed !== undefined) throw new LvmCommandError(failed.code, [], failed.exitStatus);
}

const VGEXTEND_OPTIONS: readonly OptionSpec[] = [...COMMON_OPTIONS, ...PV_LAYOUT_OPTIONS];

export async function runVgextend(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgextend', words, VGEXTEND_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(
      '  vgextend VG PV ... [-f|--force] [-y|--yes] [--pvmetadatacopies 0|1|2] [--devices PV,...]\n',
    );
    return;
  }
  const [name, ...paths] = args.positionals;
  if (name === undefined) throw usage('vgextend', ['Please enter volume group name and physical volume(s)']);
  if (paths.length === 0) throw usage('vgextend', ['Please enter physical volume(s)']);
  const session = openSession('vgextend', words, args);
  await withGlobal(
    session,
    () =>
      withVgLock(session, name, async () => {
        const result = await scanSession(session, paths);
        const read = vgForChange(result, name);
        if (read.vg.maxPv > 0 && read.vg.pvs.length + paths.length > read.vg.maxPv) {
          throw new LvmCommandError('TOO_MANY_PVS', [
            `No space for '${paths[0]}' - volume group '${name}' holds max ${read.vg.maxPv} physical volume(s).`,
          ]);
        }
        const joining = await pvsToAdd(result, args, 'vgextend', name, paths);
        const vg = read.vg;
        for (const device of joining) vg.pvs.push(pvEntry(nextPvKey(vg), device, vg.extentSizeSectors));
        await commitVg(vg, devicesFor(read.devices, joining), writerIdentity(session), { seqno: read.seqno + 1 });
        printLvmOut([`Volume group "${name}" successfully extended`]);
      }),
    true,
  );
}

const VGREDUCE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'all', short: 'a', value: false },
  { long: 'removemissing', value: false },
  { long: 'force', short: 'f', value: false },
];

export async function runVgreduce(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgreduce', words, VGREDUCE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(
      '  vgreduce VG PV ... | vgreduce -a|--all VG | vgreduce --removemissing VG [--devices PV,...]\n',
    );
    return;
  }
  const [name, ...paths] = args.positionals;
  if (name === undefined) throw usage('vgreduce', ['Please give volume group name and physical volume paths']);
  const session = openSession('vgreduce', words, args);
  await withGlobal(
    session,
    () =>
      withVgLock(session, name, async () => {
        const result = await scanSession(session);
        if (hasOption(args, 'removemissing')) {
          await removeMissing(session, result, name);
          return;
        }
        if (paths.length === 0 && !hasOption(args, 'all'))
          throw usage('vgreduce', ['Please enter physical volume paths or option -a']);
        const read = vgForChange(result, name);
        await reduce(session, read, paths, hasOption(args, 'all'));
      }),
    true,
  );
}

async function reduce(session: Session, read: VgRead, paths: readonly string[], all: boolean): Promise<void> {
  const vg = read.vg;
  const byPath = new Map<string, PvDevice>();
  for (const d of read.devices.values()) byPath.set(d.path, d);
  const used = new Set<string>();
  for (const lv of vg.lvs) for (const seg of lv.segments) for (const a of seg.stripes) used.add(a.pvKey);
  const keyOf = new Map(vg.pvs.map((pv) => [pv.id, pv.key]));
  const targets: PvDevice[] = [];
  if (all) {
    for (const d of read.devices.values()) if (!used.has(keyOf.get(d.label.pvId) ?? '')) targets.push(d);
    // lvm keeps the first unused PV when every PV is unused
    if (targets.length === vg.pvs.length) targets.shift();
  } else {
    for (const path of paths) {
      const device = byPath.get(path);
      if (device === undefined)
        throw new LvmCommandError('PV_NOT_FOUND', [
          `Physical Volume "${path}" not found in Volume Group "${vg.name}".`,
        ]);
      if (used.has(keyOf.get(device.label.pvId) ?? ''))
        throw new LvmCommandError('PV_IN_USE', [`Physical volume "${path}" still in use`]);
      targets.push(device);
    }
    if (targets.length >= vg.pvs.length) {
      throw new LvmCommandError('LAST_PV', [
        `Can't remove final physical volume "${targets[targets.length - 1]?.path ?? ''}" from volume group "${vg.name}"`,
      ]);
    }
  }
  const leaving = new Set(targets.map((d) => d.label.pvId));
  vg.pvs = vg.pvs.filter((pv) => !leaving.has(pv.id));
  renumberPvKeys(vg);
  const staying = new Map([...read.devices].filter(([id]) => !leaving.has(id)));
  await commitVg(vg, staying, writerIdentity(session), { seqno: read.seqno + 1 });
  for (const device of targets) {
    await orphanPv(device);
    printLvmOut([`Removed "${device.path}" from volume group "${vg.name}"`]);
  }
}

async function removeMissing(session: Session, result: VgScanResult, name: string): Promise<void> {
  const read = findVgOrFail(result, name);
  printLvmLines(read.warnings);
  refuseShared(read);
  if (read.missingPvIds.length === 0) {
    printLvmOut([`Volume group "${name}" is already consistent.`]);
    return;
  }
  const vg = read.vg;
  const missing = new Set(read.missingPvIds);
  const missingKeys = new Set(vg.pvs.filter((pv) => missing.has(pv.id)).map((pv) => pv.key));
  for (const lv of vg.lvs) {
    for (const seg of lv.segments) {
      if (seg.stripes.some((a) => missingKeys.has(a.pvKey))) {
        throw new LvmCommandError('PV_IN_USE', [
          `WARNING: Partial LV ${lv.name} needs to be repaired or removed.`,
          'There are still partial LVs in VG ' + name + '.',
          'To remove them unconditionally use: vgreduce --removemissing --force.',
        ]);
      }
    }
  }
  vg.pvs = vg.pvs.filter((pv) => !missing.has(pv.id));
  renumberPvKeys(vg);
  await commitVg(vg, read.devices, writerIdentity(session), { seqno: read.seqno + 1 });
  printLvmOut([`Wrote out consistent volume group ${name}.`]);
}

const VGRENAME_OPTIONS: readonly OptionSpec[] = [...COMMON_OPTIONS, { long: 'force', short: 'f', value: false }];

export async function runVgrename(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgrename', words, VGRENAME_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write('  vgrename VG VG_new [--devices PV,...]\n');
    return;
  }
  const [oldName, newName, extra] = args.positionals;
  if (oldName === undefined || newName === undefined || extra !== undefined)
    throw usage('vgrename', ['Old and new volume group names need specifying']);
  checkNewVgName('vgrename', newName);
  if (oldName === newName) throw new LvmCommandError('BAD_ARGUMENT', ['Old and new volume group names must differ']);
  const session = openSession('vgrename', words, args);
  await withGlobal(
    session,
    () =>
      withVgLock(session, oldName, () =>
        withVgLock(session, newName, async () => {
          const result = await scanSession(session);
          const byUuid = result.vgs.find((v) => v.vg.id === oldName.replaceAll('-', ''));
          const read = byUuid ?? vgForChange(result, oldName);
          if (result.vgs.some((v) => v.name === newName))
            throw new LvmCommandError('VG_EXISTS', [`New volume group "${newName}" already exists`]);
          if (isVgShared(read.vg)) {
            throw new LvmCommandError('UNSUPPORTED', [
              `Cannot rename shared VG ${read.name}: leasehold does not rename its lockspace (lvm_${read.name}) yet; use lvm's vgrename with lvmlockd.`,
            ]);
          }
          const shownOld = read.name;
          read.vg.name = newName;
          await commitVg(read.vg, read.devices, writerIdentity(session), { seqno: read.seqno + 1 });
          printLvmOut([`Volume group "${shownOld}" successfully renamed to "${newName}"`]);
        }),
      ),
    true,
  );
}

export const vgcreateCommand = lvmCommand(runVgcreate);
export const vgremoveCommand = lvmCommand(runVgremove);
export const vgextendCommand = lvmCommand(runVgextend);
export const vgreduceCommand = lvmCommand(runVgreduce);
export const vgrenameCommand = lvmCommand(runVgrename);

/**
 * What every lvm-named command does around its own work: which devices to look at (`--devices`, the
 * `devices` filter of leasehold.conf, the default scan), one scan of them (each device's label and
 * mdas read once), lvm's per-VG file lock for changes, the identity written into new metadata, and
 * warnings printed as lvm prints them.
 */
import { hostname, machine, release, type as osType, version as osVersion } from 'node:os';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { isVgShared, LABEL_SCAN_SECTORS, scanLabel, SECTOR_SIZE_BYTES } from '@leasehold/lvm-format';
import {
  DEFAULT_VOLUME_CONFIG_PATH,
  devicesToScan,
  directoryTextCache,
  findVg,
  loadVolumeConfig,
  readAllVgs,
  scanDevices,
  takeFileLock,
  VolumeError,
  vgLockName,
  type FileLock,
  type ParsedTextCache,
  type VgRead,
  type VgScanResult,
  type VolumeConfig,
  type WriterIdentity,
} from '@leasehold/volume';
import { lastValue, type ParsedArgs } from './getopt.js';
import { LVM_EXIT_USAGE, LvmCommandError } from './lvm-error.js';
import { printLvmLines } from './output.js';
import { beginSharedVgChange, checkAgainstValueBlock, sharedChangeOf } from './shared-lock.js';

/** Names a leasehold.conf for the volume commands (tests use it; `--config FILE` wins). */
export const CONFIG_ENV = 'LEASEHOLD_CONFIG';

export interface Session {
  command: string;
  words: readonly string[];
  config: VolumeConfig;
  /** The devices this command looks at, in order. */
  devices: string[];
  /** Devices named with --devices (an explicit list: missing ones are errors). */
  explicitDevices: boolean;
  quiet: boolean;
  /** The leasehold.conf read (undefined: the default path, which may be absent). */
  configPath?: string;
}

/**
 * `--config` is a leasehold.conf path; lvm's own `--config 'section { ... }'` strings are accepted and
 * ignored so scripts written for lvm keep working.
 */
function configPath(args: ParsedArgs): string | undefined {
  const value = lastValue(args, 'config');
  if (value !== undefined && !/[{}=]/.test(value)) return value;
  const env = process.env[CONFIG_ENV];
  return env === undefined || env === '' ? undefined : env;
}

/** Commands that never write: lvm's --test (-t) changes nothing for them. */
const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set(['pvs', 'vgs', 'lvs', 'vgcfgbackup']);

export function openSession(command: string, words: readonly string[], args: ParsedArgs): Session {
  // lvm's --test runs a change without writing it; leasehold has no dry run, so it refuses rather than write
  if ((args.counts.get('test') ?? 0) > 0 && !READ_ONLY_COMMANDS.has(command)) {
    throw new LvmCommandError(
      'UNSUPPORTED',
      ['--test (-t) is not supported by leasehold; nothing was done.'],
      LVM_EXIT_USAGE,
    );
  }
  let config: VolumeConfig;
  const path = configPath(args);
  try {
    config = loadVolumeConfig(path);
  } catch (error) {
    if (error instanceof VolumeError) throw new LvmCommandError(error.code, [error.message]);
    throw error;
  }
  const listed = (args.values.get('devices') ?? []).flatMap((v) => v.split(',')).filter((s) => s !== '');
  const devices = devicesToScan(listed, config);
  return {
    command,
    words,
    config,
    devices,
    explicitDevices: listed.length > 0,
    quiet: (args.counts.get('quiet') ?? 0) > 0,
    configPath: path ?? DEFAULT_VOLUME_CONFIG_PATH,
  };
}

/** leasehold.conf's cache of parsed metadata texts (metadata_cache_dir), if any. */
export function textCacheOf(session: Session): ParsedTextCache | undefined {
  const dir = session.config.metadataCacheDir;
  return dir === undefined ? undefined : directoryTextCache(dir);
}

/**
 * Scans every device of the session, plus devices named as arguments (`extra`), once each; prints the
 * scan's warnings. `readOnly`: the caller only reports (models not copied, see readAllVgs).
 */
export async function scanSession(
  session: Session,
  extra: readonly string[] = [],
  options: { readOnly?: boolean } = {},
): Promise<VgScanResult> {
  const paths = [...session.devices];
  for (const p of extra) if (!paths.includes(p)) paths.push(p);
  for (const device of session.devices) {
    if (session.explicitDevices && !existsSync(device)) printLvmLines([`Device not found for ${device}.`]);
  }
  const textCache = textCacheOf(session);
  const scan = await scanDevices(
    paths.filter((d) => existsSync(d)),
    textCache === undefined ? {} : { textCache },
  );
  const result = readAllVgs(scan, options);
  printLvmLines(result.warnings);
  for (const path of scan.nonPvs) printLvmLines(damagedLabelWarnings(path));
  return result;
}

/**
 * Why a device that looks like it once was a PV is not one now (a label with a wrong checksum,
 * sector number or type): lvm says nothing at normal verbosity, leasehold names the device, the
 * sector and the problem. Reads the 2 KiB of label sectors again; only for devices that are no PV.
 */
export function damagedLabelWarnings(path: string): string[] {
  const head = Buffer.alloc(LABEL_SCAN_SECTORS * SECTOR_SIZE_BYTES);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (readSync(fd, head, 0, head.length, 0) < head.length) return [];
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return scanLabel(head).warnings.map(
    (w) => `WARNING: ${path}: ${w} (label sectors at offset 0-${head.length - 1}); the device is not used as a PV.`,
  );
}

/** The VG for a command that changes it: found, complete, without duplicate PVs, and local. */
export function vgForChange(result: VgScanResult, name: string): VgRead {
  const read = findVgOrFail(result, name);
  printLvmLines(read.warnings);
  checkAgainstValueBlock(read);
  if (read.duplicatePvIds.length > 0) {
    throw new LvmCommandError('DUPLICATE_PV', [`Cannot change VG ${name} while PVs appear on duplicate devices.`]);
  }
  if (read.missingPvIds.length > 0) {
    throw new LvmCommandError('MISSING_PV', [
      `Cannot change VG ${name} while PVs are missing.`,
      'See vgreduce --removemissing and vgextend --restoremissing.',
    ]);
  }
  refuseShared(read);
  return read;
}

/**
 * A shared VG is changed only under its VG lease (VGLK): commands that change a VG take it in
 * withVgLock; without it they refuse as lvm does without lvmlockd.
 */
export function refuseShared(read: VgRead): void {
  // Under its VGLK (shared-lock.ts, taken by withVgLock) a shared VG may be changed.
  if (!isVgShared(read.vg) || sharedChangeOf(read.name) !== undefined) return;
  throw new LvmCommandError('SHARED_VG', [
    `Cannot access VG ${read.name} with lock type ${read.vg.lockType ?? ''} that requires lvmlockd.`,
    'leasehold changes shared VGs only under their VG lease, which comes with shared VG support (lockstart).',
  ]);
}

export function findVgOrFail(result: VgScanResult, name: string): VgRead {
  try {
    return findVg(result, name);
  } catch (error) {
    if (error instanceof VolumeError)
      throw new LvmCommandError(error.code, [error.message, `Cannot process volume group ${name}`]);
    throw error;
  }
}

/** Runs `work` under lvm's file lock for the VG (so leasehold and lvm on this host never interleave). */
export async function withVgLock<T>(session: Session, vgName: string, work: () => Promise<T>): Promise<T> {
  let lock: FileLock;
  try {
    lock = await takeFileLock(vgLockName(vgName), { lockingDir: session.config.lockingDir });
  } catch (error) {
    if (error instanceof VolumeError)
      throw new LvmCommandError(error.code, [error.message, `Can't get lock for ${vgName}.`]);
    throw error;
  }
  try {
    // A shared VG is also locked between hosts: VGLK exclusive, through the daemon (shared-lock.ts).
    const shared = await beginSharedVgChange(session, vgName);
    let result: T;
    try {
      result = await work();
    } catch (error) {
      await shared?.abort();
      throw error;
    }
    await shared?.finish(session);
    return result;
  } finally {
    lock.release();
  }
}

/** creation_host and the footer lines lvm writes, from this host. */
export function writerIdentity(session: Session): WriterIdentity {
  const host = hostname();
  return {
    description: `Write from ${[session.command, ...session.words].join(' ')}.`,
    hostName: host,
    unameText: `${osType()} ${host} ${release()} ${osVersion()} ${machine()}`,
    nowSeconds: Math.floor(Date.now() / 1000),
    tzOffsetMinutes: -new Date().getTimezoneOffset(),
  };
}

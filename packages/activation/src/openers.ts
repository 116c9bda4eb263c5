/**
 * Which processes have a block device open: every /proc/PID/fd/* whose target is a block device of
 * that major:minor. Lease loss kills them before the device goes (issue 13, build 4). A device that
 * is only mounted has no opener here: the backend's deactivate reports it as busy.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const DEFAULT_PROC_ROOT = '/proc';
/** The most openers one search returns; a caller that kills them searches again for the rest. */
export const MAX_OPENERS = 1024;

export interface DeviceNumber {
  major: number;
  minor: number;
}

export interface Opener {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks after boot): with pid, names the process without reuse races. */
  startTime: bigint;
  comm: string;
}

export interface FindOpenersOptions {
  procRoot?: string;
}

/** glibc's major()/minor() of a dev_t. */
export function splitDeviceNumber(dev: bigint): DeviceNumber {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

/** comm and start time from /proc/PID/stat; comm is in parentheses and may itself hold ')' or spaces. */
export function parseProcStat(text: string): { comm: string; startTime: bigint } | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // Fields after the comm start at field 3 (state); field 22 (starttime) is the 20th of them.
  const startTime = text
    .slice(close + 2)
    .split(' ')
    .at(19);
  if (startTime === undefined || !/^[0-9]+$/.test(startTime)) return null;
  return { comm: text.slice(open + 1, close), startTime: BigInt(startTime) };
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    // the process exited, or its fds are not ours to see
    return [];
  }
}

async function holdsDevice(fdDir: string, wanted: ReadonlySet<string>): Promise<boolean> {
  for (const fd of await entries(fdDir)) {
    try {
      const target = await stat(join(fdDir, fd), { bigint: true });
      if (!target.isBlockDevice()) continue;
      const { major, minor } = splitDeviceNumber(target.rdev);
      if (wanted.has(`${major}:${minor}`)) return true;
    } catch {
      // the fd was closed meanwhile
    }
  }
  return false;
}

export async function findOpeners(
  devices: readonly DeviceNumber[],
  options: FindOpenersOptions = {},
): Promise<Opener[]> {
  const procRoot = options.procRoot ?? DEFAULT_PROC_ROOT;
  const wanted = new Set(devices.map((d) => `${d.major}:${d.minor}`));
  const openers: Opener[] = [];
  if (wanted.size === 0) return openers;
  for (const entry of await readdir(procRoot)) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pidDir = join(procRoot, entry);
    if (!(await holdsDevice(join(pidDir, 'fd'), wanted))) continue;
    const parsed = parseProcStat(await readFile(join(pidDir, 'stat'), 'utf8').catch(() => ''));
    if (parsed === null) continue;
    openers.push({ pid: Number(entry), startTime: parsed.startTime, comm: parsed.comm });
    if (openers.length >= MAX_OPENERS) break;
  }
  return openers;
}

/**
 * The local lock: lvm's own flock(2) files, `<locking_dir>/V_<vgname>` per VG and `P_global` for
 * commands that change the set of VGs or PVs, so leasehold and lvm on one host exclude each other.
 *
 * Why flock through the native addon: Node has no flock, lvm uses flock (not fcntl locks), and the
 * two kinds do not see each other. We take it non-blocking and retry asynchronously so a waiting
 * command keeps its event loop (signals, timeouts). Like lvm, after taking the lock we check that the
 * path still names the file we locked (lvm unlinks lock files on release) and retry if not.
 */
import { closeSync, fstatSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { flockNonBlocking, funlock } from '@leasehold/native';
import { VolumeError } from './errors.js';

/** lvm's default global/locking_dir. */
export const DEFAULT_LOCKING_DIR = '/run/lock/lvm';
export const GLOBAL_LOCK_NAME = 'P_global';
/** lvm's write-priority queue file beside each lock file. */
const AUX_SUFFIX = ':aux';
const RETRY_INTERVAL_MS = 50;
/** How long a command waits for another one's lock by default (lvm waits without limit). */
export const DEFAULT_LOCK_WAIT_SECONDS = 300;

export interface LockOptions {
  lockingDir?: string;
  exclusive?: boolean;
  waitSeconds?: number;
}

export interface FileLock {
  readonly path: string;
  release(): void;
}

export function vgLockName(vgName: string): string {
  return `V_${vgName}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Takes lvm's flock on `<lockingDir>/<name>` (V_<vg> or P_global) the way lvm does with its default
 * prioritise_write_locks: through `<name>:aux` first, so a waiting writer is not starved by readers
 * (a writer holds aux until it has the lock; a reader passes through aux before taking its lock).
 */
export async function takeFileLock(name: string, options: LockOptions = {}): Promise<FileLock> {
  const exclusive = options.exclusive ?? true;
  const aux = await takePlainLock(`${name}${AUX_SUFFIX}`, { ...options, exclusive: true });
  if (!exclusive) aux.release();
  try {
    return await takePlainLock(name, options);
  } finally {
    if (exclusive) aux.release();
  }
}

/** One flock file, without the aux queue. */
async function takePlainLock(name: string, options: LockOptions): Promise<FileLock> {
  const dir = options.lockingDir ?? DEFAULT_LOCKING_DIR;
  const exclusive = options.exclusive ?? true;
  const waitMs = (options.waitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS) * 1000;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  const started = Date.now();
  for (;;) {
    const fd = openSync(path, 'a', 0o600);
    let taken = false;
    try {
      taken = flockNonBlocking(fd, exclusive);
      if (taken && sameFile(path, fd)) return makeLock(path, fd, exclusive);
    } catch (error) {
      closeSync(fd);
      throw new VolumeError('IO_ERROR', `Failed to lock ${path}: ${(error as Error).message}`, undefined, {
        cause: error,
      });
    }
    if (taken) funlock(fd);
    closeSync(fd);
    if (Date.now() - started > waitMs)
      throw new VolumeError('LOCK_TIMEOUT', `Timed out waiting for lock ${path} held by another command.`);
    await sleep(RETRY_INTERVAL_MS);
  }
}

function sameFile(path: string, fd: number): boolean {
  try {
    const a = statSync(path);
    const b = fstatSync(fd);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

function makeLock(path: string, fd: number, exclusive: boolean): FileLock {
  let held = true;
  return {
    path,
    release(): void {
      if (!held) return;
      held = false;
      // As lvm: remove the file if nobody else holds it (we can upgrade to EX without waiting).
      try {
        if ((exclusive || flockNonBlocking(fd, true)) && sameFile(path, fd)) unlinkSync(path);
      } catch {
        // leaving the file behind is harmless
      }
      funlock(fd);
      closeSync(fd);
    },
  };
}

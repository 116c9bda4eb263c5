/**
 * lvmlockd's `lock_args` metadata strings for sanlock VGs (lvmlockd-wdmd.md §1.4):
 *   VG: `<major>.<minor>.<patch>:<lock LV name>[:flag...]`, written as `1.0.0:lvmlock`
 *   LV: `<major>.<minor>.<patch>:<byte offset of its lease in lvmlock>`, written as `1.0.0:70254592`
 * A major version other than the one known here is refused: lvmlockd does the same, deliberately, so
 * that a host never uses a layout it does not understand.
 */
import { OnDiskError } from '../errors.js';
import { LOCK_LV_NAME } from './layout.js';

export const LOCK_ARGS_MAJOR = 1;
export const LOCK_ARGS_VERSION_TEXT = '1.0.0';
/** The longest lock_args accepted (lvm's own buffer is 64 bytes, MAX_ARGS). */
export const MAX_LOCK_ARGS_BYTES = 64;

export interface LockArgsVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface VgLockArgs {
  version: LockArgsVersion;
  lockLvName: string;
  /** Anything after a third `:` (flags of later majors; empty for 1.x). */
  flags: string[];
}

export interface LvLockArgs {
  version: LockArgsVersion;
  offsetBytes: number;
}

const VERSION = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/;
const LV_NAME = /^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}$/;
const OFFSET = /^\d{1,16}$/;

function invalid(args: string, what: string, expected: string): OnDiskError {
  return new OnDiskError('LOCK_ARGS_INVALID', `bad ${what} lock_args ${JSON.stringify(args)}: expected ${expected}`, {
    found: args,
    expected,
  });
}

function parseVersion(args: string, text: string, what: string, expected: string): LockArgsVersion {
  const match = VERSION.exec(text);
  if (match === null) throw invalid(args, what, expected);
  const version = { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
  if (version.major !== LOCK_ARGS_MAJOR) {
    throw new OnDiskError(
      'LOCK_ARGS_VERSION',
      `${what} lock_args ${JSON.stringify(args)} has major version ${version.major}; this leasehold knows only ${LOCK_ARGS_MAJOR}.x (written by a newer lvm?)`,
      { found: text, expected: `${LOCK_ARGS_MAJOR}.x.y` },
    );
  }
  return version;
}

function checkLength(args: string, what: string, expected: string): void {
  // lock_args are ASCII when valid; a longer string of any kind is refused before parsing.
  if (typeof args !== 'string' || args.length > MAX_LOCK_ARGS_BYTES) throw invalid(String(args), what, expected);
}

export function parseVgLockArgs(args: string): VgLockArgs {
  const expected = `"<major>.<minor>.<patch>:<lock LV name>", e.g. "${formatVgLockArgs()}"`;
  checkLength(args, 'VG', expected);
  const [versionText, lockLvName, ...flags] = args.split(':');
  if (versionText === undefined || lockLvName === undefined || !LV_NAME.test(lockLvName))
    throw invalid(args, 'VG', expected);
  return { version: parseVersion(args, versionText, 'VG', expected), lockLvName, flags };
}

export function parseLvLockArgs(args: string): LvLockArgs {
  const expected = `"<major>.<minor>.<patch>:<byte offset>", e.g. "${formatLvLockArgs(70254592)}"`;
  checkLength(args, 'LV', expected);
  const parts = args.split(':');
  const [versionText, offsetText] = parts;
  if (parts.length !== 2 || versionText === undefined || offsetText === undefined || !OFFSET.test(offsetText))
    throw invalid(args, 'LV', expected);
  const offsetBytes = Number(offsetText);
  if (!Number.isSafeInteger(offsetBytes)) throw invalid(args, 'LV', expected);
  return { version: parseVersion(args, versionText, 'LV', expected), offsetBytes };
}

export function formatVgLockArgs(lockLvName: string = LOCK_LV_NAME): string {
  return `${LOCK_ARGS_VERSION_TEXT}:${lockLvName}`;
}

export function formatLvLockArgs(offsetBytes: number): string {
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) {
    throw new OnDiskError(
      'LOCK_ARGS_INVALID',
      `bad LV lease offset ${String(offsetBytes)}: expected a non-negative integer`,
      {
        found: String(offsetBytes),
        expected: 'a non-negative integer',
      },
    );
  }
  return `${LOCK_ARGS_VERSION_TEXT}:${offsetBytes}`;
}

/** VG and LV name rules of lvm 2.03 (lib/misc/lvm-string.c, lib/metadata/metadata.c). */
import { MAX_NAME_LENGTH } from './constants.js';
import { LvmFormatError } from './errors.js';

const NAME_CHARS = /^[A-Za-z0-9+_.-]+$/;
/** LV names lvm reserves by prefix. */
export const RESERVED_LV_PREFIXES = ['pvmove', 'snapshot'] as const;
/** Component suffixes lvm reserves inside LV names. */
export const RESERVED_LV_SUBSTRINGS = [
  '_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_imeta', '_iorig', '_mimage', '_mlog', '_pmspare', '_rimage', '_rmeta',
  '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig',
] as const;

/** Why `name` is not a valid VG/LV name in general (characters, length, '-' start, '.' and '..'), or undefined. */
function basicNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'Name is zero length.';
  if (name.length > MAX_NAME_LENGTH) return `Name length (${name.length}) must be less than ${MAX_NAME_LENGTH + 1} characters.`;
  if (name[0] === '-') return 'Name cannot start with "-".';
  if (name === '.' || name === '..') return `Name "${name}" is reserved.`;
  if (!NAME_CHARS.test(name)) return 'Name contains invalid character, valid set includes: [a-zA-Z0-9.-_+].';
  return undefined;
}

/**
 * Why `name` is not a valid VG name, or undefined. lvm also refuses a VG name that already exists in
 * /dev ("/dev/mapper: already exists in filesystem"); that is a check of the host, left to the commands.
 */
export function vgNameProblem(name: string): string | undefined {
  return basicNameProblem(name);
}

export function lvNameProblem(name: string): string | undefined {
  const basic = basicNameProblem(name);
  if (basic !== undefined) return basic;
  for (const prefix of RESERVED_LV_PREFIXES) {
    if (name.startsWith(prefix)) return `Names starting "${prefix}" are reserved. Please choose a different LV name.`;
  }
  for (const part of RESERVED_LV_SUBSTRINGS) {
    if (name.includes(part)) return `Names including "${part}" are reserved. Please choose a different LV name.`;
  }
  return undefined;
}

export function isValidVgName(name: string): boolean {
  return vgNameProblem(name) === undefined;
}

export function isValidLvName(name: string): boolean {
  return lvNameProblem(name) === undefined;
}

/** Throws BAD_NAME with lvm's wording: 'Invalid volume group name X.' plus the reason. */
export function assertVgName(name: string): void {
  const problem = vgNameProblem(name);
  if (problem !== undefined) throw new LvmFormatError('BAD_NAME', `Invalid volume group name ${name}: ${problem}`);
}

export function assertLvName(name: string): void {
  const problem = lvNameProblem(name);
  if (problem !== undefined) throw new LvmFormatError('BAD_NAME', `Invalid logical volume name ${name}: ${problem}`);
}

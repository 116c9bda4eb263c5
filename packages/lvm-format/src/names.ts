/** VG and LV name rules of lvm 2.03 (lib/misc/lvm-string.c, lib/metadata/metadata.c). */
import { MAX_NAME_LENGTH } from './constants.js';
import { LvmFormatError } from './errors.js';

const NAME_CHARS = /^[A-Za-z0-9+_.-]+$/;
/** LV names lvm reserves by prefix. */
export const RESERVED_LV_PREFIXES = ['pvmove', 'snapshot'] as const;
/** Component suffixes lvm reserves inside LV names. */
export const RESERVED_LV_SUBSTRINGS = [
  '_cdata',
  '_cmeta',
  '_corig',
  '_cpool',
  '_cvol',
  '_imeta',
  '_iorig',
  '_mimage',
  '_mlog',
  '_pmspare',
  '_rimage',
  '_rmeta',
  '_tdata',
  '_tmeta',
  '_vdata',
  '_vorigin',
  '_wcorig',
] as const;

/** Why `name` is not a valid VG/LV name in general (characters, length, '-' start, '.' and '..'), or undefined. */
function basicNameProblem(name: string): string | undefined {
  // lvm 2.03.16's wording (lib/misc/lvm-string.c)
  if (name.length === 0) return 'Name is zero length.';
  if (name.length > MAX_NAME_LENGTH) return `Name length exceeds maximum limit of ${MAX_NAME_LENGTH}.`;
  if (name[0] === '-') return 'Name cannot start with hyphen.';
  if (name === '.' || name === '..') return 'Name starts with . or .. and has no following character(s).';
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

/** Throws BAD_NAME with lvm's words: the reason, then 'New volume group name "X" is invalid.' */
export function assertVgName(name: string): void {
  const problem = vgNameProblem(name);
  if (problem !== undefined)
    throw new LvmFormatError('BAD_NAME', `${problem} New volume group name "${name}" is invalid.`);
}

/** Throws BAD_NAME: lvm's reserved-name sentence, or 'Logical volume name "X" is invalid.' */
export function assertLvName(name: string): void {
  const problem = lvNameProblem(name);
  if (problem === undefined) return;
  throw new LvmFormatError(
    'BAD_NAME',
    problem.startsWith('Names ') ? problem : `Logical volume name "${name}" is invalid.`,
  );
}

/**
 * Sizes as lvm reads and prints them.
 *
 * Printing follows libdm's dm_size_to_string as lvm 2.03.16 shows it (checked against the real lvs):
 * lower-case units are powers of 1024, upper-case powers of 1000 (b/B and s/S are bytes and
 * sectors); two decimals except for bytes and sectors; a zero prints as "0" plus the suffix ("0" alone
 * in human units); the human units (`h`, and `r`, lvm's default) pick the largest unit the size
 * reaches (a zero prints as "0 "), and `r` prefixes "<" when printing rounded the value up. The decimal rounding is C's
 * printf("%.2f") of a double, that is round-half-even on the double's exact value.
 */
import { SECTOR_SIZE_BYTES } from '@leasehold/lvm-format';
import { LvmUsageError } from './lvm-error.js';

/** The unit letters `--units` accepts. */
export const UNIT_LETTERS = 'hHrRbBsSkKmMgGtTpPeE';

/** Exponent of each unit (bytes = base^exponent); sectors are special. */
const UNIT_EXPONENTS: Record<string, number> = { b: 0, k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };
/** Human units, largest first, with their exponent. */
const HUMAN_ORDER = ['e', 'p', 't', 'g', 'm', 'k', 'b'] as const;

export interface UnitSettings {
  /** One of UNIT_LETTERS. */
  unit: string;
  /** Print the unit letter after the number (off with --nosuffix). */
  suffix: boolean;
}

export const DEFAULT_UNITS: UnitSettings = { unit: 'r', suffix: true };

export function parseUnitsOption(text: string): string {
  if (text.length === 1 && UNIT_LETTERS.includes(text)) return text;
  throw new LvmUsageError([`Invalid units specification "${text}".`]);
}

/** printf("%.Nf", value) for N = 0 or 2: round half to even on the double's exact value. */
export function fixedC(value: number, decimals: 0 | 2): string {
  // toFixed rounds the exact value too, but takes the larger neighbour on an exact tie. A tie needs
  // value*10^N = k + 1/2 exactly: for N=2 only when value*8 is an odd integer (value = j/8), for N=0
  // when value*2 is odd. Both products are exact in binary.
  const text = value.toFixed(decimals);
  const tieProbe = decimals === 2 ? value * 8 : value * 2;
  if (!Number.isInteger(tieProbe) || tieProbe % 2 !== 1) return text;
  const lastDigit = Number(text[text.length - 1]);
  return lastDigit % 2 === 0 ? text : decrementLastDigit(text);
}

/** "1.13" -> "1.12", "10.00" -> "9.99": one unit less in the last decimal place (positive values). */
function decrementLastDigit(text: string): string {
  const chars = text.split('');
  for (let i = chars.length - 1; i >= 0; i--) {
    if (chars[i] === '.') continue;
    if (chars[i] !== '0') {
      chars[i] = String(Number(chars[i]) - 1);
      break;
    }
    chars[i] = '9';
  }
  const out = chars.join('');
  return out.length > 1 && out[0] === '0' && out[1] !== '.' ? out.slice(1) : out;
}

/** A size in bytes, printed as lvm prints SIZ fields. */
export function formatSizeBytes(sizeBytes: number, settings: UnitSettings): string {
  const unit = settings.unit;
  const lower = unit.toLowerCase();
  const base = unit === lower || lower === 'b' || lower === 's' ? 1024 : 1000;
  const human = lower === 'h' || lower === 'r';
  if (sizeBytes === 0) {
    // libdm prints a zero in human units with a blank unit: "0 " (or "0" without suffixes)
    if (human) return settings.suffix ? '0 ' : '0';
    return settings.suffix ? `0${suffixLetter(unit)}` : '0';
  }
  let letter: string;
  let divisor: number;
  if (human) {
    const humanBase = unit === 'H' || unit === 'R' ? 1000 : 1024;
    letter = 'b';
    divisor = 1;
    for (const candidate of HUMAN_ORDER) {
      const size = humanBase ** (UNIT_EXPONENTS[candidate] ?? 0);
      if (sizeBytes >= size) {
        letter = unit === 'H' || unit === 'R' ? candidate.toUpperCase() : candidate;
        divisor = size;
        break;
      }
    }
  } else if (lower === 's') {
    letter = 'S';
    divisor = SECTOR_SIZE_BYTES;
  } else {
    letter = unit;
    divisor = base ** (UNIT_EXPONENTS[lower] ?? 0);
  }
  const precise = letter.toLowerCase() === 'b' || letter === 'S' ? 0 : 2;
  const value = sizeBytes / divisor;
  const text = fixedC(value, precise);
  const roundedUp = lower === 'r' && Number(text) > value;
  const shownLetter = letter.toLowerCase() === 'b' ? 'B' : letter;
  return `${roundedUp ? '<' : ''}${text}${settings.suffix ? shownLetter : ''}`;
}

function suffixLetter(unit: string): string {
  const lower = unit.toLowerCase();
  if (lower === 'b') return 'B';
  if (lower === 's') return 'S';
  return unit;
}

// ---- sizes on the command line ----

/** How a size argument changes the current size: absolute, grow by, shrink by. */
export type SizeSign = '' | '+' | '-';

export interface SizeArgument {
  sign: SizeSign;
  /** The size in sectors (lvm's unit for -L). */
  sizeSectors: number;
}

const SIZE_SUFFIX_BYTES: Record<string, number> = {
  '': 1024 ** 2, // -L without a unit means MiB
  b: 1,
  s: SECTOR_SIZE_BYTES,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
  e: 1024 ** 6,
  B: 1,
  S: SECTOR_SIZE_BYTES,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
  E: 1024 ** 6,
};

/**
 * Parses -L/--size and similar: `[+|-]NUMBER[.FRACTION][UNIT]`, default unit MiB (`defaultUnit`), as lvm does
 * (lvm treats upper-case units as binary here too, as its man pages say). Rounded up to whole sectors.
 */
export function parseSizeArgument(text: string, option: string, allowSign: boolean, defaultUnit = 'm'): SizeArgument {
  const match = /^([+-]?)(\d+(?:\.\d+)?)([bBsSkKmMgGtTpPeE]?)$/.exec(text);
  if (!match)
    throw new LvmUsageError([`Invalid argument for ${option}: ${text}`, 'Error during parsing of command line.']);
  const sign = (match[1] ?? '') as SizeSign;
  if (sign !== '' && !allowSign)
    throw new LvmUsageError([`Invalid argument for ${option}: ${text}`, 'Error during parsing of command line.']);
  const unit = match[3] === '' || match[3] === undefined ? defaultUnit : match[3];
  const factor = SIZE_SUFFIX_BYTES[unit] ?? 1024 ** 2;
  const bytes = Number(match[2]) * factor;
  if (!Number.isFinite(bytes) || bytes > Number.MAX_SAFE_INTEGER) throw new LvmUsageError([`Size is too big: ${text}`]);
  return { sign, sizeSectors: Math.ceil(bytes / SECTOR_SIZE_BYTES) };
}

/** What `-l` counts: plain extents or a percentage of something. */
export type ExtentsBasis = 'extents' | 'VG' | 'FREE' | 'PVS' | 'ORIGIN';

export interface ExtentsArgument {
  sign: SizeSign;
  count: number;
  basis: ExtentsBasis;
}

/** Parses -l/--extents: `[+|-]N` or `[+|-]N%{VG|FREE|PVS|ORIGIN}`. */
export function parseExtentsArgument(text: string, option: string, allowSign: boolean): ExtentsArgument {
  const match = /^([+-]?)(\d+)(?:%(VG|FREE|PVS|ORIGIN|LV))?$/.exec(text);
  const invalid = new LvmUsageError([
    `Invalid argument for ${option}: ${text}`,
    'Error during parsing of command line.',
  ]);
  if (!match) throw invalid;
  const sign = (match[1] ?? '') as SizeSign;
  if (sign !== '' && !allowSign) throw invalid;
  const count = Number(match[2]);
  if (!Number.isSafeInteger(count)) throw invalid;
  const basisText = match[3];
  if (basisText === 'LV') throw new LvmUsageError([`${option} %LV is not supported by leasehold.`]);
  const basis: ExtentsBasis = basisText === undefined ? 'extents' : (basisText as ExtentsBasis);
  if (basis !== 'extents' && count > 100 && basis !== 'ORIGIN')
    throw new LvmUsageError([`Percentage ${count} too large (at most 100).`]);
  return { sign, count, basis };
}

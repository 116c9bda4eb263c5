/**
 * The pure parts of the lvm commands: lvm's size printing (checked here against an exact decimal
 * rounding of the double, and against values the real lvs printed), size arguments, and lvm's getopt
 * rules.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLvmArgs, type OptionSpec } from '../src/commands/lvm/getopt.js';
import { LvmUsageError } from '../src/commands/lvm/lvm-error.js';
import { fixedC, formatSizeBytes, parseExtentsArgument, parseSizeArgument } from '../src/commands/lvm/units.js';

const MIB = 1024 * 1024;

/** printf("%.Nf") by the book: the double's exact binary value, rounded half to even, with BigInt. */
function exactFixed(value: number, decimals: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = exponent === 0 ? fraction : fraction | (1n << 52n);
  const shift = (exponent === 0 ? 1 : exponent) - 1075; // value = mantissa * 2^shift
  let num = mantissa * 10n ** BigInt(decimals);
  let den = 1n;
  if (shift >= 0) num <<= BigInt(shift);
  else den <<= BigInt(-shift);
  let q = num / den;
  const twice = 2n * (num % den);
  if (twice > den || (twice === den && q % 2n === 1n)) q += 1n;
  const text = q.toString().padStart(decimals + 1, '0');
  return decimals === 0 ? text : `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

describe('lvm size printing', () => {
  it('fixedC rounds like printf: the exact value of the double, half to even', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 50 }),
        fc.constantFrom(1, 512, 1000, 1024, 1000 ** 2, 1024 ** 2, 1000 ** 3, 1024 ** 3, 1024 ** 4),
        (bytes, unit) => {
          const value = bytes / unit;
          expect(fixedC(value, 2)).toBe(exactFixed(value, 2));
          expect(fixedC(value, 0)).toBe(exactFixed(value, 0));
        },
      ),
      { numRuns: 2000 },
    );
    // exact ties, where toFixed and printf differ
    for (const [value, text] of [
      [1.125, '1.12'],
      [1.375, '1.38'],
      [1.625, '1.62'],
      [1.875, '1.88'],
      [0.5, '0.50'],
      [2.5, '2.50'],
    ] as const) {
      expect(fixedC(value, 2)).toBe(text);
    }
    expect(fixedC(2.5, 0)).toBe('2');
    expect(fixedC(3.5, 0)).toBe('4');
  });

  it('prints what the real lvs printed for these sizes', () => {
    const r = { unit: 'r', suffix: true };
    // LV sizes in MiB and lvs' LSize column (1 MiB extents), observed with lvm 2.03.16
    const seen: Array<[number, string]> = [
      [1, '1.00m'],
      [1023, '1023.00m'],
      [1024, '1.00g'],
      [1025, '1.00g'],
      [1030, '<1.01g'],
      [1100, '1.07g'],
      [1152, '1.12g'],
      [1160, '1.13g'],
      [1408, '<1.38g'],
      [1535, '<1.50g'],
      [1536, '1.50g'],
      [1664, '1.62g'],
      [1920, '<1.88g'],
      [2043, '<2.00g'],
      [10229, '<9.99g'],
      [10230, '9.99g'],
      [10235, '<10.00g'],
      [102395, '<100.00g'],
    ];
    for (const [mib, text] of seen) expect(formatSizeBytes(mib * MIB, r), `${mib} MiB`).toBe(text);
    expect(formatSizeBytes(0, r)).toBe('0 ');
    expect(formatSizeBytes(0, { unit: 'r', suffix: false })).toBe('0');
    expect(formatSizeBytes(0, { unit: 'b', suffix: true })).toBe('0B');
    expect(formatSizeBytes(0, { unit: 'k', suffix: true })).toBe('0k');
    expect(formatSizeBytes(1069547520, { unit: 'b', suffix: true })).toBe('1069547520B');
    expect(formatSizeBytes(1069547520, { unit: 's', suffix: true })).toBe('2088960S');
    expect(formatSizeBytes(1069547520, { unit: 'K', suffix: true })).toBe('1069547.52K');
    expect(formatSizeBytes(1048576, { unit: 'R', suffix: true })).toBe('<1.05M');
    expect(formatSizeBytes(1073741824, { unit: 'H', suffix: true })).toBe('1.07G');
    expect(formatSizeBytes(519680, r)).toBe('507.50k');
    expect(formatSizeBytes(1152 * MIB, { unit: 'G', suffix: true })).toBe('1.21G');
    expect(formatSizeBytes(1408 * MIB, { unit: 'g', suffix: true })).toBe('1.38g');
  });
});

describe('size and extent arguments', () => {
  it('-L: default MiB, units, signs, rounded up to sectors', () => {
    expect(parseSizeArgument('10', '-L', false)).toEqual({ sign: '', sizeSectors: 20480 });
    expect(parseSizeArgument('+1.5G', '-L', true)).toEqual({ sign: '+', sizeSectors: 3 * 1024 * 1024 });
    expect(parseSizeArgument('-100k', '-L', true)).toEqual({ sign: '-', sizeSectors: 200 });
    expect(parseSizeArgument('1000b', '-L', false)).toEqual({ sign: '', sizeSectors: 2 });
    expect(() => parseSizeArgument('+10M', '-L', false)).toThrow(LvmUsageError);
    expect(() => parseSizeArgument('ten', '-L', false)).toThrow(LvmUsageError);
  });

  it('-l: extents or percentages', () => {
    expect(parseExtentsArgument('50%FREE', '-l', false)).toEqual({ sign: '', count: 50, basis: 'FREE' });
    expect(parseExtentsArgument('+10', '-l', true)).toEqual({ sign: '+', count: 10, basis: 'extents' });
    expect(parseExtentsArgument('100%PVS', '-l', false)).toEqual({ sign: '', count: 100, basis: 'PVS' });
    expect(() => parseExtentsArgument('101%VG', '-l', false)).toThrow(LvmUsageError);
    expect(() => parseExtentsArgument('10%XX', '-l', false)).toThrow(LvmUsageError);
  });
});

describe("lvm's getopt rules", () => {
  const specs: OptionSpec[] = [
    { long: 'activate', short: 'a', value: true },
    { long: 'zero', short: 'Z', value: true },
    { long: 'size', short: 'L', value: true },
    { long: 'extents', short: 'l', value: true },
    { long: 'options', short: 'o', value: true },
    { long: 'force', short: 'f', value: false },
    { long: 'yes', short: 'y', value: false },
    { long: 'noheadings', value: false },
  ];

  it('a short option with a value takes the rest of its word, or the next word even if it starts with -', () => {
    const args = parseLvmArgs(
      'lvcreate',
      ['-an', '-Zn', '-L+10M', '-o+lv_uuid', '-l', '-3', 'vg/lv', '-ffy', '--size=5', '--extents', '7', '--', '-x'],
      specs,
    );
    expect(args.values.get('activate')).toEqual(['n']);
    expect(args.values.get('zero')).toEqual(['n']);
    expect(args.values.get('size')).toEqual(['+10M', '5']);
    expect(args.values.get('options')).toEqual(['+lv_uuid']);
    expect(args.values.get('extents')).toEqual(['-3', '7']);
    expect(args.counts.get('force')).toBe(2);
    expect(args.counts.get('yes')).toBe(1);
    expect(args.positionals).toEqual(['vg/lv', '-x']);
  });

  it('errors read as glibc getopt prints them, and are command-line errors (exit 3)', () => {
    const message = (words: string[]): string[] => {
      try {
        parseLvmArgs('lvs', words, specs);
      } catch (error) {
        expect(error).toBeInstanceOf(LvmUsageError);
        expect((error as LvmUsageError).exitStatus).toBe(3);
        return (error as LvmUsageError).lines;
      }
      throw new Error('no error');
    };
    expect(message(['--bogus'])).toEqual([
      "lvs: unrecognized option '--bogus'",
      'Error during parsing of command line.',
    ]);
    expect(message(['-q'])).toEqual(["lvs: invalid option -- 'q'", 'Error during parsing of command line.']);
    expect(message(['-L'])).toEqual([
      "lvs: option requires an argument -- 'L'",
      'Error during parsing of command line.',
    ]);
    expect(message(['--noheadings=1'])).toEqual([
      "lvs: option '--noheadings' doesn't allow an argument",
      'Error during parsing of command line.',
    ]);
  });
});

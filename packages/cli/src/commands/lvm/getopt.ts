/**
 * Command-line parsing with lvm's (getopt_long) rules, so `lvs`, `lvcreate` ... accept what the real
 * ones accept: short options cluster (`-qq`), a short option that takes a value takes the rest of its
 * word (`-an`, `-L+10M`, `-o+lv_uuid`, `-l50%FREE`) or the next word; long options take `=VALUE` or
 * the next word; options and positionals mix; `--` ends the options. yargs cannot be told these rules
 * per option, so the lvm commands parse their own words.
 */
import { LvmUsageError } from './lvm-error.js';

export interface OptionSpec {
  /** The long name without dashes; results are keyed by it. */
  long: string;
  short?: string;
  /** Takes a value. */
  value: boolean;
  /** Other long spellings lvm accepts. */
  aliases?: string[];
}

export interface ParsedArgs {
  /** Every value given for each option that takes one, in order. */
  values: Map<string, string[]>;
  /** How often each flag was given (`-ff` counts 2). */
  counts: Map<string, number>;
  positionals: string[];
}

/** A bound on the words one command line may have (lvm has none; this guards the report paths). */
export const MAX_ARGUMENT_WORDS = 100_000;

export function parseLvmArgs(command: string, words: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  if (words.length > MAX_ARGUMENT_WORDS) throw new LvmUsageError([`Too many arguments (${words.length}).`]);
  const byLong = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  for (const spec of specs) {
    byLong.set(spec.long, spec);
    for (const alias of spec.aliases ?? []) byLong.set(alias, spec);
    if (spec.short !== undefined) byShort.set(spec.short, spec);
  }
  const values = new Map<string, string[]>();
  const counts = new Map<string, number>();
  const positionals: string[] = [];
  const record = (spec: OptionSpec, value: string | undefined): void => {
    counts.set(spec.long, (counts.get(spec.long) ?? 0) + 1);
    if (value !== undefined) {
      const list = values.get(spec.long) ?? [];
      list.push(value);
      values.set(spec.long, list);
    }
  };
  const bad = (line: string): LvmUsageError => new LvmUsageError([line, 'Error during parsing of command line.'], true);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === '--') {
      positionals.push(...words.slice(i + 1));
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = (eq < 0 ? word.slice(2) : word.slice(2, eq)).replaceAll('_', '');
      const spec = byLong.get(name) ?? byLong.get(word.slice(2, eq < 0 ? undefined : eq));
      if (spec === undefined) throw bad(`${command}: unrecognized option '${eq < 0 ? word : word.slice(0, eq)}'`);
      if (!spec.value) {
        if (eq >= 0) throw bad(`${command}: option '--${spec.long}' doesn't allow an argument`);
        record(spec, undefined);
        continue;
      }
      if (eq >= 0) {
        record(spec, word.slice(eq + 1));
      } else {
        const next = words[i + 1];
        if (next === undefined) throw bad(`${command}: option '--${spec.long}' requires an argument`);
        record(spec, next);
        i++;
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      for (let j = 1; j < word.length; j++) {
        const letter = word[j] as string;
        const spec = byShort.get(letter);
        if (spec === undefined) throw bad(`${command}: invalid option -- '${letter}'`);
        if (!spec.value) {
          record(spec, undefined);
          continue;
        }
        const rest = word.slice(j + 1);
        if (rest !== '') {
          record(spec, rest);
        } else {
          const next = words[i + 1];
          if (next === undefined) throw bad(`${command}: option requires an argument -- '${letter}'`);
          record(spec, next);
          i++;
        }
        break;
      }
      continue;
    }
    positionals.push(word);
  }
  return { values, counts, positionals };
}

/** The last value of an option (lvm: a repeated single-valued option keeps the last). */
export function lastValue(args: ParsedArgs, long: string): string | undefined {
  const list = args.values.get(long);
  return list === undefined ? undefined : list[list.length - 1];
}

export function flagCount(args: ParsedArgs, long: string): number {
  return args.counts.get(long) ?? 0;
}

export function hasOption(args: ParsedArgs, long: string): boolean {
  return (args.counts.get(long) ?? 0) > 0;
}

/** Options every lvm-named command accepts. */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { long: 'devices', value: true },
  { long: 'devicesfile', value: true },
  { long: 'config', value: true },
  { long: 'commandprofile', value: true },
  { long: 'driverloaded', value: true },
  { long: 'verbose', short: 'v', value: false },
  { long: 'quiet', short: 'q', value: false },
  { long: 'debug', short: 'd', value: false },
  { long: 'yes', short: 'y', value: false },
  { long: 'help', short: 'h', value: false },
  { long: 'test', short: 't', value: false },
  { long: 'nolocking', value: false },
  { long: 'lockopt', value: true },
];

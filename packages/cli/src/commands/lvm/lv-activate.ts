/**
 * `leasehold activate -aey|-asy|-an VG/LV...` and its lvm names: `lvchange -a... VG/LV...`,
 * `lvchange --refresh VG/LV...`, `vgchange -a... VG...` (every visible LV of the VG). lvm's exit
 * statuses: 0, 3 for a bad command line, 5 when any LV failed (the others are still done).
 */
import { COMMON_OPTIONS, hasOption, lastValue, parseLvmArgs, type OptionSpec } from './getopt.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmLines } from './output.js';
import { lvmCommand } from './run.js';
import { openSession, scanSession, type Session } from './session.js';
import { changeActivation, parseActivationValue, refreshLv, splitTarget, withVgShared } from './activation.js';

const LVCHANGE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'activate', short: 'a', value: true },
  { long: 'refresh', value: false },
  { long: 'ignoreactivationskip', short: 'K', value: false },
  { long: 'partial', short: 'P', value: false },
];

function failed(count: number): LvmCommandError | undefined {
  return count === 0 ? undefined : new LvmCommandError('ACTIVATION_FAILED', [], undefined);
}

async function refreshTargets(session: Session, targets: readonly string[]): Promise<number> {
  const result = await scanSession(session);
  let failures = 0;
  for (const target of targets) {
    const { vgName, lvName } = splitTarget(target);
    if (lvName === undefined) {
      printLvmLines([`Please give VG/LV to refresh (got ${target}).`]);
      failures++;
      continue;
    }
    try {
      await withVgShared(session, result, vgName, (client, read) => refreshLv(client, read, lvName));
    } catch (error) {
      if (!(error instanceof LvmCommandError)) throw error;
      printLvmLines(error.lines);
      failures++;
    }
  }
  return failures;
}

/** lvchange and `leasehold activate`: -a CHANGE VG/LV..., or --refresh VG/LV... */
export async function runLvchange(command: string, words: string[]): Promise<void> {
  const args = parseLvmArgs(command, words, LVCHANGE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(
      `  ${command} -a|--activate ey|sy|y|ly|n VG/LV ... | ${command} --refresh VG/LV ... [--devices PV,...]\n`,
    );
    return;
  }
  const activate = lastValue(args, 'activate');
  const refresh = hasOption(args, 'refresh');
  if (args.positionals.length === 0)
    throw new LvmUsageError([`Please give logical volume path(s).`, `Run \`${command} --help' for more information.`]);
  if (activate === undefined && !refresh)
    throw new LvmUsageError([
      `${command}: leasehold supports -a|--activate and --refresh only.`,
      `Run \`${command} --help' for more information.`,
    ]);
  if (activate !== undefined && refresh) throw new LvmUsageError([`Only one of --activate and --refresh at a time.`]);
  const session = openSession(command, words, args);
  if (refresh) {
    const error = failed(await refreshTargets(session, args.positionals));
    if (error !== undefined) throw error;
    return;
  }
  const change = parseActivationValue(activate as string, command);
  for (const target of args.positionals) {
    if (splitTarget(target).lvName === undefined && command !== 'vgchange')
      throw new LvmUsageError([`"${target}": Invalid path for Logical Volume.`]);
  }
  const error = failed(await changeActivation(session, args.positionals, change));
  if (error !== undefined) throw error;
}

/** vgchange -a CHANGE VG...: every visible LV of each VG, lvm's "now active" line per VG. */
export async function runVgActivation(words: string[], activate: string, vgNames: readonly string[]): Promise<void> {
  const args = parseLvmArgs('vgchange', words, [
    ...COMMON_OPTIONS,
    { long: 'activate', short: 'a', value: true },
    { long: 'select', short: 'S', value: true },
  ]);
  if (vgNames.length === 0) throw new LvmUsageError(['Please give volume group name(s) to vgchange -a.']);
  const change = parseActivationValue(activate, 'vgchange');
  const session = openSession('vgchange', words, args);
  const targets = vgNames.map((name) => splitTarget(name).vgName);
  const error = failed(await changeActivation(session, targets, change, { wholeVgReport: true }));
  if (error !== undefined) throw error;
}

export const lvchangeCommand = lvmCommand((words) => runLvchange('lvchange', words));
export const activateCommand = lvmCommand((words) => runLvchange('activate', words));

/**
 * vgchange as far as leasehold has it (--lock-start / --lock-stop of shared VGs; -a activates or
 * deactivates every LV of the VGs, lv-activate.ts), and lvmlockctl's --gl-enable / --gl-disable as
 * `leasehold gl-enable VG` / `gl-disable VG`.
 */
import { COMMON_OPTIONS, hasOption, lastValue, parseLvmArgs, type OptionSpec } from './getopt.js';
import { LvmCommandError, LvmUsageError } from './lvm-error.js';
import { printLvmOut } from './output.js';
import { runVgActivation } from './lv-activate.js';
import { lvmCommand } from './run.js';
import { findVgOrFail, openSession, scanSession, withVgLock } from './session.js';
import { globalLockState, lockLvLocation, setGlobalLock } from './shared-layout.js';
import { lockstartVgs, lockstopVgs } from './shared-start.js';
import { globalLockVgs } from './shared-vg.js';

const VGCHANGE_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS,
  { long: 'lock-start', value: false },
  { long: 'lockstart', value: false },
  { long: 'lock-stop', value: false },
  { long: 'lockstop', value: false },
  { long: 'lock-opt', value: true },
  { long: 'lockopt', value: true },
  { long: 'activate', short: 'a', value: true },
  { long: 'select', short: 'S', value: true },
];

export async function runVgchange(words: string[]): Promise<void> {
  const args = parseLvmArgs('vgchange', words, VGCHANGE_OPTIONS);
  if (hasOption(args, 'help')) {
    process.stdout.write(
      '  vgchange --lock-start [VG ...] [--lock-opt nowait] | vgchange --lock-stop [VG ...] | vgchange -a ey|sy|y|n VG ... [--devices PV,...]\n',
    );
    return;
  }
  const start = hasOption(args, 'lock-start') || hasOption(args, 'lockstart');
  const stop = hasOption(args, 'lock-stop') || hasOption(args, 'lockstop');
  const activate = lastValue(args, 'activate');
  const session = openSession('vgchange', words, args);
  const lockOpt = lastValue(args, 'lock-opt') ?? lastValue(args, 'lockopt') ?? '';
  if (start && !stop) {
    await lockstartVgs(session, args.positionals, { wait: !lockOpt.includes('nowait') });
    return;
  }
  if (stop && !start) {
    await lockstopVgs(session, args.positionals, true);
    return;
  }
  if (activate !== undefined && !start && !stop) {
    await runVgActivation(words, activate, args.positionals);
    return;
  }
  throw new LvmUsageError(['leasehold vgchange supports --lock-start, --lock-stop and -a only.']);
}

async function setGl(words: string[], state: 'enabled' | 'disabled'): Promise<void> {
  const command = state === 'enabled' ? 'gl-enable' : 'gl-disable';
  const args = parseLvmArgs(command, words, COMMON_OPTIONS);
  const [name, extra] = args.positionals;
  if (name === undefined || extra !== undefined) throw new LvmUsageError([`Usage: leasehold ${command} VG`]);
  const session = openSession(command, words, args);
  await withVgLock(session, name, async () => {
    const result = await scanSession(session);
    const location = lockLvLocation(findVgOrFail(result, name));
    if (state === 'enabled') {
      const others = (await globalLockVgs(result)).filter((l) => l.vgName !== name);
      if (others.length > 0 && !hasOption(args, 'yes')) {
        throw new LvmCommandError('GLOBAL_LOCK', [
          `The global lock is already enabled in VG ${others.map((o) => o.vgName).join(', ')}; disable it there first (leasehold gl-disable VG), or give -y to have two.`,
        ]);
      }
    }
    if ((await globalLockState(location)) === state) {
      printLvmOut([`The global lock in VG ${name} is already ${state}.`]);
      return;
    }
    await setGlobalLock(location, state);
    printLvmOut([`Global lock ${state} in VG ${name}.`]);
  });
}

export const vgchangeCommand = lvmCommand(runVgchange);
export const glEnableCommand = lvmCommand((words) => setGl(words, 'enabled'));
export const glDisableCommand = lvmCommand((words) => setGl(words, 'disabled'));

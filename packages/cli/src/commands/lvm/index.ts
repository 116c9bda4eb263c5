/**
 * The lvm-named commands (pvs, vgcreate, lvextend ...) as yargs command modules. yargs only routes
 * to them: each takes its words raw and parses them with lvm's rules (getopt.ts), and its code is
 * loaded only when it runs.
 */
import type { CommandModule } from 'yargs';

type Runner = (words: string[]) => Promise<void>;

interface LvmCommandEntry {
  name: string;
  describe: string;
  load: () => Promise<Runner>;
}

const report = (kind: 'pvs' | 'vgs' | 'lvs'): (() => Promise<Runner>) => async () => {
  const { runReport } = await import('./reports.js');
  return (words) => runReport(kind, words);
};

export const LVM_COMMANDS: readonly LvmCommandEntry[] = [
  { name: 'pvs', describe: 'report physical volumes (as lvm pvs)', load: report('pvs') },
  { name: 'vgs', describe: 'report volume groups (as lvm vgs)', load: report('vgs') },
  { name: 'lvs', describe: 'report logical volumes (as lvm lvs)', load: report('lvs') },
  { name: 'pvcreate', describe: 'initialize a device as an LVM physical volume', load: async () => (await import('./pv-commands.js')).runPvcreate },
  { name: 'pvremove', describe: 'remove the LVM label from physical volumes', load: async () => (await import('./pv-commands.js')).runPvremove },
  { name: 'vgcreate', describe: 'create a volume group', load: async () => (await import('./vg-commands.js')).runVgcreate },
  { name: 'vgremove', describe: 'remove a volume group', load: async () => (await import('./vg-commands.js')).runVgremove },
  { name: 'vgextend', describe: 'add physical volumes to a volume group', load: async () => (await import('./vg-commands.js')).runVgextend },
  { name: 'vgreduce', describe: 'remove physical volumes from a volume group', load: async () => (await import('./vg-commands.js')).runVgreduce },
  { name: 'vgrename', describe: 'rename a volume group', load: async () => (await import('./vg-commands.js')).runVgrename },
  { name: 'vgck', describe: 'check (and with --updatemetadata repair) a volume group', load: async () => (await import('./vg-backup.js')).runVgck },
  { name: 'vgcfgbackup', describe: 'write the metadata of a volume group to a file', load: async () => (await import('./vg-backup.js')).runVgcfgbackup },
  { name: 'vgcfgrestore', describe: 'restore the metadata of a volume group from a file', load: async () => (await import('./vg-backup.js')).runVgcfgrestore },
  { name: 'lvcreate', describe: 'create a logical volume', load: async () => (await import('./lv-commands.js')).runLvcreate },
  { name: 'lvremove', describe: 'remove logical volumes', load: async () => (await import('./lv-commands.js')).runLvremove },
  { name: 'lvrename', describe: 'rename a logical volume', load: async () => (await import('./lv-commands.js')).runLvrename },
  { name: 'lvextend', describe: 'grow a logical volume', load: async () => (await import('./lv-resize.js')).runLvextend },
  { name: 'lvreduce', describe: 'shrink a logical volume', load: async () => (await import('./lv-resize.js')).runLvreduce },
  { name: 'lvresize', describe: 'grow or shrink a logical volume', load: async () => (await import('./lv-resize.js')).runLvresize },
];

/**
 * A yargs module for `--help` listings and registries; main.ts runs lvm commands before yargs parses
 * anything (yargs would take `-l -3` apart), so the handler is the fallback only.
 */
function toModule(entry: LvmCommandEntry): CommandModule {
  return {
    command: entry.name,
    describe: entry.describe,
    builder: (y) =>
      y
        .parserConfiguration({ 'unknown-options-as-args': true, 'short-option-groups': false, 'parse-numbers': false, 'parse-positional-numbers': false })
        .strict(false)
        .help(false)
        .version(false),
    handler: async (argv) => {
      const words = argv._.slice(1).map(String);
      const [{ runLvmCommand }, run] = await Promise.all([import('./run.js'), entry.load()]);
      await runLvmCommand(() => run(words));
    },
  };
}

export const lvmCommandModules: readonly CommandModule[] = LVM_COMMANDS.map(toModule);

/** Runs an lvm command directly (argv[0] dispatch: `lvs` linked to leasehold). */
export async function runLvmByName(name: string, words: string[]): Promise<boolean> {
  const entry = LVM_COMMANDS.find((e) => e.name === name);
  if (entry === undefined) return false;
  const [{ runLvmCommand }, run] = await Promise.all([import('./run.js'), entry.load()]);
  await runLvmCommand(() => run(words));
  return true;
}

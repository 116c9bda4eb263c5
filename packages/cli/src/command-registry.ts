/**
 * Every `leasehold` command, declared by name, aliases and summary, and loaded only when invoked.
 * This table is data only: the launcher reads it to pick a command (and its bundle) before anything
 * else is loaded, top-level `--help` lists it through cheap stubs, and the bundler makes one bundle
 * per leaf. Adding a command is one line here:
 *
 *   { name: 'lvs', summary: 'report logical volumes', module: 'lvs', exportName: 'lvsCommand' },
 *
 * where `src/commands/lvs.ts` exports `lvsCommand`: a yargs CommandModule whose command's first word
 * is the name, or a SelfParsingCommand (no yargs on its path: see below).
 */
import type { CommandModule } from 'yargs';

/** A command that parses its own argv (lvm-style reports that must start fast skip yargs). */
export interface SelfParsingCommand {
  readonly parsesOwnArgs: true;
  /** args: what follows the command name; invokedAs: the name the user typed (argv[0] or argv[1]). */
  run(args: readonly string[], invokedAs: string): Promise<void>;
}

export type LoadedCommand = CommandModule<object, never> | SelfParsingCommand;

interface SpecBase {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** One line for `leasehold --help`; the same as the module's `describe` (a test checks). */
  readonly summary: string;
}

/** A command with its own module under src/commands/. */
export interface LeafSpec extends SpecBase {
  /** Module name under src/commands/, without `.js`. */
  readonly module: string;
  /** The export of that module holding the LoadedCommand. */
  readonly exportName: string;
}

/** A command that only groups subcommands (`leasehold direct dump`). */
export interface GroupSpec extends SpecBase {
  readonly subcommands: readonly LeafSpec[];
}

export type CommandSpec = LeafSpec | GroupSpec;

export function isGroup(spec: CommandSpec): spec is GroupSpec {
  return 'subcommands' in spec;
}

export function isSelfParsing(command: LoadedCommand): command is SelfParsingCommand {
  return (command as Partial<SelfParsingCommand>).parsesOwnArgs === true;
}

const DIRECT_SUBCOMMANDS: readonly LeafSpec[] = [
  {
    name: 'init',
    summary: 'initialize a lockspace (-s) or a resource lease (-r) area',
    module: 'direct-init',
    exportName: 'directInitCommand',
  },
  {
    name: 'dump',
    summary: 'list the lease areas found at PATH[:OFFSET[:SIZE]]',
    module: 'direct-dump',
    exportName: 'directDumpCommand',
  },
  {
    name: 'read-leader',
    aliases: ['read_leader'],
    summary: "print and verify a host's delta lease (-s) or a resource leader (-r)",
    module: 'direct-read-leader',
    exportName: 'directReadLeaderCommand',
  },
  {
    name: 'join',
    summary:
      'join a lockspace in the foreground (acquire and renew a host_id delta lease) and print host changes and events',
    module: 'direct-join',
    exportName: 'directJoinCommand',
  },
  {
    name: 'hosts',
    summary: "show a lockspace's host table without joining (one read; --watch to judge liveness over time)",
    module: 'direct-hosts',
    exportName: 'directHostsCommand',
  },
  {
    name: 'run',
    summary: 'join a lockspace, hold a resource lease while COMMAND runs (after --), release, leave; no daemon',
    module: 'direct-run',
    exportName: 'directRunCommand',
  },
  {
    name: 'request',
    summary:
      'ask the holder of a resource lease to give it up (write the request record; with -s, also ping the holder)',
    module: 'direct-request',
    exportName: 'directRequestCommand',
  },
];

/**
 * The volume commands with lvm's names, flags and exit statuses (src/commands/lvm/). They parse
 * their own words with lvm's getopt rules, so `lvs` linked to leasehold takes what lvm's lvs takes.
 */
const LVM_COMMANDS: readonly LeafSpec[] = [
  { name: 'pvs', summary: 'report physical volumes (as lvm pvs)', module: 'lvm/reports', exportName: 'pvsCommand' },
  { name: 'vgs', summary: 'report volume groups (as lvm vgs)', module: 'lvm/reports', exportName: 'vgsCommand' },
  { name: 'lvs', summary: 'report logical volumes (as lvm lvs)', module: 'lvm/reports', exportName: 'lvsCommand' },
  {
    name: 'pvcreate',
    summary: 'initialize devices as LVM physical volumes',
    module: 'lvm/pv-commands',
    exportName: 'pvcreateCommand',
  },
  {
    name: 'pvremove',
    summary: 'remove the LVM label from physical volumes',
    module: 'lvm/pv-commands',
    exportName: 'pvremoveCommand',
  },
  { name: 'vgcreate', summary: 'create a volume group', module: 'lvm/vg-commands', exportName: 'vgcreateCommand' },
  { name: 'vgremove', summary: 'remove volume groups', module: 'lvm/vg-commands', exportName: 'vgremoveCommand' },
  {
    name: 'vgextend',
    summary: 'add physical volumes to a volume group',
    module: 'lvm/vg-commands',
    exportName: 'vgextendCommand',
  },
  {
    name: 'vgreduce',
    summary: 'remove unused physical volumes from a volume group',
    module: 'lvm/vg-commands',
    exportName: 'vgreduceCommand',
  },
  { name: 'vgrename', summary: 'rename a volume group', module: 'lvm/vg-commands', exportName: 'vgrenameCommand' },
  {
    name: 'vgchange',
    summary: 'start or stop the lockspaces of shared VGs (--lock-start, --lock-stop), activate their LVs (-a)',
    module: 'lvm/vg-lock-commands',
    exportName: 'vgchangeCommand',
  },
  {
    name: 'gl-enable',
    summary: 'enable the global lock in a shared VG (as lvmlockctl --gl-enable)',
    module: 'lvm/vg-lock-commands',
    exportName: 'glEnableCommand',
  },
  {
    name: 'gl-disable',
    summary: 'disable the global lock in a shared VG (as lvmlockctl --gl-disable)',
    module: 'lvm/vg-lock-commands',
    exportName: 'glDisableCommand',
  },
  {
    name: 'vgck',
    summary: 'check the metadata of volume groups (--updatemetadata repairs it)',
    module: 'lvm/vg-backup',
    exportName: 'vgckCommand',
  },
  {
    name: 'vgcfgbackup',
    summary: 'write the metadata of volume groups to files',
    module: 'lvm/vg-backup',
    exportName: 'vgcfgbackupCommand',
  },
  {
    name: 'vgcfgrestore',
    summary: 'restore the metadata of a volume group from a file',
    module: 'lvm/vg-backup',
    exportName: 'vgcfgrestoreCommand',
  },
  {
    name: 'lvcreate',
    summary: 'create a linear or striped logical volume',
    module: 'lvm/lv-commands',
    exportName: 'lvcreateCommand',
  },
  { name: 'lvremove', summary: 'remove logical volumes', module: 'lvm/lv-commands', exportName: 'lvremoveCommand' },
  {
    name: 'lvchange',
    summary: 'activate (-aey, -asy), deactivate (-an) or refresh (--refresh) logical volumes',
    module: 'lvm/lv-activate',
    exportName: 'lvchangeCommand',
  },
  {
    name: 'activate',
    summary: 'activate LVs exclusively (-aey) or shared (-asy) on this host, or deactivate them (-an)',
    module: 'lvm/lv-activate',
    exportName: 'activateCommand',
  },
  { name: 'lvrename', summary: 'rename a logical volume', module: 'lvm/lv-commands', exportName: 'lvrenameCommand' },
  { name: 'lvextend', summary: 'grow a logical volume', module: 'lvm/lv-resize', exportName: 'lvextendCommand' },
  { name: 'lvreduce', summary: 'shrink a logical volume', module: 'lvm/lv-resize', exportName: 'lvreduceCommand' },
  {
    name: 'lvresize',
    summary: 'grow or shrink a logical volume',
    module: 'lvm/lv-resize',
    exportName: 'lvresizeCommand',
  },
];

/** The top-level commands, in `--help` order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'direct',
    summary: 'read and write lease areas directly (no daemon), like `sanlock direct`',
    subcommands: DIRECT_SUBCOMMANDS,
  },
  { name: 'daemon', summary: 'run the lock daemon in the foreground', module: 'daemon', exportName: 'daemonCommand' },
  {
    name: 'lockstart',
    summary: 'join a lockspace (the daemon renews its delta lease from then on)',
    module: 'lockstart',
    exportName: 'lockstartCommand',
  },
  {
    name: 'lockstop',
    summary: 'leave a lockspace (release our host_id lease)',
    module: 'lockstop',
    exportName: 'lockstopCommand',
  },
  {
    name: 'status',
    summary: "show the daemon's lockspaces, leases and clients",
    module: 'status',
    exportName: 'statusCommand',
  },
  {
    name: 'hosts',
    summary: 'show the hosts of a lockspace and their liveness',
    module: 'hosts',
    exportName: 'hostsCommand',
  },
  {
    name: 'run',
    summary: 'run a command while holding leases (released when it exits)',
    module: 'run',
    exportName: 'runCommand',
  },
  {
    name: 'watchdog',
    summary:
      'run the watchdog companion in the foreground (pets the watchdog while every lockspace is within its deadline)',
    module: 'watchdog',
    exportName: 'watchdogCommand',
  },
  {
    name: 'command-server',
    summary: 'keep command workers booted for leasehold-fast, the front end that starts in a millisecond',
    module: 'command-server',
    exportName: 'commandServerCommand',
  },
  {
    name: 'testing',
    summary: 'test tools (emulated cluster with test watchdog devices, the chaos run)',
    module: 'testing-cluster',
    exportName: 'testingCommand',
  },
  ...LVM_COMMANDS,
];

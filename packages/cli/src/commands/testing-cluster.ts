/**
 * `leasehold testing cluster start|stop|status|exec|freeze|thaw|crash|restart`: N emulated hosts
 * (daemon + watchdog companion + test watchdog device each) on one machine, sharing one disk image.
 * See docs/watchdog.md. Needs root (pid and mount namespaces).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { parseBytes } from '../args.js';
import { CliError, EXIT_USAGE } from '../cli-error.js';
import { printError, printJson, printLine } from '../output.js';
import { formatTable } from './daemon-table.js';
import { chaosCheckCommand, chaosCommand, chaosWriterCommand } from './testing-chaos.js';

const CLI_PATH = fileURLToPath(new URL('../../bin/leasehold.js', import.meta.url));
const TARGETS = ['host', 'daemon', 'companion'] as const;
type TargetArg = (typeof TARGETS)[number];

interface DirArgs {
  dir: string;
}
interface HostArgs extends DirArgs {
  host: string;
  process: TargetArg;
}
interface StartArgs extends DirArgs {
  hosts: number;
  disk?: string;
  'disk-size': string;
  'io-timeout'?: number;
  'watchdog-fire-timeout'?: number;
  lockspace?: string;
  resources: number;
}
interface StatusArgs extends DirArgs {
  json: boolean;
}
interface ExecArgs extends DirArgs {
  host: string;
  '--'?: Array<string | number>;
}

function withDir<T>(y: Argv<T>): Argv<T & DirArgs> {
  return y.option('dir', { type: 'string', demandOption: true, describe: 'the cluster directory' }) as unknown as Argv<
    T & DirArgs
  >;
}

function withHost<T>(y: Argv<T>, verb: string): Argv<T & HostArgs> {
  return withDir(y)
    .positional('host', { type: 'string', demandOption: true, describe: 'host1, host2, ...' })
    .option('process', {
      choices: TARGETS,
      default: 'host' as TargetArg,
      describe: `what to ${verb}: the whole host, or only its daemon or companion`,
    }) as unknown as Argv<T & HostArgs>;
}

const startCommand: CommandModule<object, StartArgs> = {
  command: 'start',
  describe: 'start N emulated hosts sharing one disk image (created if absent)',
  builder: (y) =>
    withDir(y)
      .option('hosts', { type: 'number', demandOption: true, describe: 'number of hosts' })
      .option('disk', { type: 'string', describe: 'shared disk image (default DIR/disk.img)' })
      .option('disk-size', { type: 'string', default: '64M', describe: 'size of a new disk image' })
      .option('io-timeout', { type: 'number', describe: 'io_timeout of every daemon (default 1)' })
      .option('watchdog-fire-timeout', {
        type: 'number',
        describe: 'W of every daemon, companion and device (default 10)',
      })
      .option('lockspace', { type: 'string', describe: 'on a new disk: initialize this lockspace at offset 0' })
      .option('resources', {
        type: 'number',
        default: 0,
        describe: 'with --lockspace: resource leases R1..RN at 1 MiB, 2 MiB, ...',
      }),
  handler: async (argv) => {
    const { startCluster, hostPaths, hostName } = await import('@leasehold/watchdog');
    const config = await startCluster({
      dir: argv.dir,
      hosts: argv.hosts,
      disk: argv.disk,
      diskSizeBytes: parseBytes(argv['disk-size'], '--disk-size'),
      ioTimeoutSeconds: argv['io-timeout'],
      watchdogFireTimeoutSeconds: argv['watchdog-fire-timeout'],
      lockspace: argv.lockspace,
      resources: argv.resources,
      nodePath: process.execPath,
      cliPath: CLI_PATH,
    });
    printLine(
      `cluster ${config.dir}: ${config.hosts} host(s), disk ${config.disk}, io_timeout ${config.ioTimeoutSeconds}, watchdog_fire_timeout ${config.watchdogFireTimeoutSeconds}`,
    );
    for (let index = 1; index <= config.hosts; index++)
      printLine(`${hostName(index)}  ${hostPaths(config.dir, hostName(index)).socket}`);
  },
};

const stopCommand: CommandModule<object, DirArgs> = {
  command: 'stop',
  describe: 'stop every host and test device (the disk and the logs stay)',
  builder: (y) => withDir(y),
  handler: async (argv) => {
    const { stopCluster } = await import('@leasehold/watchdog');
    await stopCluster(argv.dir);
  },
};

const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'show which hosts run, their processes and their test watchdog devices',
  builder: (y) => withDir(y).option('json', { type: 'boolean', default: false }),
  handler: async (argv) => {
    const { clusterStatus } = await import('@leasehold/watchdog');
    const status = await clusterStatus(argv.dir);
    if (argv.json) {
      printJson(status);
      return;
    }
    const pid = (value: number | null): string => (value === null ? '-' : String(value));
    for (const line of formatTable(
      ['HOST', 'UP', 'DAEMON', 'COMPANION', 'DEVICE', 'FIRES', 'SOCKET'],
      status.hosts.map((h) => [
        h.name,
        h.up ? 'yes' : 'no',
        pid(h.daemonPid),
        pid(h.companionPid),
        h.device === null
          ? 'gone'
          : h.device.armed
            ? `armed ${h.device.secondsLeft?.toFixed(1) ?? '?'}s left`
            : 'disarmed',
        h.device === null ? '-' : String(h.device.fires),
        h.socket,
      ]),
    )) {
      printLine(line);
    }
  },
};

/** The in-host child of an nsenter process (nsenter forks to enter the pid namespace). */
function nsenterChild(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    const child = Number(children.split(/\s+/)[0]);
    return Number.isInteger(child) && child > 0 ? child : undefined;
  } catch {
    return undefined;
  }
}

const execCommand: CommandModule<object, ExecArgs> = {
  command: 'exec <host>',
  describe: 'run a command inside a host (LEASEHOLD_SOCKET set; killed by its reset); `leasehold` means this CLI',
  builder: (y) =>
    withDir(y).parserConfiguration({ 'populate--': true }).positional('host', {
      type: 'string',
      demandOption: true,
      describe: 'host1, host2, ...',
    }) as unknown as Argv<ExecArgs>,
  handler: async (argv) => {
    const command = (argv['--'] ?? []).map(String);
    if (command.length === 0) throw new CliError('BAD_ARGUMENT', 'give the command to run after --', EXIT_USAGE);
    const { readClusterConfig, requireHost, spawnInHost } = await import('@leasehold/watchdog');
    const config = readClusterConfig(argv.dir);
    const child = spawnInHost(config, requireHost(config, argv.host), command, 'inherit');
    // nsenter does not pass signals on: send them to the command itself.
    const forward = (signal: NodeJS.Signals): void => {
      const inHost = child.pid === undefined ? undefined : nsenterChild(child.pid);
      try {
        if (inHost !== undefined) process.kill(inHost, signal);
      } catch {
        // already gone
      }
    };
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
      child.once('error', (error) => fail(new CliError('CLUSTER_ERROR', `cannot run nsenter: ${error.message}`)));
      child.once('exit', (exitCode, exitSignal) => done({ code: exitCode, signal: exitSignal }));
    });
    if (signal !== null) {
      printError(`leasehold: command in ${argv.host} killed by ${signal}`);
      process.exitCode = 128 + (constants.signals[signal] ?? 0);
    } else {
      process.exitCode = code ?? 1;
    }
  },
};

function hostVerb(verb: 'freeze' | 'thaw' | 'crash' | 'restart', describe: string): CommandModule<object, HostArgs> {
  return {
    command: `${verb} <host>`,
    describe,
    builder: (y) => withHost(y, verb),
    handler: async (argv) => {
      const cluster = await import('@leasehold/watchdog');
      switch (verb) {
        case 'freeze':
        case 'thaw': {
          const pids = cluster.freezeHost(argv.dir, argv.host, argv.process, verb === 'freeze');
          printLine(
            `${verb === 'freeze' ? 'stopped' : 'continued'} ${argv.process} of ${argv.host}: pid ${pids.join(' ')}`,
          );
          return;
        }
        case 'crash': {
          const pids = await cluster.crashHost(argv.dir, argv.host, argv.process);
          printLine(`killed ${argv.process} of ${argv.host}: pid ${pids.join(' ')}`);
          return;
        }
        case 'restart':
          await cluster.restartHost(argv.dir, argv.host, argv.process);
          printLine(`started ${argv.process} of ${argv.host}`);
          return;
      }
    },
  };
}

const clusterSubcommands = [
  startCommand,
  stopCommand,
  statusCommand,
  execCommand,
  hostVerb('freeze', 'SIGSTOP the host (every process) or its daemon or companion'),
  hostVerb('thaw', 'SIGCONT what freeze stopped'),
  hostVerb('crash', 'SIGKILL the daemon or companion, or power the whole host off (its device is reset too)'),
  hostVerb('restart', 'boot the host again (power-cycling it if it runs), or restart its daemon or companion'),
] as unknown as CommandModule<object, never>[];

const clusterCommand: CommandModule = {
  command: 'cluster <command>',
  describe: 'emulated hosts with test watchdog devices on one machine (for tests, demos and chaos runs)',
  builder: (y: Argv) => {
    let built = y;
    for (const sub of clusterSubcommands) built = built.command(sub);
    return built.demandCommand(1);
  },
  handler: () => undefined,
};

export const testingCommand: CommandModule = {
  command: 'testing <command>',
  describe: 'test tools (emulated cluster with test watchdog devices, the chaos run)',
  builder: (y: Argv) =>
    y
      .command(clusterCommand)
      .command(chaosCommand as unknown as CommandModule)
      .command(chaosCheckCommand as unknown as CommandModule)
      .command(chaosWriterCommand as unknown as CommandModule)
      .demandCommand(1),
  handler: () => undefined,
};

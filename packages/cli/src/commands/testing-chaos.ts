/**
 * `leasehold testing chaos [--duration 3m]`: the chaos run (docs/timing.md "The chaos run");
 * `leasehold testing chaos-check --dir D`: the checker again over a run's evidence;
 * `leasehold testing chaos-writer ...`: the writer the run starts in each emulated host.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from '../cli-error.js';
import { printError, printLine } from '../output.js';

const CLI_PATH = fileURLToPath(new URL('../../bin/leasehold.js', import.meta.url));
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(s|m|h)?$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };
/** Violations printed on stderr (all are in violations.json). */
const PRINTED_VIOLATIONS = 20;
/** The shared VG's PV (sparse): room for the 256 MiB lock LV and the test LVs. */
const PV_SIZE_BYTES = 1024 * 1024 * 1024;
/** The writer's exit status after a failed activation command (the harness starts a new one). */
export const WRITER_RECYCLE_EXIT = 3;

export function parseDurationSeconds(text: string): number {
  const match = DURATION_PATTERN.exec(text.trim());
  if (match === null)
    throw new CliError(
      'BAD_ARGUMENT',
      `--duration must be a number with s, m or h (e.g. 3m), got "${text}"`,
      EXIT_USAGE,
    );
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
}

interface ChaosArgs {
  dir?: string;
  hosts: number;
  duration: string;
  lvs: number;
  slots: number;
  writers: number;
  writes: number;
  'write-pause-ms': number;
  'fault-interval': number;
  'churn-interval': number;
  'boot-delay': number;
  'io-timeout': number;
  'watchdog-fire-timeout': number;
  seed?: number;
  peers: string;
  'peer-vg-lock': boolean;
  keep: boolean;
}

function reportOutcome(
  outcome: {
    line: string;
    peersLine: string | undefined;
    result: { violations: Array<{ kind: string; message: string }> };
  },
  dir: string,
): void {
  const { violations } = outcome.result;
  for (const violation of violations.slice(0, PRINTED_VIOLATIONS))
    printError(`leasehold: chaos: ${violation.kind}: ${violation.message}`);
  printLine(outcome.line);
  if (outcome.peersLine !== undefined) printLine(outcome.peersLine);
  if (violations.length > 0) {
    printError(`leasehold: chaos: evidence kept in ${dir} (violations.json, history/, cluster/)`);
    process.exitCode = EXIT_FAILURE;
  }
}

export const chaosCommand: CommandModule<object, ChaosArgs> = {
  command: 'chaos',
  describe: 'chaos run: emulated hosts, a shared VG, writers, random faults, then the checker (needs root)',
  builder: (y) =>
    y
      .option('dir', { type: 'string', describe: 'where the evidence goes (default: a new directory in /tmp)' })
      .option('hosts', { type: 'number', default: 5, describe: 'emulated leasehold hosts (3-5)' })
      .option('duration', {
        type: 'string',
        default: '3m',
        describe: 'how long the writers and faults run (30s, 3m, 1h)',
      })
      .option('lvs', { type: 'number', default: 9, describe: 'exclusive-write LVs (plus one shared-read LV)' })
      .option('slots', { type: 'number', default: 64, describe: 'record slots (512-byte sectors) per LV' })
      .option('writers', { type: 'number', default: 3, describe: 'writers per host, each on its own LVs' })
      .option('writes', { type: 'number', default: 8, describe: 'writes per activation' })
      .option('write-pause-ms', { type: 'number', default: 20, describe: 'pause after each write' })
      .option('fault-interval', { type: 'number', default: 3, describe: 'mean seconds between faults' })
      .option('churn-interval', { type: 'number', default: 8, describe: 'mean seconds between metadata churns' })
      .option('boot-delay', { type: 'number', default: 2, describe: 'seconds a reset host takes to boot' })
      .option('io-timeout', { type: 'number', default: 1, describe: 'io_timeout of every daemon' })
      .option('watchdog-fire-timeout', { type: 'number', default: 10, describe: 'W of every host' })
      .option('seed', { type: 'number', describe: 'seed of the random choices (default: from the clock)' })
      .option('peers', {
        type: 'string',
        default: 'none',
        describe:
          'peer hosts taking the same LV leases with the real tools: lvmlockd (lvmlockd + sanlock, lvchange), sanlock (sanlock client acquire), both as lvmlockd,sanlock',
      })
      .option('peer-vg-lock', {
        type: 'boolean',
        default: true,
        describe:
          "the lvmlockd peer's lvchange takes the VG lock as usual; --no-peer-vg-lock adds --lockopt skipvg (the LV lease only)",
      })
      .option('keep', { type: 'boolean', default: false, describe: 'keep the PV image of a clean run too' }),
  handler: async (argv) => {
    const { runChaos } = await import('../chaos/harness/run-chaos.js');
    const { parsePeerKinds, validateChaosOptions } = await import('../chaos/harness/options.js');
    const peers = parsePeerKinds(argv.peers);
    if (peers === undefined)
      throw new CliError(
        'BAD_ARGUMENT',
        `--peers must be none or a list of lvmlockd and sanlock (e.g. lvmlockd,sanlock), got "${argv.peers}"`,
        EXIT_USAGE,
      );
    const dir = resolve(argv.dir ?? mkdtempSync(join(tmpdir(), 'leasehold-chaos-')));
    const options = {
      dir,
      hosts: argv.hosts,
      durationSeconds: parseDurationSeconds(argv.duration),
      lvs: argv.lvs,
      slotsPerLv: argv.slots,
      writersPerHost: argv.writers,
      writesPerCycle: argv.writes,
      writePauseMs: argv['write-pause-ms'],
      faultIntervalSeconds: argv['fault-interval'],
      churnIntervalSeconds: argv['churn-interval'],
      bootDelaySeconds: argv['boot-delay'],
      ioTimeoutSeconds: argv['io-timeout'],
      watchdogFireTimeoutSeconds: argv['watchdog-fire-timeout'],
      pvSizeBytes: PV_SIZE_BYTES,
      seed: argv.seed ?? Date.now() % 1_000_000,
      peers,
      peerVgLock: argv['peer-vg-lock'],
      keep: argv.keep,
      nodePath: process.execPath,
      cliPath: CLI_PATH,
    };
    const invalid = validateChaosOptions(options);
    if (invalid !== undefined) throw new CliError('BAD_ARGUMENT', invalid, EXIT_USAGE);
    if (process.getuid?.() !== 0)
      throw new CliError('NOT_PERMITTED', 'the chaos run needs root (loop devices, pid namespaces)');
    printLine(`chaos: seed ${options.seed}, evidence in ${dir}`);
    reportOutcome(await runChaos(options), dir);
  },
};

interface CheckArgs {
  dir: string;
}

export const chaosCheckCommand: CommandModule<object, CheckArgs> = {
  command: 'chaos-check',
  describe: "run the chaos checker again over a run's evidence (needs its pv.img: kept on failure or with --keep)",
  builder: (y) => y.option('dir', { type: 'string', demandOption: true, describe: 'the run directory' }),
  handler: async (argv) => {
    const { attachPvImage, checkRunDir } = await import('../chaos/harness/run-chaos.js');
    const dir = resolve(argv.dir);
    if (!existsSync(join(dir, 'pv.img')))
      throw new CliError('BAD_ARGUMENT', `${dir} has no pv.img (a clean run keeps it only with --keep)`, EXIT_USAGE);
    const pvPath = attachPvImage(join(dir, 'pv.img'));
    try {
      reportOutcome(await checkRunDir(dir, pvPath), dir);
    } finally {
      spawnSync('losetup', ['-d', pvPath]);
    }
  },
};

interface WriterArgs {
  history: string;
  host: string;
  worker: string;
  vg: string;
  lvs: string;
  'shared-lvs': string;
  'device-dir': string;
  slots: number;
  writes: number;
  'write-pause-ms': number;
  'until-ns': string;
  seed: number;
}

export const chaosWriterCommand: CommandModule<object, WriterArgs> = {
  command: 'chaos-writer',
  describe: 'the chaos run writer: activate, write records with O_DIRECT, read back, deactivate, until a deadline',
  builder: (y) =>
    y
      .option('history', { type: 'string', demandOption: true, describe: 'history file to append to' })
      .option('host', { type: 'string', demandOption: true, describe: 'this host (hostN)' })
      .option('worker', { type: 'string', demandOption: true, describe: 'this writer id' })
      .option('vg', { type: 'string', demandOption: true })
      .option('lvs', { type: 'string', demandOption: true, describe: 'LVs to pick from (comma-separated)' })
      .option('shared-lvs', { type: 'string', default: '', describe: 'LVs also read shared (-asy)' })
      .option('device-dir', { type: 'string', demandOption: true, describe: "the host's device_dir" })
      .option('slots', { type: 'number', default: 64 })
      .option('writes', { type: 'number', default: 12 })
      .option('write-pause-ms', { type: 'number', default: 40 })
      .option('until-ns', { type: 'string', demandOption: true, describe: 'CLOCK_MONOTONIC ns to stop at' })
      .option('seed', { type: 'number', default: 1 }),
  handler: async (argv) => {
    const { ChaosWriter } = await import('../chaos/writer.js');
    if (!/^\d+$/.test(argv['until-ns']))
      throw new CliError('BAD_ARGUMENT', `--until-ns must be nanoseconds, got "${argv['until-ns']}"`, EXIT_USAGE);
    const split = (text: string): string[] => text.split(',').filter((part) => part !== '');
    const finished = await new ChaosWriter({
      historyPath: argv.history,
      host: argv.host,
      worker: argv.worker,
      vg: argv.vg,
      lvs: split(argv.lvs),
      sharedLvs: split(argv['shared-lvs']),
      deviceDir: argv['device-dir'],
      slots: argv.slots,
      writesPerCycle: argv.writes,
      writePauseMs: argv['write-pause-ms'],
      untilNs: BigInt(argv['until-ns']),
      seed: argv.seed,
    }).run();
    // The activations ran in this process: their failures are in the history; the exit status only
    // says whether the writer stopped at its deadline (0) or after a failed command (3).
    process.exitCode = finished ? 0 : WRITER_RECYCLE_EXIT;
  },
};

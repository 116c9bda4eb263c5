/**
 * `leasehold direct hosts -s LS:PATH:OFFSET [--watch] [--interval SECONDS] [--json] [-o IO_TIMEOUT]
 *   [--watchdog-fire-timeout SECONDS]`
 *
 * The lockspace's host table, read without joining it.
 *
 * Liveness is judged only by change over time on the observer's clock (sanlock-ondisk §3), so:
 * - Without --watch: ONE read of the area. Held slots show UNKNOWN (held; not judged live or dead:
 *   one sample cannot tell), released or never-used-since slots FREE.
 * - With --watch: the area is read every --interval seconds (default 2, at most the 2 x io_timeout
 *   renewal interval of any host, so no renewal goes unnoticed for long). A host seen renewing turns
 *   LIVE; one that stops turns FAIL at 8 x its io_timeout and DEAD at 8 x its io_timeout + W after its
 *   last renewal was seen. The table is printed again whenever a state, generation or name changes.
 *   -o is used for hosts that publish io_timeout 0; W must be the cluster's value (default 60).
 *
 * --json prints the table as JSON (with --watch: one compact JSON array per line).
 */
import type { CommandModule } from 'yargs';
import {
  DEFAULT_IO_TIMEOUT_SECONDS,
  DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
  LockspaceObserver,
  sleepUnlessAborted,
  type HostState,
  type HostStatus,
  type LockspaceSlot,
} from '@leasehold/lease';
import { parseLockspaceLocation } from '../args.js';
import { CliError, EXIT_USAGE } from '../cli-error.js';
import { openDevice } from '../device.js';
import { printError, printJson, printLine } from '../output.js';
import { realClock } from '../real-clock.js';

interface HostsArgs {
  s: string;
  watch: boolean;
  interval: number;
  json: boolean;
  o: number;
  'watchdog-fire-timeout': number;
}

const DEFAULT_WATCH_INTERVAL_SECONDS = 2;
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** One row of the report. */
export interface HostRow {
  hostId: number;
  state: HostState;
  generation: bigint;
  timestamp: bigint;
  ioTimeoutSeconds: number;
  name: string;
  /** The record passes sanlock's checks (magic, version, space name, checksum). */
  valid: boolean;
  /** Host ids whose bit this host currently sets (pings, events). */
  bitmap: number[];
}

export const directHostsCommand: CommandModule<object, HostsArgs> = {
  command: 'hosts',
  describe: "show a lockspace's host table without joining (one read; --watch to judge liveness over time)",
  builder: (y) =>
    y
      .option('s', {
        type: 'string',
        demandOption: true,
        describe: 'lockspace LS:PATH:OFFSET (or LS:HOSTID:PATH:OFFSET)',
      })
      .option('watch', {
        type: 'boolean',
        default: false,
        describe: 'keep sampling and print the table when it changes',
      })
      .option('interval', {
        type: 'number',
        default: DEFAULT_WATCH_INTERVAL_SECONDS,
        describe: 'seconds between samples with --watch',
      })
      .option('json', { type: 'boolean', default: false })
      .option('o', {
        type: 'number',
        default: DEFAULT_IO_TIMEOUT_SECONDS,
        describe: 'io_timeout for hosts that publish 0',
      })
      .option('watchdog-fire-timeout', {
        type: 'number',
        default: DEFAULT_WATCHDOG_FIRE_TIMEOUT_SECONDS,
        describe: 'W seconds (the cluster value)',
      }),
  handler: async (argv) => {
    const target = parseLockspaceLocation(argv.s);
    if (!(argv.interval > 0))
      throw new CliError('BAD_ARGUMENT', `--interval must be > 0 seconds, got ${argv.interval}`, EXIT_USAGE);
    const disk = await openDevice(target.path, { write: false });
    try {
      const observer = await LockspaceObserver.open(disk, realClock, {
        spaceName: target.spaceName,
        areaOffsetBytes: target.offsetBytes,
        ioTimeoutSeconds: argv.o,
        watchdogFireTimeoutSeconds: argv['watchdog-fire-timeout'],
      });
      await observer.sample();
      if (!argv.watch) {
        report(hostRows(observer), argv.json, false);
        return;
      }
      await watch(observer, argv.interval, argv.json);
    } finally {
      await disk.close();
    }
  },
};

async function watch(observer: LockspaceObserver, intervalSeconds: number, json: boolean): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
  try {
    let shown = '';
    while (!stop.signal.aborted) {
      const rows = hostRows(observer);
      const key = rows.map((r) => `${r.hostId}:${r.state}:${r.generation}:${r.name}:${r.valid}`).join(',');
      if (key !== shown) {
        shown = key;
        report(rows, json, true);
      }
      if (await sleepUnlessAborted(realClock, intervalSeconds, stop.signal)) await observer.sample();
    }
  } finally {
    for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
  }
}

/** The observer's judgement joined with what the latest read showed of each slot. */
export function hostRows(observer: LockspaceObserver): HostRow[] {
  const slots = new Map<number, LockspaceSlot>(observer.slots().map((slot) => [slot.hostId, slot]));
  return observer.hosts().map((status: HostStatus) => {
    const slot = slots.get(status.hostId);
    return {
      hostId: status.hostId,
      state: status.state,
      generation: slot?.leader.ownerGeneration ?? status.generation,
      timestamp: slot?.leader.timestamp ?? status.timestamp,
      ioTimeoutSeconds: slot?.leader.ioTimeoutSeconds ?? status.ioTimeoutSeconds,
      name: slot?.leader.resourceName ?? status.hostName,
      valid: slot?.valid ?? true,
      bitmap: slot?.bitmapHostIds ?? [],
    };
  });
}

function report(rows: HostRow[], json: boolean, compact: boolean): void {
  if (json) {
    // Same number rule as printJson: bigints as numbers where exact, strings otherwise.
    if (compact)
      printLine(
        JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'bigint' ? jsonBigint(value) : value)),
      );
    else printJson(rows);
    return;
  }
  for (const line of hostTableLines(rows)) printLine(line);
  for (const row of rows) {
    if (!row.valid)
      printError(
        `leasehold: warning: the delta lease of host ${row.hostId} fails verification (magic, version, name or checksum)`,
      );
  }
}

function jsonBigint(value: bigint): number | string {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** LVM-style plain columns: a header, then one line per host. */
export function hostTableLines(rows: HostRow[]): string[] {
  const header = ['HOST_ID', 'STATE', 'GENERATION', 'TIMESTAMP', 'IO_TIMEOUT', 'NAME'];
  const cells = rows.map((r) => [
    String(r.hostId),
    r.state,
    String(r.generation),
    String(r.timestamp),
    String(r.ioTimeoutSeconds),
    r.name,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const format = (row: string[]): string =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [format(header), ...cells.map(format)];
}

/**
 * The faults the chaos run injects into a host, one at a time per host, each logged (at its start)
 * in the host's harness history before it is done.
 */
import { closeSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crashHost, freezeHost, restartHost } from '@leasehold/watchdog';
import type { FaultKind } from '../history.js';
import { monotonicNs } from '../history-file.js';
import type { Random } from '../random.js';
import type { ChaosHost } from './chaos-host.js';
import { continueLaunchers } from './in-host.js';

/** Relative weights of the fault kinds. */
export const FAULT_WEIGHTS: Readonly<Record<FaultKind, number>> = {
  'kill-writer': 3,
  'kill-daemon': 2,
  'kill-companion': 1,
  'freeze-long': 2,
  'freeze-short': 2,
  'storage-hang': 2,
  'power-cycle': 2,
};
const SHORT_FREEZE_MS = [500, 1500] as const;
const RESTART_AFTER_KILL_MS = [500, 2500] as const;
/** A host whose watchdog should reset it and has not after this long is noted (and a frozen one thawed). */
const RESET_GIVE_UP_MS = 60_000;
const POLL_MS = 200;
/** How long a restarted daemon may take to say whether it resumed its delta lease. */
const DAEMON_REJOIN_WAIT_MS = 30_000;
/** The most of a daemon log read at once while waiting for that. */
const MAX_LOG_READ_BYTES = 4 * 1024 * 1024;
/** The daemon's log lines (docs/daemon.md) that tell a resumed delta lease from a new generation. */
const NOT_RESUMED_MESSAGE = '"msg":"cannot resume the delta lease; joining again"';
const JOINED_MESSAGE = '"msg":"lockspace joined"';

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Waits for the host's watchdog to reset it; false (and noted) when it did not within RESET_GIVE_UP_MS. */
async function waitForReset(host: ChaosHost, context: FaultContext): Promise<boolean> {
  const giveUpAt = Date.now() + RESET_GIVE_UP_MS;
  while (host.state === 'up' && Date.now() < giveUpAt) {
    host.pollResets();
    await sleep(POLL_MS);
  }
  if (host.state === 'up') context.note(`${host.name}: not reset within ${RESET_GIVE_UP_MS} ms`);
  return host.state !== 'up';
}

function fileSizeBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Logs the daemon's start once its log says how it came back: its delta lease resumed (its leases are
 * still its own) or joined anew with a new generation (sanlock: its old leases are free at once; the
 * daemon wrote the new generation only after deactivating their LVs). Logged at the start, the first
 * moment the new generation can be on disk; unknown after DAEMON_REJOIN_WAIT_MS counts as resumed.
 */
async function noteDaemonStart(host: ChaosHost, startedNs: bigint, logOffsetBytes: number): Promise<void> {
  const giveUpAt = Date.now() + DAEMON_REJOIN_WAIT_MS;
  let newGeneration = false;
  while (host.state === 'up' && Date.now() < giveUpAt) {
    const text = readFrom(host.paths.daemonLog, logOffsetBytes);
    if (text.includes(NOT_RESUMED_MESSAGE)) {
      newGeneration = true;
      break;
    }
    if (text.includes(JOINED_MESSAGE)) break;
    await sleep(POLL_MS);
  }
  host.log({ kind: 'daemon-start', tNs: startedNs, host: host.name, newGeneration });
}

function readFrom(path: string, offsetBytes: number): string {
  try {
    const size = statSync(path).size;
    if (size <= offsetBytes) return '';
    const buffer = Buffer.alloc(Math.min(size - offsetBytes, MAX_LOG_READ_BYTES));
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, offsetBytes);
    } finally {
      closeSync(fd);
    }
    return buffer.toString('utf8');
  } catch {
    return '';
  }
}

export function pickFault(random: Random): FaultKind {
  const entries = Object.entries(FAULT_WEIGHTS) as Array<[FaultKind, number]>;
  let roll = random.next() * entries.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [kind, weight] of entries) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return entries[entries.length - 1]![0];
}

export interface FaultContext {
  random: Random;
  /** The PV's device path (the daemon's storage-hang switch matches its basename). */
  pvPath: string;
  /** How long a storage hang lasts: past the host's deadline, so its leases are lost. */
  storageHangMs: number;
  note(line: string): void;
}

/** Does the fault; resolves when it is over (the host may be down, left to recovery). False: not applicable. */
export async function injectFault(host: ChaosHost, kind: FaultKind, context: FaultContext): Promise<boolean> {
  const dir = host.cluster.dir;
  const log = (): void => host.log({ kind: 'fault', tNs: monotonicNs(), host: host.name, fault: kind });
  switch (kind) {
    case 'kill-writer': {
      const pids = host.writerPids();
      if (pids.length === 0) return false;
      const pid = context.random.pick(pids);
      log();
      process.kill(pid, 'SIGKILL');
      return true;
    }
    case 'kill-daemon': {
      log();
      await crashHost(dir, host.name, 'daemon');
      await sleep(context.random.between(RESTART_AFTER_KILL_MS[0], RESTART_AFTER_KILL_MS[1]));
      if (host.state === 'up') {
        const logOffsetBytes = fileSizeBytes(host.paths.daemonLog);
        const startedNs = monotonicNs();
        await restartHost(dir, host.name, 'daemon');
        await noteDaemonStart(host, startedNs, logOffsetBytes);
      }
      return true;
    }
    case 'kill-companion': {
      // A crashed companion leaves its marker: a new one refuses to start (UNCLEAN_EXIT) and the
      // device, closed unclean, resets the host W later (docs/timing.md, case 5). Wait for that.
      log();
      await crashHost(dir, host.name, 'companion');
      await waitForReset(host, context);
      return true;
    }
    case 'freeze-short': {
      log();
      freezeHost(dir, host.name, 'host', true);
      await sleep(context.random.between(SHORT_FREEZE_MS[0], SHORT_FREEZE_MS[1]));
      if (host.state === 'up') freezeHost(dir, host.name, 'host', false);
      continueLaunchers(host.name);
      return true;
    }
    case 'freeze-long': {
      log();
      freezeHost(dir, host.name, 'host', true);
      if (!(await waitForReset(host, context))) freezeHost(dir, host.name, 'host', false);
      continueLaunchers(host.name);
      return true;
    }
    case 'storage-hang': {
      const hangFile = join(host.paths.faultDir, `hang@${basename(context.pvPath)}`);
      log();
      writeFileSync(hangFile, '');
      const endAt = Date.now() + context.storageHangMs;
      while (host.state === 'up' && Date.now() < endAt) {
        host.pollResets();
        await sleep(POLL_MS);
      }
      rmSync(hangFile, { force: true });
      if (host.state === 'up' && !(await host.lockstart())) context.note(`${host.name}: no lockstart after the hang`);
      return true;
    }
    case 'power-cycle': {
      log();
      host.state = 'down';
      await crashHost(dir, host.name, 'host');
      host.log({ kind: 'reset', tNs: monotonicNs(), host: host.name });
      return true;
    }
  }
}

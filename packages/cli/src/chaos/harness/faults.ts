/**
 * The faults the chaos run injects into a host, one at a time per host, each logged (at its start)
 * in the host's harness history before it is done.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { crashHost, freezeHost, restartHost } from '@leasehold/watchdog';
import type { FaultKind } from '../history.js';
import { monotonicNs } from '../history-file.js';
import type { Random } from '../random.js';
import type { ChaosHost } from './chaos-host.js';

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
/** A long freeze that the watchdog has not ended after this long is thawed (and noted: it should not happen). */
const LONG_FREEZE_GIVE_UP_MS = 60_000;
const POLL_MS = 200;

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
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
      const pid = host.writerPid();
      if (pid === undefined) return false;
      log();
      process.kill(pid, 'SIGKILL');
      return true;
    }
    case 'kill-daemon':
    case 'kill-companion': {
      const role = kind === 'kill-daemon' ? 'daemon' : 'companion';
      log();
      await crashHost(dir, host.name, role);
      await sleep(context.random.between(RESTART_AFTER_KILL_MS[0], RESTART_AFTER_KILL_MS[1]));
      if (host.state === 'up') await restartHost(dir, host.name, role);
      return true;
    }
    case 'freeze-short': {
      log();
      freezeHost(dir, host.name, 'host', true);
      await sleep(context.random.between(SHORT_FREEZE_MS[0], SHORT_FREEZE_MS[1]));
      if (host.state === 'up') freezeHost(dir, host.name, 'host', false);
      return true;
    }
    case 'freeze-long': {
      log();
      freezeHost(dir, host.name, 'host', true);
      const giveUpAt = Date.now() + LONG_FREEZE_GIVE_UP_MS;
      while (host.state === 'up' && Date.now() < giveUpAt) {
        host.pollResets();
        await sleep(POLL_MS);
      }
      if (host.state === 'up') {
        context.note(`${host.name}: frozen ${LONG_FREEZE_GIVE_UP_MS} ms and not reset; thawed`);
        freezeHost(dir, host.name, 'host', false);
      }
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

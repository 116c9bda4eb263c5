/**
 * One daemon per state directory: a pid file holding "PID STARTTIME". A daemon whose recorded process
 * is still the same incarnation refuses to start (two daemons sharing state would both believe they
 * own the same delta leases).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSameProcessAlive, readProcStat } from './clients/proc.js';
import { DaemonError } from '@leasehold/protocol';

export const PID_FILE_NAME = 'daemon.pid';

export function claimPidFile(stateDir: string): () => void {
  const path = join(stateDir, PID_FILE_NAME);
  try {
    const [pidText, startText] = readFileSync(path, 'utf8').trim().split(/\s+/);
    const pid = Number(pidText);
    if (
      Number.isInteger(pid) &&
      pid > 0 &&
      pid !== process.pid &&
      startText !== undefined &&
      /^\d+$/.test(startText) &&
      isSameProcessAlive(pid, BigInt(startText))
    ) {
      throw new DaemonError('DAEMON_RUNNING', `another daemon (pid ${pid}) uses the state directory ${stateDir}`);
    }
  } catch (error) {
    if (error instanceof DaemonError) throw error;
    // no file, or garbage in it: ours now
  }
  const self = readProcStat(process.pid);
  writeFileSync(path, `${process.pid} ${self?.startTime ?? 0n}\n`, { mode: 0o644 });
  return () => rmSync(path, { force: true });
}

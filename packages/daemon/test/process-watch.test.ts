/**
 * ProcessWatch's incarnations: a process is watched as pid + start time. A second watch of the same
 * incarnation reuses the pidfd (no /proc read), a wrong start time is refused, and an exit is
 * reported to every handler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcStat } from '../src/clients/proc.js';
import { ProcessWatch } from '../src/clients/process-watch.js';
import { waitFor } from './support/harness.js';

let watch: ProcessWatch | undefined;
const children: ChildProcess[] = [];

afterEach(() => {
  watch?.close();
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function sleeper(): { pid: number; startTime: bigint; child: ChildProcess } {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error('sleep did not start');
  const stat = readProcStat(pid);
  if (stat === undefined) throw new Error('sleep is not running');
  return { pid, startTime: stat.startTime, child };
}

describe('ProcessWatch incarnations', () => {
  it('watches pid + start time, refuses another start time, and reports the exit to every handler', async () => {
    watch = new ProcessWatch();
    const { pid, startTime, child } = sleeper();
    const exits: string[] = [];
    expect(watch.watchIncarnation(pid, startTime, () => exits.push('connection'))).toBe(true);
    expect(watch.watchIncarnation(pid, startTime, () => exits.push('lease'))).toBe(true);
    expect(watch.watchIncarnation(pid, startTime + 1n, () => exits.push('other'))).toBe(false);
    expect(watch.isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor('both exits reported', () => (exits.length === 2 ? true : undefined), 5000);
    expect(exits.sort()).toEqual(['connection', 'lease']);
    expect(watch.isAlive(pid)).toBe(false);
    expect(watch.watchIncarnation(pid, startTime, () => exits.push('late'))).toBe(false);
  });

  it('an incarnation watched first without a start time is checked against /proc', () => {
    watch = new ProcessWatch();
    const { pid, startTime } = sleeper();
    expect(watch.watchIncarnation(pid, startTime - 1n, () => undefined)).toBe(false);
    expect(watch.watchIncarnation(pid, startTime, () => undefined)).toBe(true);
    expect(watch.isAlive(pid)).toBe(true);
  });

  it('a wrong start time neither labels nor drops a pidfd that another watcher holds', async () => {
    watch = new ProcessWatch();
    const { pid, startTime, child } = sleeper();
    const exits: string[] = [];
    expect(watch.watch(pid, () => exits.push('plain'))).toBe(true);
    expect(watch.watchIncarnation(pid, startTime + 7n, () => exits.push('wrong'))).toBe(false);
    expect(watch.isAlive(pid)).toBe(true);
    expect(watch.watchIncarnation(pid, startTime, () => exits.push('right'))).toBe(true);
    child.kill('SIGKILL');
    await waitFor('both exits reported', () => (exits.length === 2 ? true : undefined), 5000);
    expect(exits.sort()).toEqual(['plain', 'right']);
  });
});

/**
 * Freeing the chaos run's PV loop device. LVs still active when the cluster stops (a host reset in
 * the run's last seconds, a deactivation the kernel took late) are loop devices stacked on it; a
 * `losetup -d` of the PV alone would leave those attached after the run, so they go first.
 */
import { spawnSync } from 'node:child_process';

/** Loop devices one run can stack on its PV: more than every LV of the largest run. */
const MAX_STACKED_LOOPS = 256;
const DETACH_ROUNDS = 20;
const DETACH_PAUSE_MS = 100;

/** The loop devices whose backing file is `pvPath` (the LVs' devices of the loop backend). */
function stackedOn(pvPath: string): string[] {
  const out = spawnSync('losetup', ['-j', pvPath, '-O', 'NAME', '-n'], { encoding: 'utf8' });
  if (out.status !== 0) return [];
  return out.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith('/dev/loop'))
    .slice(0, MAX_STACKED_LOOPS);
}

/** Detaches the loop devices stacked on `pvPath`, then `pvPath` itself; returns what stayed attached. */
export function detachPvLoop(pvPath: string): string[] {
  for (let round = 0; round < DETACH_ROUNDS; round++) {
    const stacked = stackedOn(pvPath);
    if (stacked.length === 0) break;
    for (const device of stacked) spawnSync('losetup', ['-d', device]);
    // The kernel may take a moment to let go of a device still being closed.
    spawnSync('sleep', [String(DETACH_PAUSE_MS / 1000)]);
  }
  const left = stackedOn(pvPath);
  spawnSync('losetup', ['-d', pvPath]);
  return left;
}

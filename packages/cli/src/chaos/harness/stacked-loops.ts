/**
 * Loop devices stacked on the run's PV (the hosts' LV mappings through the loop backend) that are
 * still attached after the cluster stopped: a mapping whose device_dir link was never made or already
 * removed is not detached by the host's power-off, and it keeps the PV's own loop device busy. Found by
 * the backing file's device and inode (`losetup -a` shows the path as seen in the host's namespace).
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';

/** `/dev/loopN: [DDDD]:INODE (path)...` */
const LOSETUP_LINE = /^(\/dev\/loop\d+): \[([0-9a-f]+)\]:(\d+) /;

/** Detaches every loop device backed by `pvPath`; returns the ones detached. */
export function detachStackedLoops(pvPath: string): string[] {
  let pv: { dev: number; ino: number };
  try {
    pv = statSync(pvPath);
  } catch {
    return [];
  }
  const listed = spawnSync('losetup', ['-a'], { encoding: 'utf8' });
  const detached: string[] = [];
  for (const line of (listed.stdout ?? '').split('\n')) {
    const match = LOSETUP_LINE.exec(line);
    if (match === null || Number.parseInt(match[2] ?? '', 16) !== pv.dev || Number(match[3]) !== pv.ino) continue;
    const device = match[1] ?? '';
    if (spawnSync('losetup', ['-d', device]).status === 0) detached.push(device);
  }
  return detached;
}

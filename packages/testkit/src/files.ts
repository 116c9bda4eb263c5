/** Temporary disk images and loop devices for tests. */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempImage {
  dir: string;
  path: string;
  cleanup(): void;
}

/** A sparse, zero-filled image file of `sizeBytes`. */
export function makeTempImage(sizeBytes: number, name = 'disk.img'): TempImage {
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-test-'));
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, sizeBytes);
  closeSync(fd);
  return { dir, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Attaches `imagePath` to a loop device with the given logical sector size; returns /dev/loopN. */
export function attachLoop(imagePath: string, sectorSize: 512 | 4096): string {
  return execFileSync('losetup', ['-f', '--show', '--sector-size', String(sectorSize), '--direct-io=on', imagePath], {
    encoding: 'utf8',
  }).trim();
}

export function detachLoop(device: string): void {
  execFileSync('losetup', ['-d', device]);
}

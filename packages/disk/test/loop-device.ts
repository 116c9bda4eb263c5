/**
 * Loop devices for tests. Failures throw (never skip): these tests exist to prove the O_DIRECT path
 * on real block devices, so a machine that cannot make loop devices must fail them loudly.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface LoopDevice {
  devicePath: string;
  imagePath: string;
  sectorSize: number;
  sizeBytes: number;
  detach(): void;
}

export function attachLoopDevice(sectorSize: 512 | 4096, sizeBytes: number): LoopDevice {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'leasehold-loop-'));
  const imagePath = path.join(directory, `disk-${sectorSize}.img`);
  fs.writeFileSync(imagePath, new Uint8Array(0));
  fs.truncateSync(imagePath, sizeBytes);
  let devicePath: string;
  try {
    devicePath = execFileSync(
      'losetup',
      ['-f', '--show', '--sector-size', String(sectorSize), '--direct-io=on', imagePath],
      {
        encoding: 'utf8',
      },
    ).trim();
  } catch (error) {
    fs.rmSync(directory, { recursive: true, force: true });
    throw new Error(`losetup failed: loop devices are required for these tests: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let detached = false;
  return {
    devicePath,
    imagePath,
    sectorSize,
    sizeBytes,
    detach() {
      if (detached) return;
      detached = true;
      execFileSync('losetup', ['-d', devicePath]);
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A sparse regular file of `sizeBytes` in a fresh temporary directory. */
export function makeImageFile(sizeBytes: number, name = 'disk.img'): { imagePath: string; remove(): void } {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'leasehold-file-'));
  const imagePath = path.join(directory, name);
  fs.writeFileSync(imagePath, new Uint8Array(0));
  fs.truncateSync(imagePath, sizeBytes);
  return { imagePath, remove: () => fs.rmSync(directory, { recursive: true, force: true }) };
}

/** `sectorCount` sectors filled with a recognisable pattern derived from `seed`. */
export function patternSectors(sectorSize: number, sectorCount: number, seed: number): Uint8Array {
  const data = new Uint8Array(sectorSize * sectorCount);
  for (let i = 0; i < data.length; i++) data[i] = (seed * 31 + i * 7 + (i >> 9)) & 0xff;
  return data;
}

/** Opens the device named on the command line with O_DIRECT, mapping failures to CLI errors. */
import type { Disk } from '@leasehold/disk';
import { openDirectDisk } from '@leasehold/disk/direct';
import { CliError } from './cli-error.js';

export async function openDevice(path: string, options: { write: boolean }): Promise<Disk> {
  try {
    return await openDirectDisk(path, { readOnly: !options.write });
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'EOPEN';
    throw new CliError('DEVICE_OPEN', `cannot open ${path}: ${(error as Error).message} (${code})`);
  }
}

/** Checks that [offsetBytes, offsetBytes+lengthBytes) lies on the device. */
export function checkFits(disk: Disk, offsetBytes: number, lengthBytes: number, what: string): void {
  if (offsetBytes + lengthBytes > disk.sizeBytes) {
    throw new CliError(
      'DEVICE_TOO_SMALL',
      `${what} needs bytes ${offsetBytes}..${offsetBytes + lengthBytes - 1} but ${disk.path} has only ${disk.sizeBytes} bytes`,
    );
  }
}

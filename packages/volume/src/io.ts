/** Byte-range reads and writes over a Disk (whole sectors underneath; read-modify-write at unaligned edges). */
import { type Disk, DiskError } from '@leasehold/disk';
import { VolumeError } from './errors.js';

/** Disk errors become IO_ERROR naming the device, the operation and the offset. */
async function io<T>(disk: Disk, what: string, offsetBytes: number, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof DiskError)
      throw new VolumeError(
        'IO_ERROR',
        `${what} failed on ${disk.path} at offset ${offsetBytes}: ${error.message}`,
        disk.path,
        { cause: error },
      );
    throw error;
  }
}

function alignDown(n: number, to: number): number {
  return Math.floor(n / to) * to;
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Reads `lengthBytes` at any byte offset. */
export async function readBytes(disk: Disk, offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
  if (lengthBytes === 0) return new Uint8Array(0);
  const start = alignDown(offsetBytes, disk.sectorSize);
  const end = alignUp(offsetBytes + lengthBytes, disk.sectorSize);
  const data = await io(disk, 'Read', start, () => disk.read(start, end - start));
  return data.subarray(offsetBytes - start, offsetBytes - start + lengthBytes);
}

/**
 * Writes `data` at any byte offset. Where the range does not cover whole sectors (512-byte LVM
 * structures on a 4096-byte-sector disk) the edge sectors are read first, as lvm does.
 */
export async function writeBytes(disk: Disk, offsetBytes: number, data: Uint8Array): Promise<void> {
  const size = disk.sectorSize;
  const start = alignDown(offsetBytes, size);
  const end = alignUp(offsetBytes + data.length, size);
  if (start === offsetBytes && end === offsetBytes + data.length) {
    await io(disk, 'Write', offsetBytes, () => disk.write(offsetBytes, data));
    return;
  }
  const buffer = await io(disk, 'Read', start, () => disk.read(start, end - start));
  const copy = new Uint8Array(buffer.length);
  copy.set(buffer);
  copy.set(data, offsetBytes - start);
  await io(disk, 'Write', start, () => disk.write(start, copy));
}

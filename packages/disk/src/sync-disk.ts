import type { Disk } from './disk.js';

/**
 * The synchronous form of Disk, for code that runs each device's I/O in its own worker thread
 * (a hung device then blocks only that worker, not libuv's shared threadpool).
 * Same invariants as Disk; errors are thrown DiskErrors.
 */
export interface SyncDisk {
  readonly path: string;
  readonly sectorSize: number;
  readonly sizeBytes: number;
  /** Reads `lengthBytes` at `offsetBytes` into a fresh buffer the caller owns. */
  readSync(offsetBytes: number, lengthBytes: number): Uint8Array;
  /** Optional: Disk.readInto, synchronously. */
  readIntoSync?(offsetBytes: number, target: Uint8Array): void;
  writeSync(offsetBytes: number, data: Uint8Array): void;
  closeSync(): void;
}

/**
 * Adapts a SyncDisk to the async Disk interface. The work still happens synchronously on the calling
 * thread; only the result is delivered as a promise (errors become rejections, never throws).
 */
export function asyncFromSync(disk: SyncDisk): Disk {
  const readIntoSync = disk.readIntoSync?.bind(disk);
  return {
    get path() {
      return disk.path;
    },
    get sectorSize() {
      return disk.sectorSize;
    },
    get sizeBytes() {
      return disk.sizeBytes;
    },
    read: (offsetBytes, lengthBytes) => settle(() => disk.readSync(offsetBytes, lengthBytes)),
    ...(readIntoSync === undefined
      ? {}
      : { readInto: (offsetBytes: number, target: Uint8Array) => settle(() => readIntoSync(offsetBytes, target)) }),
    write: (offsetBytes, data) => settle(() => disk.writeSync(offsetBytes, data)),
    close: () => settle(() => disk.closeSync()),
  };
}

/** Runs `work` now and returns its outcome as a promise. */
export function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}

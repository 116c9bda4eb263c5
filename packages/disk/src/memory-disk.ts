import { checkIo, type Disk, DiskError } from './disk.js';
import { isSupportedSectorSize } from './constants.js';
import { settle, type SyncDisk } from './sync-disk.js';

export interface MemoryDiskOptions {
  /** Logical sector size: 512 (default) or 4096. */
  sectorSize?: number;
  sizeBytes: number;
  /** Name used as `path` in errors. */
  name?: string;
  /** Initial contents (copied); zero-filled when absent. Its length must equal `sizeBytes`. */
  initialBytes?: Uint8Array;
}

const DEFAULT_SECTOR_SIZE = 512;

/**
 * A disk in memory for tests and the simulator. Every write lands at once and whole, so single- and
 * multi-sector writes are atomic here; use FaultyDisk on top to get tearing, latency and errors.
 */
export class MemoryDisk implements Disk, SyncDisk {
  readonly path: string;
  readonly sectorSize: number;
  readonly sizeBytes: number;
  private readonly bytes: Uint8Array;
  private closed = false;

  constructor(options: MemoryDiskOptions) {
    this.path = options.name ?? 'memory';
    this.sectorSize = options.sectorSize ?? DEFAULT_SECTOR_SIZE;
    this.sizeBytes = options.sizeBytes;
    if (!isSupportedSectorSize(this.sectorSize)) {
      throw new DiskError('EGEOMETRY', `unsupported sector size ${this.sectorSize}`, this.path);
    }
    if (!Number.isSafeInteger(this.sizeBytes) || this.sizeBytes <= 0 || this.sizeBytes % this.sectorSize !== 0) {
      throw new DiskError(
        'EGEOMETRY',
        `size ${this.sizeBytes} is not a positive multiple of ${this.sectorSize}`,
        this.path,
      );
    }
    if (options.initialBytes !== undefined && options.initialBytes.byteLength !== this.sizeBytes) {
      throw new DiskError(
        'EGEOMETRY',
        `initial contents are ${options.initialBytes.byteLength} bytes, expected ${this.sizeBytes}`,
        this.path,
      );
    }
    this.bytes = options.initialBytes === undefined ? new Uint8Array(this.sizeBytes) : options.initialBytes.slice();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  readSync(offsetBytes: number, lengthBytes: number): Uint8Array {
    this.checkOpen(offsetBytes, lengthBytes);
    checkIo(this, offsetBytes, lengthBytes);
    return this.bytes.slice(offsetBytes, offsetBytes + lengthBytes);
  }

  writeSync(offsetBytes: number, data: Uint8Array): void {
    this.checkOpen(offsetBytes, data.byteLength);
    checkIo(this, offsetBytes, data.byteLength);
    this.bytes.set(data, offsetBytes);
  }

  closeSync(): void {
    this.closed = true;
  }

  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    return settle(() => this.readSync(offsetBytes, lengthBytes));
  }

  write(offsetBytes: number, data: Uint8Array): Promise<void> {
    return settle(() => this.writeSync(offsetBytes, data));
  }

  close(): Promise<void> {
    return settle(() => this.closeSync());
  }

  /** A copy of the bytes in a range (any alignment), readable even after close, for assertions. */
  snapshot(offsetBytes = 0, lengthBytes = this.sizeBytes - offsetBytes): Uint8Array {
    return this.bytes.slice(offsetBytes, offsetBytes + lengthBytes);
  }

  /** Sets bytes directly (any alignment, no I/O rules): for planting corruption or fixtures in tests. */
  overwrite(offsetBytes: number, data: Uint8Array): void {
    if (offsetBytes < 0 || offsetBytes + data.byteLength > this.sizeBytes) {
      throw new DiskError(
        'ERANGE',
        `overwrite at ${offsetBytes} of ${data.byteLength} bytes is outside the disk`,
        this.path,
        offsetBytes,
        data.byteLength,
      );
    }
    this.bytes.set(data, offsetBytes);
  }

  private checkOpen(offsetBytes: number, lengthBytes: number): void {
    if (this.closed) throw new DiskError('ECLOSED', 'disk is closed', this.path, offsetBytes, lengthBytes);
  }
}

// Default import on purpose: calls go through the fs module object, so tests can observe the syscalls.
import fs from 'node:fs';
import { checkIo, type Disk, DiskError, type DiskErrorCode } from './disk.js';
import { assertDirectIoAligned, directIoBuffer } from './aligned-buffer.js';
import { bufferAddress } from '@leasehold/native';
import { chooseSectorSize, type DeviceGeometry, geometryOfFd } from './geometry.js';
import { settle, type SyncDisk } from './sync-disk.js';

export interface DirectDiskOptions {
  /** Sector size to do I/O in: 512 or 4096. Default: the device's logical sector size (512 for files). */
  sectorSize?: number;
  /** Open O_RDONLY; writes then fail with EIO. */
  readOnly?: boolean;
  /** Open with O_DSYNC so a completed write is on stable storage (default true). */
  sync?: boolean;
}

/**
 * The aligned buffer every DirectDisk of this thread does its I/O through, grown (never shrunk) to
 * the largest I/O. One per thread (module state is per isolate), not one per disk: a lane with ten
 * lockspaces on ten devices would otherwise keep ten megabyte buffers (a delta-lease area read is
 * 1 MiB). Sharing is safe because every I/O is synchronous and its bytes are copied out (or in)
 * before it returns: no caller ever holds a view of this buffer.
 */
let threadIoBuffer: Buffer | undefined;

function ioBufferOf(lengthBytes: number): Buffer {
  if (threadIoBuffer === undefined || threadIoBuffer.byteLength < lengthBytes)
    threadIoBuffer = directIoBuffer(lengthBytes);
  assertDirectIoAligned(threadIoBuffer);
  return threadIoBuffer;
}

/**
 * A file or block device opened with O_DIRECT: no page cache, so a completed write is visible to
 * every other opener (other hosts on a shared LUN) and a read sees the device, not a stale cache.
 *
 * I/O is synchronous (readSync/writeSync) through one 4096-aligned buffer per thread; the async
 * methods run the same code and return a settled promise. Put each device in its own worker thread
 * so a hung device stalls only that thread: async fs would queue on libuv's four shared threads.
 */
export class DirectDisk implements Disk, SyncDisk {
  readonly sectorSize: number;
  readonly sizeBytes: number;
  private closed = false;

  private constructor(
    readonly path: string,
    /** The O_DIRECT descriptor (for diagnostics and tests; do not do I/O on it yourself). */
    readonly fd: number,
    readonly geometry: DeviceGeometry,
    readonly readOnly: boolean,
    sectorSize: number,
  ) {
    this.sectorSize = sectorSize;
    // A trailing partial sector is unusable for whole-sector I/O.
    this.sizeBytes = Math.floor(geometry.sizeBytes / sectorSize) * sectorSize;
    if (this.sizeBytes === 0) {
      throw new DiskError('EGEOMETRY', `${path} is smaller than one ${sectorSize}-byte sector`, path);
    }
    ioBufferOf(sectorSize);
  }

  /** Opens `path` for O_DIRECT I/O. Throws DiskError EOPEN or EGEOMETRY. */
  static openSync(path: string, options: DirectDiskOptions = {}): DirectDisk {
    const readOnly = options.readOnly ?? false;
    const flags =
      (readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) |
      fs.constants.O_DIRECT |
      (!readOnly && (options.sync ?? true) ? fs.constants.O_DSYNC : 0);
    let fd: number;
    try {
      fd = fs.openSync(path, flags);
    } catch (error) {
      throw new DiskError(
        'EOPEN',
        `cannot open ${path} for direct I/O: ${(error as Error).message}`,
        path,
        undefined,
        undefined,
        {
          cause: error,
        },
      );
    }
    try {
      const geometry = geometryOfFd(fd, path, { fileSectorSize: options.sectorSize });
      return new DirectDisk(path, fd, geometry, readOnly, chooseSectorSize(geometry, path, options.sectorSize));
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  /** Address of the buffer I/O goes through (always a multiple of 4096), for alignment checks. */
  get ioBufferAddress(): number {
    return bufferAddress(ioBufferOf(this.sectorSize));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  readSync(offsetBytes: number, lengthBytes: number): Uint8Array {
    return new Uint8Array(this.readToIoBuffer(offsetBytes, lengthBytes)); // a copy: the I/O buffer is reused
  }

  /** Into the caller's buffer (Disk.readInto): no buffer is left behind for the garbage collector. */
  readIntoSync(offsetBytes: number, target: Uint8Array): void {
    target.set(this.readToIoBuffer(offsetBytes, target.byteLength));
  }

  /** The bytes read, in the thread's I/O buffer: valid until the next I/O of any DirectDisk of this thread. */
  private readToIoBuffer(offsetBytes: number, lengthBytes: number): Uint8Array {
    this.checkOpen(offsetBytes, lengthBytes);
    checkIo(this, offsetBytes, lengthBytes);
    const buffer = this.bufferFor(lengthBytes);
    let doneBytes: number;
    try {
      doneBytes = fs.readSync(this.fd, buffer, 0, lengthBytes, offsetBytes);
    } catch (error) {
      throw this.systemError(error, 'read', offsetBytes, lengthBytes);
    }
    if (doneBytes !== lengthBytes) {
      throw new DiskError(
        'EIO',
        `short read: ${doneBytes} of ${lengthBytes} bytes at offset ${offsetBytes}`,
        this.path,
        offsetBytes,
        lengthBytes,
      );
    }
    return buffer.subarray(0, lengthBytes);
  }

  writeSync(offsetBytes: number, data: Uint8Array): void {
    const lengthBytes = data.byteLength;
    this.checkOpen(offsetBytes, lengthBytes);
    checkIo(this, offsetBytes, lengthBytes);
    if (this.readOnly) {
      throw new DiskError('EIO', `${this.path} is open read-only`, this.path, offsetBytes, lengthBytes);
    }
    const buffer = this.bufferFor(lengthBytes);
    buffer.set(data, 0);
    let doneBytes: number;
    try {
      doneBytes = fs.writeSync(this.fd, buffer, 0, lengthBytes, offsetBytes);
    } catch (error) {
      throw this.systemError(error, 'write', offsetBytes, lengthBytes);
    }
    if (doneBytes !== lengthBytes) {
      throw new DiskError(
        'EIO',
        `short write: ${doneBytes} of ${lengthBytes} bytes at offset ${offsetBytes}`,
        this.path,
        offsetBytes,
        lengthBytes,
      );
    }
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }

  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array> {
    return settle(() => this.readSync(offsetBytes, lengthBytes));
  }

  readInto(offsetBytes: number, target: Uint8Array): Promise<void> {
    return settle(() => this.readIntoSync(offsetBytes, target));
  }

  write(offsetBytes: number, data: Uint8Array): Promise<void> {
    return settle(() => this.writeSync(offsetBytes, data));
  }

  close(): Promise<void> {
    return settle(() => this.closeSync());
  }

  /** The thread's aligned I/O buffer, grown (never shrunk) to hold `lengthBytes`. */
  private bufferFor(lengthBytes: number): Buffer {
    return ioBufferOf(lengthBytes);
  }

  private checkOpen(offsetBytes: number, lengthBytes: number): void {
    if (this.closed) throw new DiskError('ECLOSED', `${this.path} is closed`, this.path, offsetBytes, lengthBytes);
  }

  private systemError(error: unknown, operation: string, offsetBytes: number, lengthBytes: number): DiskError {
    const systemCode = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    const message = `${operation} of ${lengthBytes} bytes at offset ${offsetBytes} failed: ${systemCode}`;
    return new DiskError(diskCodeFor(systemCode), message, this.path, offsetBytes, lengthBytes, { cause: error });
  }
}

/** Maps an errno name from the kernel to the Disk error vocabulary. */
function diskCodeFor(systemCode: string): DiskErrorCode {
  switch (systemCode) {
    case 'EINVAL': // O_DIRECT refused the alignment: the device needs larger sectors than we use
      return 'EALIGN';
    case 'ENXIO':
    case 'ENOSPC':
    case 'EFBIG':
      return 'ERANGE';
    case 'ETIMEDOUT':
      return 'ETIMEDOUT';
    case 'EBADF':
      return 'ECLOSED';
    default:
      return 'EIO';
  }
}

/** Opens a DirectDisk (see DirectDisk.openSync); the async form for event-loop callers. */
export function openDirectDisk(path: string, options: DirectDiskOptions = {}): Promise<DirectDisk> {
  return settle(() => DirectDisk.openSync(path, options));
}

/** Opens a DirectDisk synchronously, for worker threads. */
export function openDirectDiskSync(path: string, options: DirectDiskOptions = {}): DirectDisk {
  return DirectDisk.openSync(path, options);
}

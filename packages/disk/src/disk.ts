/**
 * The Disk interface: the only way lease code touches storage.
 *
 * Invariants every implementation keeps:
 * - offsets and lengths are multiples of `sectorSize` (the device's logical sector size);
 *   anything else is rejected with DiskError code 'EALIGN' before any I/O.
 * - a write of one sector is atomic (all or nothing); a multi-sector write may tear.
 * - a completed write is durable and visible to every other reader of the device (no cache).
 * - reads never extend past `sizeBytes` ('ERANGE').
 */
export interface Disk {
  /** Where the disk lives, for messages (a path, or a name for in-memory disks). */
  readonly path: string;
  /** Logical sector size of the device in bytes (512 or 4096). */
  readonly sectorSize: number;
  /** Usable size of the device in bytes. */
  readonly sizeBytes: number;
  /** Reads `lengthBytes` starting at `offsetBytes`. The result is a fresh buffer the caller owns. */
  read(offsetBytes: number, lengthBytes: number): Promise<Uint8Array>;
  /**
   * Optional: reads `target.byteLength` bytes at `offsetBytes` into `target`, a buffer the caller
   * keeps and reuses. For large reads repeated for ever (a renewal reads the whole 1 MiB lockspace
   * area every 2 x io_timeout): a fresh buffer per read leaves megabytes of dead ones behind until
   * the next garbage collection. Callers fall back to read() where it is absent.
   */
  readInto?(offsetBytes: number, target: Uint8Array): Promise<void>;
  /** Writes `data` (whole sectors) at `offsetBytes`. */
  write(offsetBytes: number, data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export type DiskErrorCode =
  | 'EALIGN' // offset or length not a multiple of the sector size
  | 'ERANGE' // I/O past the end of the device
  | 'EIO' // the device reported an I/O error
  | 'ETIMEDOUT' // the I/O did not complete within its timeout
  | 'ECLOSED' // the disk was closed
  | 'EOPEN' // the device could not be opened
  | 'EGEOMETRY'; // size or sector size could not be determined or is unusable

export class DiskError extends Error {
  override readonly name = 'DiskError';
  constructor(
    readonly code: DiskErrorCode,
    message: string,
    readonly path: string,
    readonly offsetBytes?: number,
    readonly lengthBytes?: number,
    options?: ErrorOptions, // `cause`: the underlying system error, when there is one
  ) {
    super(message, options);
  }
}

/** Throws EALIGN/ERANGE for a request that breaks the Disk invariants. */
export function checkIo(
  disk: Pick<Disk, 'path' | 'sectorSize' | 'sizeBytes'>,
  offsetBytes: number,
  lengthBytes: number,
): void {
  if (!Number.isSafeInteger(offsetBytes) || !Number.isSafeInteger(lengthBytes) || offsetBytes < 0 || lengthBytes <= 0) {
    throw new DiskError(
      'EALIGN',
      `invalid I/O offset ${offsetBytes} length ${lengthBytes}`,
      disk.path,
      offsetBytes,
      lengthBytes,
    );
  }
  if (offsetBytes % disk.sectorSize !== 0 || lengthBytes % disk.sectorSize !== 0) {
    throw new DiskError(
      'EALIGN',
      `I/O at offset ${offsetBytes} length ${lengthBytes} is not aligned to the ${disk.sectorSize}-byte sector size`,
      disk.path,
      offsetBytes,
      lengthBytes,
    );
  }
  if (offsetBytes + lengthBytes > disk.sizeBytes) {
    throw new DiskError(
      'ERANGE',
      `I/O at offset ${offsetBytes} length ${lengthBytes} goes past the end of the device (${disk.sizeBytes} bytes)`,
      disk.path,
      offsetBytes,
      lengthBytes,
    );
  }
}

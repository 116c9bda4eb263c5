import * as fs from 'node:fs';
import { blockDeviceGeometry } from '@leasehold/native';
import { DiskError } from './disk.js';
import { splitDeviceNumber } from './device-number.js';
import { DEFAULT_FILE_SECTOR_SIZE, isSupportedSectorSize, SYSFS_SIZE_UNIT_BYTES } from './constants.js';

export type DeviceKind = 'file' | 'block';

export interface DeviceGeometry {
  kind: DeviceKind;
  sizeBytes: number;
  /** Smallest unit the device accepts for O_DIRECT I/O (for files: 512 unless the caller says). */
  logicalSectorSize: number;
  /** Unit the device writes atomically underneath (for files: the filesystem's preferred I/O size). */
  physicalSectorSize: number;
}

export interface ProbeOptions {
  /** For regular files: the logical sector size to assume (default 512). Ignored for block devices. */
  fileSectorSize?: number;
}

/** Geometry of a file or block device by path. Throws DiskError EOPEN or EGEOMETRY. */
export function probeDevice(path: string, options: ProbeOptions = {}): DeviceGeometry {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY);
  } catch (error) {
    throw new DiskError('EOPEN', `cannot open ${path}: ${(error as Error).message}`, path, undefined, undefined, {
      cause: error,
    });
  }
  try {
    return geometryOfFd(fd, path, options);
  } finally {
    fs.closeSync(fd);
  }
}

/** Geometry of an open descriptor: fstat for files; BLK* ioctls, else sysfs, for block devices. */
export function geometryOfFd(fd: number, path: string, options: ProbeOptions = {}): DeviceGeometry {
  const stat = fs.fstatSync(fd, { bigint: true });
  if (stat.isFile()) {
    const logicalSectorSize = options.fileSectorSize ?? DEFAULT_FILE_SECTOR_SIZE;
    return {
      kind: 'file',
      sizeBytes: Number(stat.size),
      logicalSectorSize,
      physicalSectorSize: Math.max(logicalSectorSize, Number(stat.blksize)),
    };
  }
  if (!stat.isBlockDevice()) {
    throw new DiskError('EGEOMETRY', `${path} is neither a regular file nor a block device`, path);
  }
  try {
    return { kind: 'block', ...blockDeviceGeometry(fd) };
  } catch (ioctlError) {
    // Some drivers refuse the ioctls; sysfs carries the same numbers.
    const { major, minor } = splitDeviceNumber(stat.rdev);
    try {
      return { kind: 'block', ...sysfsBlockGeometry(major, minor) };
    } catch (sysfsError) {
      throw new DiskError(
        'EGEOMETRY',
        `cannot read the geometry of ${path} (ioctl and sysfs both failed)`,
        path,
        undefined,
        undefined,
        {
          cause: new AggregateError([ioctlError, sysfsError]),
        },
      );
    }
  }
}

/** Size and sector sizes of block device MAJOR:MINOR from /sys/dev/block. */
export function sysfsBlockGeometry(major: number, minor: number): Omit<DeviceGeometry, 'kind'> {
  const deviceDir = `/sys/dev/block/${major}:${minor}`;
  // A partition has no queue/ of its own: its parent disk's applies.
  const queueDir = fs.existsSync(`${deviceDir}/queue`) ? `${deviceDir}/queue` : `${deviceDir}/../queue`;
  return {
    sizeBytes: readSysfsInteger(`${deviceDir}/size`) * SYSFS_SIZE_UNIT_BYTES,
    logicalSectorSize: readSysfsInteger(`${queueDir}/logical_block_size`),
    physicalSectorSize: readSysfsInteger(`${queueDir}/physical_block_size`),
  };
}

export { splitDeviceNumber } from './device-number.js';

/**
 * The sector size to do I/O with: the caller's choice if it is supported and the device accepts it,
 * else the device's logical sector size. Throws EGEOMETRY if unusable.
 */
export function chooseSectorSize(geometry: DeviceGeometry, path: string, requested?: number): number {
  const sectorSize = requested ?? geometry.logicalSectorSize;
  if (!isSupportedSectorSize(sectorSize)) {
    throw new DiskError('EGEOMETRY', `sector size ${sectorSize} of ${path} is not supported (512 or 4096)`, path);
  }
  if (sectorSize < geometry.logicalSectorSize || sectorSize % geometry.logicalSectorSize !== 0) {
    throw new DiskError(
      'EGEOMETRY',
      `sector size ${sectorSize} is smaller than the ${geometry.logicalSectorSize}-byte logical sectors of ${path}`,
      path,
    );
  }
  return sectorSize;
}

function readSysfsInteger(file: string): number {
  const text = fs.readFileSync(file, 'utf8').trim();
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`unexpected contents ${JSON.stringify(text)} in ${file}`);
  return value;
}

/** Logical sector sizes leasehold supports (the two sanlock supports). */
export const SUPPORTED_SECTOR_SIZES = [512, 4096] as const;

/** Sector size assumed for a regular file when the caller does not give one (sanlock's default). */
export const DEFAULT_FILE_SECTOR_SIZE = 512;

/** Every O_DIRECT buffer is aligned to this: it covers both 512- and 4096-byte logical sectors. */
export const IO_BUFFER_ALIGNMENT_BYTES = 4096;

/** sysfs reports a block device's size in units of 512 bytes, whatever its sector size. */
export const SYSFS_SIZE_UNIT_BYTES = 512;

export function isSupportedSectorSize(sectorSize: number): boolean {
  return (SUPPORTED_SECTOR_SIZES as readonly number[]).includes(sectorSize);
}

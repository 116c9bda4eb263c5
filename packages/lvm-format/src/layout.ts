/** pvcreate's layout math (spec 4.1, 4.2): mda1, pe_start, mda2 at the end, pe_count. */
import {
  DEFAULT_DATA_ALIGNMENT_BYTES,
  DEFAULT_MDA1_START_BYTES,
  DEFAULT_MDA_SIZE_SECTORS,
  MIN_MDA_SIZE_BYTES,
  MIN_PV_SIZE_BYTES,
  SECTOR_SIZE_BYTES,
} from './constants.js';
import { LvmFormatError } from './errors.js';
import type { DiskLocn } from './label.js';

export interface PvLayoutOptions {
  deviceSizeBytes: number;
  /** 0, 1 or 2 (default 1). */
  metadataCopies?: number;
  /** Requested mda size (default 2040 sectors). */
  metadataSizeBytes?: number;
  /** Data alignment (default 1 MiB). */
  dataAlignmentBytes?: number;
  /** Keep this pe_start (pvcreate --restorefile): sectors. */
  peStartSectors?: number;
}

export interface PvLayout {
  peStartBytes: number;
  metadataAreas: DiskLocn[];
  /** Bytes at the end of the device used by mda2 (0 without it). */
  mda2SizeBytes: number;
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function alignDown(n: number, to: number): number {
  return Math.floor(n / to) * to;
}

export function pvLayout(options: PvLayoutOptions): PvLayout {
  const copies = options.metadataCopies ?? 1;
  const requested = options.metadataSizeBytes ?? DEFAULT_MDA_SIZE_SECTORS * SECTOR_SIZE_BYTES;
  const alignment = options.dataAlignmentBytes ?? DEFAULT_DATA_ALIGNMENT_BYTES;
  const device = options.deviceSizeBytes;
  if (![0, 1, 2].includes(copies))
    throw new LvmFormatError('BAD_LAYOUT', `Metadata copies must be 0, 1 or 2 (got ${copies})`);
  if (alignment <= 0 || alignment % SECTOR_SIZE_BYTES !== 0)
    throw new LvmFormatError(
      'BAD_LAYOUT',
      `Data alignment ${alignment} must be a positive multiple of ${SECTOR_SIZE_BYTES}`,
    );
  if (copies > 0 && requested < MIN_MDA_SIZE_BYTES) {
    throw new LvmFormatError(
      'BAD_LAYOUT',
      `Metadata size ${requested} is below the minimum of ${MIN_MDA_SIZE_BYTES} bytes`,
    );
  }
  if (device < MIN_PV_SIZE_BYTES)
    throw new LvmFormatError(
      'BAD_LAYOUT',
      `Device is smaller than the minimum PV size of ${MIN_PV_SIZE_BYTES / 1024} KiB`,
    );
  const metadataAreas: DiskLocn[] = [];
  let peStartBytes: number;
  if (copies === 0) {
    peStartBytes = alignment;
  } else {
    peStartBytes = alignUp(DEFAULT_MDA1_START_BYTES + requested, alignment);
    metadataAreas.push({ offsetBytes: DEFAULT_MDA1_START_BYTES, sizeBytes: peStartBytes - DEFAULT_MDA1_START_BYTES });
  }
  if (options.peStartSectors !== undefined) {
    peStartBytes = options.peStartSectors * SECTOR_SIZE_BYTES;
    const mda1 = metadataAreas[0];
    if (mda1 !== undefined) {
      if (peStartBytes <= DEFAULT_MDA1_START_BYTES + MIN_MDA_SIZE_BYTES / 2)
        throw new LvmFormatError('BAD_LAYOUT', `pe_start ${options.peStartSectors} leaves no room for a metadata area`);
      mda1.sizeBytes = peStartBytes - DEFAULT_MDA1_START_BYTES;
    }
  }
  let mda2SizeBytes = 0;
  if (copies === 2) {
    const start = alignDown(device - requested, alignment);
    mda2SizeBytes = device - start;
    if (start <= peStartBytes) throw new LvmFormatError('BAD_LAYOUT', 'Device is too small for two metadata areas');
    metadataAreas.push({ offsetBytes: start, sizeBytes: mda2SizeBytes });
  }
  if (peStartBytes + mda2SizeBytes >= device)
    throw new LvmFormatError('BAD_LAYOUT', 'Device is too small for its metadata areas');
  return { peStartBytes, metadataAreas, mda2SizeBytes };
}

/** Extents a PV holds: floor((dev_size - pe_start - mda2) / extent_size). */
export function peCountFor(
  deviceSizeBytes: number,
  peStartBytes: number,
  mda2SizeBytes: number,
  extentSizeSectors: number,
): number {
  const usable = deviceSizeBytes - peStartBytes - mda2SizeBytes;
  return usable <= 0 ? 0 : Math.floor(usable / (extentSizeSectors * SECTOR_SIZE_BYTES));
}

/** Bytes at the end of the device taken by an mda that ends exactly at the end (mda2), or 0. */
export function tailMdaBytes(metadataAreas: DiskLocn[], deviceSizeBytes: number, peStartBytes: number): number {
  let tail = 0;
  for (const mda of metadataAreas)
    if (mda.offsetBytes > peStartBytes) tail = Math.max(tail, deviceSizeBytes - mda.offsetBytes);
  return tail;
}

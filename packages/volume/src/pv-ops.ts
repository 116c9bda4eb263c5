/** pvcreate and pvremove as lvm writes them (spec 4.3). Signature checks (blkid/wipefs) belong to the commands. */
import {
  decodeLabelSector,
  encodeLabel,
  encodeMdaHeader,
  freshMdaHeader,
  generateUuid,
  LABEL_SCAN_SECTORS,
  LvmFormatError,
  MDA_ZERO_BYTES,
  newLabel,
  parseUuid,
  PVCREATE_ZERO_BYTES,
  type PvLabel,
  type PvLayout,
  pvLayout,
  type RandomBytes,
  SECTOR_SIZE_BYTES,
} from '@leasehold/lvm-format';
import { VolumeError } from './errors.js';
import { readBytes, writeBytes } from './io.js';
import { directDeviceOpener, type DeviceOpener } from './scan.js';

export interface PvcreateOptions {
  opener?: DeviceOpener;
  /** Random bytes for the new PV UUID (crypto.randomFillSync in production). */
  randomBytes: RandomBytes;
  /** A given PV UUID (pvcreate --uuid), raw or dashed. */
  uuid?: string;
  /** --pvmetadatacopies: 0, 1 (default) or 2. */
  metadataCopies?: number;
  /** --metadatasize in bytes (default 2040 sectors). */
  metadataSizeBytes?: number;
  /** --dataalignment in bytes (default 1 MiB). */
  dataAlignmentBytes?: number;
  /** Keep this pe_start (--restorefile), sectors. */
  peStartSectors?: number;
  /** --metadataignore y: the mdas are written with the ignored flag. */
  metadataIgnore?: boolean;
}

export interface PvcreateResult {
  label: PvLabel;
  layout: PvLayout;
}

const ZEROES_4K = new Uint8Array(MDA_ZERO_BYTES);

/** Writes a new PV on `path`: zeroes bytes 0-2047 and the first 4 KiB of each mda, the mda headers, then the label. */
export async function pvcreate(path: string, options: PvcreateOptions): Promise<PvcreateResult> {
  const opener = options.opener ?? directDeviceOpener;
  const disk = await opener.open(path, { write: true });
  try {
    let layout: PvLayout;
    try {
      layout = pvLayout({
        deviceSizeBytes: disk.sizeBytes,
        ...(options.metadataCopies !== undefined ? { metadataCopies: options.metadataCopies } : {}),
        ...(options.metadataSizeBytes !== undefined ? { metadataSizeBytes: options.metadataSizeBytes } : {}),
        ...(options.dataAlignmentBytes !== undefined ? { dataAlignmentBytes: options.dataAlignmentBytes } : {}),
        ...(options.peStartSectors !== undefined ? { peStartSectors: options.peStartSectors } : {}),
      });
    } catch (error) {
      if (error instanceof LvmFormatError)
        throw new VolumeError(
          error.message.includes('small') ? 'DEVICE_TOO_SMALL' : 'BAD_ARGUMENT',
          `${path}: ${error.message}`,
          path,
          { cause: error },
        );
      throw error;
    }
    let pvId: string;
    try {
      pvId = options.uuid !== undefined ? parseUuid(options.uuid) : generateUuid(options.randomBytes);
    } catch (error) {
      throw new VolumeError('BAD_ARGUMENT', (error as Error).message, path, { cause: error });
    }
    const label = newLabel({
      pvId,
      deviceSizeBytes: disk.sizeBytes,
      dataAreas: [{ offsetBytes: layout.peStartBytes, sizeBytes: 0 }],
      metadataAreas: layout.metadataAreas,
    });
    await writeBytes(disk, 0, new Uint8Array(PVCREATE_ZERO_BYTES));
    for (const mda of layout.metadataAreas) {
      await writeBytes(disk, mda.offsetBytes, ZEROES_4K.subarray(0, Math.min(MDA_ZERO_BYTES, mda.sizeBytes)));
      await writeBytes(
        disk,
        mda.offsetBytes,
        encodeMdaHeader(freshMdaHeader(mda.offsetBytes, mda.sizeBytes, options.metadataIgnore === true)),
      );
    }
    await writeBytes(disk, label.sector * SECTOR_SIZE_BYTES, encodeLabel(label));
    return { label, layout };
  } finally {
    await disk.close();
  }
}

/** Zeroes every label sector (0-3) that holds a label; the mdas and old text stay, as with lvm. Returns the sectors wiped. */
export async function pvremove(path: string, options: { opener?: DeviceOpener } = {}): Promise<number[]> {
  const opener = options.opener ?? directDeviceOpener;
  const disk = await opener.open(path, { write: true });
  try {
    const head = await readBytes(disk, 0, LABEL_SCAN_SECTORS * SECTOR_SIZE_BYTES);
    const wiped: number[] = [];
    for (let s = 0; s < LABEL_SCAN_SECTORS; s++) {
      const result = decodeLabelSector(head.subarray(s * SECTOR_SIZE_BYTES, (s + 1) * SECTOR_SIZE_BYTES), s);
      if (result.kind === 'none') continue;
      await writeBytes(disk, s * SECTOR_SIZE_BYTES, new Uint8Array(SECTOR_SIZE_BYTES));
      wiped.push(s);
    }
    if (wiped.length === 0) throw new VolumeError('NOT_A_PV', `No PV found on device ${path}.`, path);
    return wiped;
  } finally {
    await disk.close();
  }
}

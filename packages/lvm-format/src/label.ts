/**
 * The label sector: label_header (32 bytes) + pv_header (UUID, device size, data and metadata
 * area lists) + pv_header_extension (version, flags, bootloader areas). Spec section 1.
 */
import { ascii, getU64, putAscii, setU64, view } from './bytes.js';
import {
  ID_LEN,
  LABEL_HEADER_SIZE_BYTES,
  LABEL_ID,
  LABEL_SCAN_SECTORS,
  LABEL_TYPE,
  MAX_DISK_LOCN_ENTRIES,
  MAX_MDAS_PER_PV,
  PV_EXT_USED,
  PV_HEADER_EXTENSION_VERSION,
  PV_HEADER_OFFSET_BYTES,
  SECTOR_SIZE_BYTES,
} from './constants.js';
import { lvmCrc } from './crc.js';
import { LvmFormatError } from './errors.js';
import { isValidRawUuid } from './uuid.js';

/** An area on the device, absolute bytes. Size 0 in a data area means "to the end of the device". */
export interface DiskLocn {
  offsetBytes: number;
  sizeBytes: number;
}

export interface PvLabel {
  /** The sector the label is in (0..3; lvm writes 1). */
  sector: number;
  /** Raw 32-character PV UUID. */
  pvId: string;
  deviceSizeBytes: number;
  dataAreas: DiskLocn[];
  metadataAreas: DiskLocn[];
  /** 0 = no extension (pre-2.02.116 label). */
  extensionVersion: number;
  extensionFlags: number;
  bootloaderAreas: DiskLocn[];
}

export function isLabelInUse(label: Pick<PvLabel, 'extensionFlags'>): boolean {
  return (label.extensionFlags & PV_EXT_USED) !== 0;
}

const CRC_START = 20;
const DISK_LOCN_BYTES = 16;

/** Encodes a full 512-byte label sector, CRC included. */
export function encodeLabel(label: PvLabel): Uint8Array {
  if (!isValidRawUuid(label.pvId))
    throw new LvmFormatError('BAD_UUID', `PV UUID "${label.pvId}" is not a 32-character LVM UUID`);
  if (label.dataAreas.length === 0) throw new LvmFormatError('BAD_LABEL', 'a PV label needs a data area');
  if (label.metadataAreas.length > MAX_MDAS_PER_PV)
    throw new LvmFormatError('BAD_LABEL', `at most ${MAX_MDAS_PER_PV} metadata areas per PV`);
  const sector = new Uint8Array(SECTOR_SIZE_BYTES);
  const dv = view(sector);
  putAscii(sector, 0, LABEL_ID);
  setU64(dv, 8, label.sector);
  dv.setUint32(20, PV_HEADER_OFFSET_BYTES, true);
  putAscii(sector, 24, LABEL_TYPE);
  let at = PV_HEADER_OFFSET_BYTES;
  putAscii(sector, at, label.pvId);
  at += ID_LEN;
  setU64(dv, at, label.deviceSizeBytes);
  at += 8;
  const putList = (list: DiskLocn[]): void => {
    for (const locn of list) {
      if (locn.offsetBytes === 0) throw new LvmFormatError('BAD_LABEL', 'an area at offset 0 would end the list');
      setU64(dv, at, locn.offsetBytes);
      setU64(dv, at + 8, locn.sizeBytes);
      at += DISK_LOCN_BYTES;
    }
    at += DISK_LOCN_BYTES; // the all-zero terminator
  };
  putList(label.dataAreas);
  putList(label.metadataAreas);
  if (label.extensionVersion !== 0) {
    dv.setUint32(at, label.extensionVersion, true);
    dv.setUint32(at + 4, label.extensionFlags, true);
    at += 8;
    putList(label.bootloaderAreas);
  }
  if (at > SECTOR_SIZE_BYTES) throw new LvmFormatError('BAD_LABEL', 'the label does not fit in one sector');
  dv.setUint32(16, lvmCrc(sector.subarray(CRC_START)), true);
  return sector;
}

/** What one candidate label sector holds. */
export type LabelSectorResult = { kind: 'label'; label: PvLabel } | { kind: 'none' } | { kind: 'bad'; reason: string };

/**
 * Decodes one 512-byte sector found at `sectorIndex`. Follows lvm's acceptance rule (spec 1.1):
 * with `LABELONE`, sector_xl must match and the CRC must be right; without it, lvm skips both checks
 * and still takes the sector if the type is `LVM2 001` (a quirk we keep so both read the same PVs).
 */
export function decodeLabelSector(sector: Uint8Array, sectorIndex: number): LabelSectorResult {
  if (sector.length < SECTOR_SIZE_BYTES) throw new RangeError(`label sector is ${sector.length} bytes`);
  const dv = view(sector);
  const hasId = ascii(sector, 0, 8) === LABEL_ID;
  if (hasId) {
    const sectorXl = dv.getBigUint64(8, true);
    if (sectorXl !== BigInt(sectorIndex))
      return { kind: 'bad', reason: `Label for sector ${sectorXl} found at sector ${sectorIndex} - ignoring.` };
    const stored = dv.getUint32(16, true);
    const computed = lvmCrc(sector.subarray(CRC_START, SECTOR_SIZE_BYTES));
    if (stored !== computed)
      return {
        kind: 'bad',
        reason: `Label checksum incorrect at sector ${sectorIndex} (offset ${sectorIndex * SECTOR_SIZE_BYTES}): stored 0x${hex(stored)}, computed 0x${hex(computed)}`,
      };
  }
  if (ascii(sector, 24, 8) !== LABEL_TYPE) {
    return hasId
      ? { kind: 'bad', reason: `Label at sector ${sectorIndex} has unknown type "${ascii(sector, 24, 8)}"` }
      : { kind: 'none' };
  }
  try {
    return { kind: 'label', label: decodePvHeader(sector, sectorIndex) };
  } catch (error) {
    if (error instanceof LvmFormatError) return { kind: 'bad', reason: error.message };
    throw error;
  }
}

function decodePvHeader(sector: Uint8Array, sectorIndex: number): PvLabel {
  const dv = view(sector);
  const offsetXl = dv.getUint32(20, true);
  if (offsetXl < LABEL_HEADER_SIZE_BYTES || offsetXl + ID_LEN + 8 + DISK_LOCN_BYTES > SECTOR_SIZE_BYTES) {
    throw new LvmFormatError('BAD_LABEL', `pv_header offset ${offsetXl} is outside the label sector`);
  }
  let at = offsetXl;
  const pvId = ascii(sector, at, ID_LEN);
  if (!isValidRawUuid(pvId))
    throw new LvmFormatError('BAD_LABEL', `PV UUID in label is not valid: "${pvId.replace(/[^\x20-\x7e]/g, '?')}"`);
  at += ID_LEN;
  const deviceSizeBytes = getU64(dv, at, 'BAD_LABEL', 'device size');
  at += 8;
  const readList = (what: string): DiskLocn[] => {
    const list: DiskLocn[] = [];
    for (;;) {
      if (at + DISK_LOCN_BYTES > SECTOR_SIZE_BYTES)
        throw new LvmFormatError('BAD_LABEL', `${what} list runs past the label sector`);
      const offsetBytes = getU64(dv, at, 'BAD_LABEL', `${what} offset`);
      const sizeBytes = getU64(dv, at + 8, 'BAD_LABEL', `${what} size`);
      at += DISK_LOCN_BYTES;
      if (offsetBytes === 0) return list;
      if (list.length >= MAX_DISK_LOCN_ENTRIES) throw new LvmFormatError('BAD_LABEL', `${what} list is too long`);
      list.push({ offsetBytes, sizeBytes });
    }
  };
  const dataAreas = readList('data area');
  const metadataAreas = readList('metadata area');
  if (metadataAreas.length > MAX_MDAS_PER_PV)
    throw new LvmFormatError('BAD_LABEL', `${metadataAreas.length} metadata areas (lvm supports ${MAX_MDAS_PER_PV})`);
  let extensionVersion = 0;
  let extensionFlags = 0;
  let bootloaderAreas: DiskLocn[] = [];
  if (at + 8 <= SECTOR_SIZE_BYTES) {
    extensionVersion = dv.getUint32(at, true);
    if (extensionVersion !== 0) {
      extensionFlags = dv.getUint32(at + 4, true);
      at += 8;
      bootloaderAreas = readList('bootloader area');
    }
  }
  return {
    sector: sectorIndex,
    pvId,
    deviceSizeBytes,
    dataAreas,
    metadataAreas,
    extensionVersion,
    extensionFlags,
    bootloaderAreas,
  };
}

export interface LabelScan {
  /** The first accepted label, or undefined when the device is not a PV. */
  label?: PvLabel;
  /** Problems seen in sectors 0..3 (rejected labels, additional labels), in lvm's wording. */
  warnings: string[];
}

/** Scans the first LABEL_SCAN_SECTORS sectors of a device (`head` holds at least 2048 bytes). */
export function scanLabel(head: Uint8Array): LabelScan {
  const warnings: string[] = [];
  let label: PvLabel | undefined;
  for (let s = 0; s < LABEL_SCAN_SECTORS; s++) {
    const result = decodeLabelSector(head.subarray(s * SECTOR_SIZE_BYTES, (s + 1) * SECTOR_SIZE_BYTES), s);
    if (result.kind === 'bad') warnings.push(result.reason);
    if (result.kind !== 'label') continue;
    if (label === undefined) label = result.label;
    else warnings.push(`Ignoring additional label on device at sector ${s}`);
  }
  return label === undefined ? { warnings } : { label, warnings };
}

/** A fresh label as pvcreate writes it (extension version 2, flags 0). */
export function newLabel(
  fields: Omit<PvLabel, 'sector' | 'extensionVersion' | 'extensionFlags' | 'bootloaderAreas'> & Partial<PvLabel>,
): PvLabel {
  return {
    sector: 1,
    extensionVersion: PV_HEADER_EXTENSION_VERSION,
    extensionFlags: 0,
    bootloaderAreas: [],
    ...fields,
  };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** The mda_header: checksum, magic, version, start, size and the raw_locn slots (spec 2.1). */
import { bytesEqual, getU64, setU64, view } from './bytes.js';
import { MDA_HEADER_SIZE_BYTES, MDA_MAGIC, MDA_VERSION, RAW_LOCN_IGNORED } from './constants.js';
import { lvmCrc } from './crc.js';

/** Where one text copy is: mda-relative offset, size including the NUL, its CRC, flags. */
export interface RawLocn {
  offsetBytes: number;
  sizeBytes: number;
  checksum: number;
  flags: number;
}

export interface MdaHeader {
  /** Absolute byte offset of this header on the device. */
  startBytes: number;
  /** Size of the whole mda including this header sector. */
  sizeBytes: number;
  /** Slot 0: the committed copy (offset 0 = no metadata). */
  committed: RawLocn;
  /** Slot 1: the precommitted copy (normally all zero). */
  precommitted: RawLocn;
}

export const EMPTY_RAW_LOCN: RawLocn = Object.freeze({ offsetBytes: 0, sizeBytes: 0, checksum: 0, flags: 0 });

const SLOT_BYTES = 24;
const SLOT0_AT = 40;
const SLOT1_AT = 64;

export function isMdaIgnored(header: Pick<MdaHeader, 'committed'>): boolean {
  return (header.committed.flags & RAW_LOCN_IGNORED) !== 0;
}

export function hasCommittedText(header: Pick<MdaHeader, 'committed'>): boolean {
  return header.committed.offsetBytes !== 0 && !isMdaIgnored(header);
}

export function encodeMdaHeader(header: MdaHeader): Uint8Array {
  const sector = new Uint8Array(MDA_HEADER_SIZE_BYTES);
  const dv = view(sector);
  sector.set(MDA_MAGIC, 4);
  dv.setUint32(20, MDA_VERSION, true);
  setU64(dv, 24, header.startBytes);
  setU64(dv, 32, header.sizeBytes);
  putSlot(dv, SLOT0_AT, header.committed);
  putSlot(dv, SLOT1_AT, header.precommitted);
  dv.setUint32(0, lvmCrc(sector.subarray(4)), true);
  return sector;
}

function putSlot(dv: DataView, at: number, locn: RawLocn): void {
  setU64(dv, at, locn.offsetBytes);
  setU64(dv, at + 8, locn.sizeBytes);
  dv.setUint32(at + 16, locn.checksum >>> 0, true);
  dv.setUint32(at + 20, locn.flags >>> 0, true);
}

export type MdaHeaderResult = { ok: true; header: MdaHeader } | { ok: false; problems: string[] };

/**
 * Decodes and checks an mda_header read at `expectedStartBytes` (the pv_header's mda offset).
 * The problems use lvm's wording ("wrong checksum X in mda header on DEV at N"); `device` names it.
 */
export function decodeMdaHeader(sector: Uint8Array, expectedStartBytes: number, device: string): MdaHeaderResult {
  if (sector.length < MDA_HEADER_SIZE_BYTES) throw new RangeError(`mda header is ${sector.length} bytes`);
  const dv = view(sector);
  const problems: string[] = [];
  const stored = dv.getUint32(0, true);
  const computed = lvmCrc(sector.subarray(4, MDA_HEADER_SIZE_BYTES));
  if (stored !== computed)
    problems.push(
      `wrong checksum ${hex(stored)} in mda header on ${device} at ${expectedStartBytes} (expected ${hex(computed)})`,
    );
  if (!bytesEqual(sector.subarray(4, 20), MDA_MAGIC))
    problems.push(`wrong magic number in mda header on ${device} at ${expectedStartBytes}`);
  const version = dv.getUint32(20, true);
  if (version !== MDA_VERSION)
    problems.push(`wrong version ${version} in mda header on ${device} at ${expectedStartBytes}`);
  const startBig = dv.getBigUint64(24, true);
  if (startBig !== BigInt(expectedStartBytes))
    problems.push(`wrong start sector ${startBig} in mda header on ${device} at ${expectedStartBytes}`);
  if (problems.length > 0) return { ok: false, problems };
  try {
    const header: MdaHeader = {
      startBytes: expectedStartBytes,
      sizeBytes: getU64(dv, 32, 'BAD_MDA_HEADER', 'mda size'),
      committed: getSlot(dv, SLOT0_AT),
      precommitted: getSlot(dv, SLOT1_AT),
    };
    return { ok: true, header };
  } catch (error) {
    return {
      ok: false,
      problems: [`bad mda header on ${device} at ${expectedStartBytes}: ${(error as Error).message}`],
    };
  }
}

function getSlot(dv: DataView, at: number): RawLocn {
  return {
    offsetBytes: getU64(dv, at, 'BAD_MDA_HEADER', 'raw_locn offset'),
    sizeBytes: getU64(dv, at + 8, 'BAD_MDA_HEADER', 'raw_locn size'),
    checksum: dv.getUint32(at + 16, true),
    flags: dv.getUint32(at + 20, true),
  };
}

/** A fresh header as pvcreate writes it (empty slots; optionally ignored). */
export function freshMdaHeader(startBytes: number, sizeBytes: number, ignored = false): MdaHeader {
  return {
    startBytes,
    sizeBytes,
    committed: ignored ? { ...EMPTY_RAW_LOCN, flags: RAW_LOCN_IGNORED } : EMPTY_RAW_LOCN,
    precommitted: EMPTY_RAW_LOCN,
  };
}

export { SLOT_BYTES as RAW_LOCN_BYTES };

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

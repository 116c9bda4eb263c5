/**
 * lvmlockd's value block in a sanlock resource's LVB sector (lvmlockd-real.md "LVB"):
 *   @0 version u16 (0x0101) | @2 flags u16 (VBF_REMOVED 0x1) | @4 r_version u32 | rest of the sector 0
 * little-endian. In `VGLK` r_version is the VG metadata seqno; in `GLLK` it is the global version,
 * bumped after every change to the set of VGs or PVs. Hosts cache metadata and reread it when the
 * number moves. An all-zero block (never written) has version 0.
 */
import { checkU16, checkU32, requireBytes, viewOf } from '../bytes.js';
import { OnDiskError } from '../errors.js';

export const LVM_VALUE_BLOCK_BYTES = 8;
/** lvmlockd's VAL_BLK_VERSION: major 1 (high byte), minor 1. */
export const LVM_VALUE_BLOCK_VERSION = 0x0101;
const VALUE_BLOCK_MAJOR_MASK = 0xff00;
/** The VG was removed: hosts that cached it drop it. */
export const VBF_REMOVED = 0x0001;

export interface LvmValueBlock {
  version: number;
  flags: number;
  /** VG seqno (VGLK) or global version (GLLK). */
  rVersion: number;
}

/** The 8 bytes lvmlockd passes to sanlock's set_lvb. */
export function encodeLvmValueBlock(block: LvmValueBlock): Uint8Array {
  const bytes = new Uint8Array(LVM_VALUE_BLOCK_BYTES);
  const view = viewOf(bytes);
  view.setUint16(0, checkU16(block.version, 'value block version'), true);
  view.setUint16(2, checkU16(block.flags, 'value block flags'), true);
  view.setUint32(4, checkU32(block.rVersion, 'value block r_version'), true);
  return bytes;
}

/** Decodes the first 8 bytes (the LVB sector or what get_lvb returned). No version check. */
export function decodeLvmValueBlock(source: Uint8Array, offset = 0): LvmValueBlock {
  requireBytes(source, offset, LVM_VALUE_BLOCK_BYTES, 'lvmlockd value block');
  const view = viewOf(source);
  return {
    version: view.getUint16(offset, true),
    flags: view.getUint16(offset + 2, true),
    rVersion: view.getUint32(offset + 4, true),
  };
}

/** True for a block never written (version 0): no number to compare yet. */
export function lvmValueBlockIsEmpty(block: LvmValueBlock): boolean {
  return block.version === 0;
}

/**
 * Throws VALUE_BLOCK_VERSION when a written block has a major version above lvmlockd's (a newer
 * writer): its r_version cannot be trusted, so cached metadata must be reread. lvmlockd does the same.
 */
export function checkLvmValueBlockVersion(block: LvmValueBlock): void {
  if (
    block.version !== 0 &&
    (block.version & VALUE_BLOCK_MAJOR_MASK) > (LVM_VALUE_BLOCK_VERSION & VALUE_BLOCK_MAJOR_MASK)
  ) {
    const found = `0x${block.version.toString(16).padStart(4, '0')}`;
    throw new OnDiskError('VALUE_BLOCK_VERSION', `lvmlockd value block version ${found} is newer than 0x0101`, {
      found,
      expected: 'major 0x01',
    });
  }
}

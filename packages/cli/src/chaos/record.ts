/**
 * The chaos run's data record: what a writer puts in one sector of an LV through the LV's block
 * device. One record per 512-byte sector ("slot"), little-endian:
 *
 *   offset  size  field
 *        0     4  magic 0x4843484c ("LHCH")
 *        4     2  format version (1)
 *        6     2  reserved, 0
 *        8     4  host index (hostN -> N)
 *       12     4  slot (this record's sector within the LV; a record found elsewhere is misplaced)
 *       16     8  activation epoch (the writer's id of its activation: monotonic ns at activate start)
 *       24     8  sequence number within the epoch
 *       32     8  issued at, CLOCK_MONOTONIC ns (the write-start event's time)
 *       40    64  LV name, UTF-8, NUL-padded
 *      104   404  filler: a pattern derived from the fields (so every byte of the sector is written)
 *      508     4  CRC32C (sanlock's variant) of bytes 0..507
 *
 * A sector of zeros is an empty slot; anything else that fails the magic or the checksum is reported
 * as such, so the checker can tell a lost write from a torn or foreign one.
 */
import { sanlockChecksum } from '@leasehold/ondisk';

export const RECORD_SIZE_BYTES = 512;
export const RECORD_MAGIC = 0x4843484c;
export const RECORD_VERSION = 1;
export const RECORD_LV_NAME_BYTES = 64;
const LV_NAME_OFFSET = 40;
const FILLER_OFFSET = LV_NAME_OFFSET + RECORD_LV_NAME_BYTES;
const CHECKSUM_OFFSET = RECORD_SIZE_BYTES - 4;
const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffff_ffff;

export interface ChaosRecord {
  hostIndex: number;
  slot: number;
  epoch: bigint;
  seq: bigint;
  issuedAtNs: bigint;
  lv: string;
}

export type DecodedSlot =
  | { kind: 'empty' }
  | { kind: 'record'; record: ChaosRecord }
  | { kind: 'foreign' }
  | { kind: 'corrupt'; reason: string };

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) throw new RangeError(`${what} out of range: ${value}`);
}

function checkU64(value: bigint, what: string): void {
  if (value < 0n || value > U64_MAX) throw new RangeError(`${what} out of range: ${value}`);
}

function fillerByte(record: ChaosRecord, index: number): number {
  return (Number(record.seq & 0xffn) * 31 + record.hostIndex * 7 + record.slot + index) & 0xff;
}

export function encodeRecord(record: ChaosRecord): Uint8Array {
  checkU32(record.hostIndex, 'host index');
  checkU32(record.slot, 'slot');
  checkU64(record.epoch, 'epoch');
  checkU64(record.seq, 'sequence number');
  checkU64(record.issuedAtNs, 'issued at');
  const name = new TextEncoder().encode(record.lv);
  if (name.length === 0 || name.length >= RECORD_LV_NAME_BYTES)
    throw new RangeError(`LV name must be 1-${RECORD_LV_NAME_BYTES - 1} bytes, got ${name.length}`);
  const bytes = new Uint8Array(RECORD_SIZE_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, RECORD_MAGIC, true);
  view.setUint16(4, RECORD_VERSION, true);
  view.setUint32(8, record.hostIndex, true);
  view.setUint32(12, record.slot, true);
  view.setBigUint64(16, record.epoch, true);
  view.setBigUint64(24, record.seq, true);
  view.setBigUint64(32, record.issuedAtNs, true);
  bytes.set(name, LV_NAME_OFFSET);
  for (let index = FILLER_OFFSET; index < CHECKSUM_OFFSET; index++) bytes[index] = fillerByte(record, index);
  view.setUint32(CHECKSUM_OFFSET, sanlockChecksum(bytes, 0, CHECKSUM_OFFSET), true);
  return bytes;
}

export function decodeSlot(bytes: Uint8Array): DecodedSlot {
  if (bytes.length !== RECORD_SIZE_BYTES)
    throw new RangeError(`a slot is ${RECORD_SIZE_BYTES} bytes, got ${bytes.length}`);
  if (bytes.every((byte) => byte === 0)) return { kind: 'empty' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== RECORD_MAGIC) return { kind: 'foreign' };
  if (view.getUint32(CHECKSUM_OFFSET, true) !== sanlockChecksum(bytes, 0, CHECKSUM_OFFSET))
    return { kind: 'corrupt', reason: 'checksum mismatch' };
  const version = view.getUint16(4, true);
  if (version !== RECORD_VERSION) return { kind: 'corrupt', reason: `format version ${version}` };
  const nameBytes = bytes.subarray(LV_NAME_OFFSET, FILLER_OFFSET);
  const end = nameBytes.indexOf(0);
  const record: ChaosRecord = {
    hostIndex: view.getUint32(8, true),
    slot: view.getUint32(12, true),
    epoch: view.getBigUint64(16, true),
    seq: view.getBigUint64(24, true),
    issuedAtNs: view.getBigUint64(32, true),
    lv: new TextDecoder().decode(nameBytes.subarray(0, end === -1 ? nameBytes.length : end)),
  };
  for (let index = FILLER_OFFSET; index < CHECKSUM_OFFSET; index++) {
    if (bytes[index] !== fillerByte(record, index)) return { kind: 'corrupt', reason: `filler byte ${index}` };
  }
  return { kind: 'record', record };
}

/**
 * Internal helpers shared by the codecs: bounds checks that fail with OnDiskError BUFFER_SIZE, and
 * range checks for values about to be encoded. Decoders must never throw anything but OnDiskError, so
 * every decoder calls requireBytes before touching its input.
 */
import { OnDiskError } from './errors.js';

const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const INT32_MIN = -0x80000000;
const U64_MAX = (1n << 64n) - 1n;

/** A little-endian view over exactly the bytes of `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** "at offset N" when the absolute device offset is known, otherwise "at buffer offset N". */
export function describeLocation(offsetBytes: number | undefined, bufferOffset: number): string {
  return offsetBytes === undefined ? `at buffer offset ${bufferOffset}` : `at offset ${offsetBytes}`;
}

/** Throws BUFFER_SIZE unless source[offset, offset+length) exists. `what` names the record. */
export function requireBytes(source: Uint8Array, offset: number, length: number, what: string): void {
  if (!(source instanceof Uint8Array)) {
    throw new OnDiskError('BUFFER_SIZE', `${what}: expected a Uint8Array, found ${typeof source}`, {
      found: typeof source,
      expected: 'Uint8Array',
    });
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new OnDiskError(
      'BUFFER_SIZE',
      `${what}: bad buffer offset ${String(offset)}, expected a non-negative integer`,
      {
        found: String(offset),
        expected: 'a non-negative integer',
      },
    );
  }
  const available = Math.max(0, source.length - offset);
  if (available < length) {
    throw new OnDiskError(
      'BUFFER_SIZE',
      `${what} at buffer offset ${offset} is short: found ${available} bytes, expected at least ${length}`,
      { found: `${available} bytes`, expected: `${length} bytes` },
    );
  }
}

/** Encoders reject values that do not fit their on-disk field (a programming error, so RangeError). */
export function checkU16(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > U16_MAX) {
    throw new RangeError(`${field} must be an integer in 0..${U16_MAX} (u16), got ${String(value)}`);
  }
  return value;
}

/** Also accepts -2^31..-1 (what JS bitwise operators return when bit 31 is set), stored as that bit pattern. */
export function checkU32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < INT32_MIN || value > U32_MAX) {
    throw new RangeError(`${field} must be an integer in 0..${U32_MAX} (u32), got ${String(value)}`);
  }
  return value >>> 0;
}

export function checkU64(value: bigint, field: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new RangeError(`${field} must be a bigint in 0..2^64-1 (u64), got ${String(value)}`);
  }
  return value;
}

/** True when source[offset, offset+length) is all zero. */
export function isAllZero(source: Uint8Array, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) {
    if (source[i] !== 0) return false;
  }
  return true;
}

/**
 * CRC-32C (Castagnoli, reflected 0x82F63B78) and sanlock's variant: seed 0xFFFFFFFE, no final XOR.
 *
 * sanlock starts the register at ~1 and returns it without the final inversion, so its value differs
 * from the standard CRC-32C of the same bytes (which starts at ~0 and inverts at the end). With a
 * "continue from prev" CRC-32C library the relation is: sanlock(data) = ~lib(data, prev = 1).
 */
import { OnDiskError } from './errors.js';
import { requireBytes } from './bytes.js';

/** Reflected Castagnoli polynomial. */
const CASTAGNOLI_REFLECTED = 0x82f63b78;
/** sanlock's initial register, ~1. */
export const SANLOCK_CRC_SEED = 0xfffffffe;
/** Slicing-by-8: table k maps a byte to its CRC contribution when followed by k zero bytes. */
const SLICES = 8;
const TABLE_ENTRIES = 256;

function buildTables(): Uint32Array {
  const tables = new Uint32Array(SLICES * TABLE_ENTRIES);
  for (let n = 0; n < TABLE_ENTRIES; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI_REFLECTED : c >>> 1;
    tables[n] = c;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let n = 0; n < TABLE_ENTRIES; n++) {
      const prev = tables[(k - 1) * TABLE_ENTRIES + n]!;
      tables[k * TABLE_ENTRIES + n] = (prev >>> 8) ^ tables[prev & 0xff]!;
    }
  }
  return tables;
}

const T = buildTables();
// Offsets of the eight tables inside T.
const T1 = 1 * TABLE_ENTRIES;
const T2 = 2 * TABLE_ENTRIES;
const T3 = 3 * TABLE_ENTRIES;
const T4 = 4 * TABLE_ENTRIES;
const T5 = 5 * TABLE_ENTRIES;
const T6 = 6 * TABLE_ENTRIES;
const T7 = 7 * TABLE_ENTRIES;

/** Continues a raw reflected CRC-32C register over data[start, end) (no pre/post inversion). */
export function crc32cUpdate(register: number, data: Uint8Array, start = 0, end = data.length): number {
  if (!Number.isSafeInteger(end) || end < start) {
    throw new OnDiskError('BUFFER_SIZE', `crc32c: bad range [${String(start)}, ${String(end)})`, {
      found: `[${String(start)}, ${String(end)})`,
      expected: 'start <= end <= data.length',
    });
  }
  requireBytes(data, start, end - start, 'crc32c input');
  let crc = register | 0;
  let i = start;
  // Eight bytes per step: the first four are folded into the register, the next four looked up directly.
  for (const stop = end - SLICES; i <= stop; i += SLICES) {
    const lo = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      T[T7 + (lo & 0xff)]! ^
      T[T6 + ((lo >>> 8) & 0xff)]! ^
      T[T5 + ((lo >>> 16) & 0xff)]! ^
      T[T4 + (lo >>> 24)]! ^
      T[T3 + data[i + 4]!]! ^
      T[T2 + data[i + 5]!]! ^
      T[T1 + data[i + 6]!]! ^
      T[data[i + 7]!]!;
  }
  for (; i < end; i++) crc = T[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return crc >>> 0;
}

/** sanlock's checksum of data[start, start+length): register starts at 0xFFFFFFFE, no final XOR. */
export function sanlockChecksum(data: Uint8Array, start = 0, length = data.length - start): number {
  return crc32cUpdate(SANLOCK_CRC_SEED, data, start, start + length);
}

/**
 * The host-id bitmap of a delta-lease sector: HOST_BITMAP_BYTES (256) bytes at byte 256 of the
 * sector, 2048 bits. Host H is byte (H-1)>>3, bit (H-1)&7 (LSB first). A renewal sets the bits of the
 * hosts it sends an event or request to; acquire and release rewrite the sector and so clear it.
 */
import { HOST_BITMAP_BYTES } from './constants.js';
import { OnDiskError } from './errors.js';
import { requireBytes } from './bytes.js';

const BITS_PER_BYTE = 8;
/** Highest host id the bitmap can address (more than MAX_HOST_ID: the bitmap has 2048 bits). */
export const HOST_BITMAP_MAX_HOST_ID = HOST_BITMAP_BYTES * BITS_PER_BYTE;

function bitPosition(bitmap: Uint8Array, hostId: number): { byteIndex: number; mask: number } {
  requireBytes(bitmap, 0, HOST_BITMAP_BYTES, 'host bitmap');
  if (!Number.isInteger(hostId) || hostId < 1 || hostId > HOST_BITMAP_MAX_HOST_ID) {
    throw new OnDiskError(
      'LAYOUT_INVALID',
      `host_id ${String(hostId)} has no bit in the host bitmap: expected 1..${HOST_BITMAP_MAX_HOST_ID}`,
      {
        found: String(hostId),
        expected: `1..${HOST_BITMAP_MAX_HOST_ID}`,
      },
    );
  }
  const bit = hostId - 1;
  return { byteIndex: bit >> 3, mask: 1 << (bit & 7) };
}

/** The 256-byte host-id bitmap at byte 256 of a delta-lease sector: host H is byte (H-1)>>3, bit (H-1)&7. */
export function emptyHostBitmap(): Uint8Array {
  return new Uint8Array(HOST_BITMAP_BYTES);
}

export function hostBitmapGet(bitmap: Uint8Array, hostId: number): boolean {
  const { byteIndex, mask } = bitPosition(bitmap, hostId);
  return (bitmap[byteIndex]! & mask) !== 0;
}

export function hostBitmapSet(bitmap: Uint8Array, hostId: number, value: boolean): void {
  const { byteIndex, mask } = bitPosition(bitmap, hostId);
  bitmap[byteIndex] = value ? bitmap[byteIndex]! | mask : bitmap[byteIndex]! & ~mask;
}

/** Host ids whose bits are set, ascending. */
export function hostBitmapList(bitmap: Uint8Array): number[] {
  requireBytes(bitmap, 0, HOST_BITMAP_BYTES, 'host bitmap');
  const hostIds: number[] = [];
  for (let byteIndex = 0; byteIndex < HOST_BITMAP_BYTES; byteIndex++) {
    const byte = bitmap[byteIndex]!;
    if (byte === 0) continue;
    for (let bit = 0; bit < BITS_PER_BYTE; bit++) {
      if (byte & (1 << bit)) hostIds.push(byteIndex * BITS_PER_BYTE + bit + 1);
    }
  }
  return hostIds;
}

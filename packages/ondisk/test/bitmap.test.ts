import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  HOST_BITMAP_BYTES,
  HOST_BITMAP_MAX_HOST_ID,
  emptyHostBitmap,
  hostBitmapGet,
  hostBitmapList,
  hostBitmapSet,
} from '../src/index.js';
import { expectOnDiskError } from './expect-error.js';

describe('host-id bitmap', () => {
  test('host H is byte (H-1)>>3, bit (H-1)&7, LSB first (as observed on sanlock sectors)', () => {
    const bitmap = emptyHostBitmap();
    expect(bitmap.length).toBe(HOST_BITMAP_BYTES);
    hostBitmapSet(bitmap, 2, true);
    expect(bitmap[0]).toBe(0x02);
    hostBitmapSet(bitmap, 1, true);
    expect(bitmap[0]).toBe(0x03);
    hostBitmapSet(bitmap, 2000, true);
    expect(bitmap[249]).toBe(0x80);
    hostBitmapSet(bitmap, 2048, true);
    expect(bitmap[255]).toBe(0x80);
    expect(hostBitmapList(bitmap)).toEqual([1, 2, 2000, 2048]);
    hostBitmapSet(bitmap, 2, false);
    expect(bitmap[0]).toBe(0x01);
    expect(hostBitmapGet(bitmap, 2)).toBe(false);
    expect(hostBitmapGet(bitmap, 1)).toBe(true);
  });

  test.prop([
    fc.array(fc.tuple(fc.integer({ min: 1, max: HOST_BITMAP_MAX_HOST_ID }), fc.boolean()), { maxLength: 200 }),
  ])('behaves like a set of host ids and round trips through its 256 bytes', (operations) => {
    const bitmap = emptyHostBitmap();
    const model = new Set<number>();
    for (const [hostId, value] of operations) {
      hostBitmapSet(bitmap, hostId, value);
      if (value) model.add(hostId);
      else model.delete(hostId);
    }
    const expected = [...model].sort((a, b) => a - b);
    expect(hostBitmapList(bitmap)).toEqual(expected);
    for (const hostId of expected) expect(hostBitmapGet(bitmap, hostId)).toBe(true);
    expect(hostBitmapList(bitmap.slice())).toEqual(expected);
  });

  test('out-of-range host ids and short bitmaps are refused', () => {
    const bitmap = emptyHostBitmap();
    expectOnDiskError(() => hostBitmapGet(bitmap, 0), 'LAYOUT_INVALID');
    expectOnDiskError(() => hostBitmapSet(bitmap, 2049, true), 'LAYOUT_INVALID');
    expectOnDiskError(() => hostBitmapGet(bitmap, 1.5), 'LAYOUT_INVALID');
    expectOnDiskError(() => hostBitmapList(new Uint8Array(255)), 'BUFFER_SIZE');
  });
});

/**
 * §4 "Bitmap ping": to get another host's attention (a resource request, or set_event) a host sets
 * set_bit_time[target] = now; every renewal within set_bitmap_seconds (6N) after that writes the
 * target's bit into our own delta sector's bitmap (§1.2: byte 256, host H = bit H-1).
 */
import { emptyHostBitmap, hostBitmapSet } from '@leasehold/ondisk';

export class PingBitmap {
  /** host_id -> our clock seconds when its bit was last asked for. */
  private readonly setAtSeconds = new Map<number, number>();

  ping(hostId: number, nowSeconds: number): void {
    this.setAtSeconds.set(hostId, nowSeconds);
  }

  /** Host ids whose bit a renewal at `nowSeconds` writes: pinged less than `setBitmapSeconds` ago. */
  activeHostIds(nowSeconds: number, setBitmapSeconds: number): number[] {
    const active: number[] = [];
    for (const [hostId, setAt] of this.setAtSeconds) {
      if (nowSeconds - setAt < setBitmapSeconds) active.push(hostId);
      else this.setAtSeconds.delete(hostId);
    }
    return active.sort((a, b) => a - b);
  }

  /** The 256-byte bitmap a renewal at `nowSeconds` writes. */
  bitmapAt(nowSeconds: number, setBitmapSeconds: number): Uint8Array {
    const bitmap = emptyHostBitmap();
    for (const hostId of this.activeHostIds(nowSeconds, setBitmapSeconds)) hostBitmapSet(bitmap, hostId, true);
    return bitmap;
  }
}

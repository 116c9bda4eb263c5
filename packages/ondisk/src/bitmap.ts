/** The 256-byte host-id bitmap at byte 256 of a delta-lease sector: host H is byte (H-1)>>3, bit (H-1)&7. */
export function emptyHostBitmap(): Uint8Array {
  throw new Error('stub');
}
export function hostBitmapGet(bitmap: Uint8Array, hostId: number): boolean {
  throw new Error('stub');
}
export function hostBitmapSet(bitmap: Uint8Array, hostId: number, value: boolean): void {
  throw new Error('stub');
}
/** Host ids whose bits are set, ascending. */
export function hostBitmapList(bitmap: Uint8Array): number[] {
  throw new Error('stub');
}

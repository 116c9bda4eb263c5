/**
 * A lockspace's view of its device inside a renewal lane: every I/O is bracketed by the slot's
 * enter()/exit() (see lane-control.ts), and refused once the main thread has fenced the slot.
 * The wrapped Disk settles synchronously (asyncFromSync over O_DIRECT), so the bracket encloses the
 * syscall itself.
 */
import { DiskError, type Disk } from '@leasehold/disk';
import type { LaneControl } from './lane-control.js';

export function slotDisk(inner: Disk, control: LaneControl, slot: number): Disk {
  const guarded = <T>(offsetBytes: number, lengthBytes: number, io: () => Promise<T>): Promise<T> => {
    if (!control.enter(slot)) {
      return Promise.reject(
        new DiskError('ECLOSED', 'this lockspace has moved to another lane', inner.path, offsetBytes, lengthBytes),
      );
    }
    try {
      return io();
    } finally {
      control.exit(slot);
    }
  };
  const readInto = inner.readInto?.bind(inner);
  return {
    get path() {
      return inner.path;
    },
    get sectorSize() {
      return inner.sectorSize;
    },
    get sizeBytes() {
      return inner.sizeBytes;
    },
    read: (offsetBytes, lengthBytes) => guarded(offsetBytes, lengthBytes, () => inner.read(offsetBytes, lengthBytes)),
    ...(readInto === undefined
      ? {}
      : {
          readInto: (offsetBytes: number, target: Uint8Array) =>
            guarded(offsetBytes, target.byteLength, () => readInto(offsetBytes, target)),
        }),
    write: (offsetBytes, data) => guarded(offsetBytes, data.byteLength, () => inner.write(offsetBytes, data)),
    close: () => Promise.resolve(),
  };
}

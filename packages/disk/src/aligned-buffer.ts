import { alignedBuffer, bufferAddress } from '@leasehold/native';
import { IO_BUFFER_ALIGNMENT_BYTES } from './constants.js';

/**
 * A zero-filled buffer for O_DIRECT I/O, at least `lengthBytes` long, rounded up to whole alignment
 * units. Its alignment is checked: a misaligned buffer is a bug (the kernel would refuse it with EINVAL
 * on 4K devices, or worse, accept it on some and not others).
 */
export function directIoBuffer(lengthBytes: number): Buffer {
  const roundedBytes = Math.ceil(lengthBytes / IO_BUFFER_ALIGNMENT_BYTES) * IO_BUFFER_ALIGNMENT_BYTES;
  const buffer = alignedBuffer(roundedBytes, IO_BUFFER_ALIGNMENT_BYTES);
  assertDirectIoAligned(buffer);
  return buffer;
}

export function assertDirectIoAligned(buffer: Buffer): void {
  const address = bufferAddress(buffer);
  if (address % IO_BUFFER_ALIGNMENT_BYTES !== 0) {
    throw new Error(`BUG: O_DIRECT buffer at address ${address} is not ${IO_BUFFER_ALIGNMENT_BYTES}-byte aligned`);
  }
}

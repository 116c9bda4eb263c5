/** CRC-32C (Castagnoli, reflected 0x82F63B78) and sanlock's variant: seed 0xFFFFFFFE, no final XOR. */

/** Continues a raw reflected CRC-32C register over data[start, end) (no pre/post inversion). */
export function crc32cUpdate(register: number, data: Uint8Array, start = 0, end = data.length): number {
  throw new Error('stub');
}

/** sanlock's checksum of data[start, start+length): register starts at 0xFFFFFFFE, no final XOR. */
export function sanlockChecksum(data: Uint8Array, start = 0, length = data.length - start): number {
  throw new Error('stub');
}

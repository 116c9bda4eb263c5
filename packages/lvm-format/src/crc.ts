/**
 * LVM2's checksum (lib/misc/crc.c): a reflected CRC-32 (polynomial 0xEDB88320) with initial value
 * 0xF597A6CF and no final XOR. Used for the label, the mda_header and the metadata text.
 */
export const LVM_INITIAL_CRC = 0xf597a6cf;

const REFLECTED_POLYNOMIAL = 0xedb88320;

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? REFLECTED_POLYNOMIAL ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC of `data` continuing from `initial` (chain calls to checksum split data, e.g. a wrapped text). */
export function lvmCrc(data: Uint8Array, initial: number = LVM_INITIAL_CRC): number {
  let crc = initial >>> 0;
  for (let i = 0; i < data.length; i++) {
    crc = (TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return crc >>> 0;
}

/** The circular text buffer of an mda: where the next copy goes, wrapping, size limit (spec 2.2). */
import { MDA_ALIGN_BYTES, MDA_HEADER_SIZE_BYTES } from './constants.js';
import { lvmCrc } from './crc.js';
import { LvmFormatError } from './errors.js';
import type { RawLocn } from './mda-header.js';

/** The largest text copy (bytes, NUL included) an mda of `mdaSizeBytes` can hold: old and new never overlap. */
export function maxTextSizeBytes(mdaSizeBytes: number): number {
  return Math.floor((mdaSizeBytes - MDA_HEADER_SIZE_BYTES) / 2) - MDA_ALIGN_BYTES;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Whether a copy at `offset` of `size` bytes wraps past the end of an mda of `mdaSize`. */
export function isWrapped(locn: Pick<RawLocn, 'offsetBytes' | 'sizeBytes'>, mdaSizeBytes: number): boolean {
  return locn.offsetBytes + locn.sizeBytes > mdaSizeBytes;
}

/** Mda-relative offset of the next copy after `old` (slot 0); `old` undefined/empty = first copy at 512. */
export function nextCopyOffset(
  old: Pick<RawLocn, 'offsetBytes' | 'sizeBytes'> | undefined,
  mdaSizeBytes: number,
): number {
  if (old === undefined || old.offsetBytes === 0) return MDA_HEADER_SIZE_BYTES;
  const oldLast = isWrapped(old, mdaSizeBytes)
    ? MDA_HEADER_SIZE_BYTES + (old.offsetBytes + old.sizeBytes - mdaSizeBytes) - 1
    : old.offsetBytes + old.sizeBytes - 1;
  if (mdaSizeBytes - oldLast < MDA_ALIGN_BYTES) return MDA_HEADER_SIZE_BYTES;
  const next = roundUp(oldLast + 1, MDA_ALIGN_BYTES);
  return next > mdaSizeBytes - MDA_ALIGN_BYTES ? MDA_HEADER_SIZE_BYTES : next;
}

/** One write of a copy: mda-relative offset and the bytes (text and zero padding to 512). */
export interface MdaWrite {
  offsetBytes: number;
  data: Uint8Array;
}

export interface PlacedCopy {
  locn: RawLocn;
  /** One write, or two when the copy wraps (the tail at 512 carries the padding). */
  writes: MdaWrite[];
}

/** Mda-relative [start, end) byte ranges a copy occupies (one or two). */
export function copyRanges(
  locn: Pick<RawLocn, 'offsetBytes' | 'sizeBytes'>,
  mdaSizeBytes: number,
): Array<[number, number]> {
  if (!isWrapped(locn, mdaSizeBytes)) return [[locn.offsetBytes, locn.offsetBytes + locn.sizeBytes]];
  const tail = locn.offsetBytes + locn.sizeBytes - mdaSizeBytes;
  return [
    [locn.offsetBytes, mdaSizeBytes],
    [MDA_HEADER_SIZE_BYTES, MDA_HEADER_SIZE_BYTES + tail],
  ];
}

function overlaps(a: Array<[number, number]>, b: Array<[number, number]>): boolean {
  for (const [as, ae] of a) for (const [bs, be] of b) if (as < be && bs < ae) return true;
  return false;
}

/**
 * Places `text` (the full copy, NUL included) after `old` in an mda of `mdaSizeBytes`.
 * Throws MDA_FULL with lvm's wording when the copy is over the limit or would overlap the old one.
 */
export function placeCopy(
  text: Uint8Array,
  old: Pick<RawLocn, 'offsetBytes' | 'sizeBytes'> | undefined,
  mdaSizeBytes: number,
  vgName: string,
): PlacedCopy {
  const limit = maxTextSizeBytes(mdaSizeBytes);
  if (text.length > limit) {
    throw new LvmFormatError(
      'MDA_FULL',
      `VG ${vgName} metadata on mda of size ${mdaSizeBytes} exceeds maximum metadata size (${text.length} > ${limit} bytes).`,
    );
  }
  const offset = nextCopyOffset(old, mdaSizeBytes);
  const locn: RawLocn = { offsetBytes: offset, sizeBytes: text.length, checksum: lvmCrc(text), flags: 0 };
  if (
    old !== undefined &&
    old.offsetBytes !== 0 &&
    overlaps(copyRanges(locn, mdaSizeBytes), copyRanges(old, mdaSizeBytes))
  ) {
    throw new LvmFormatError(
      'MDA_FULL',
      `VG ${vgName} metadata on mda of size ${mdaSizeBytes} would overlap the previous copy (${text.length} bytes).`,
    );
  }
  const writes: MdaWrite[] = [];
  if (offset + text.length <= mdaSizeBytes) {
    writes.push({ offsetBytes: offset, data: padded(text) });
  } else {
    const first = mdaSizeBytes - offset;
    writes.push({ offsetBytes: offset, data: text.slice(0, first) });
    writes.push({ offsetBytes: MDA_HEADER_SIZE_BYTES, data: padded(text.subarray(first)) });
  }
  return { locn, writes };
}

/** Bytes padded with zeros to the next 512 boundary. */
function padded(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(roundUp(Math.max(bytes.length, 1), MDA_ALIGN_BYTES));
  out.set(bytes);
  return out;
}

/** The mda-relative ranges to read for a copy (for a wrapped copy, two reads in logical order). */
export function readPlan(
  locn: Pick<RawLocn, 'offsetBytes' | 'sizeBytes'>,
  mdaSizeBytes: number,
): Array<{ offsetBytes: number; lengthBytes: number }> {
  return copyRanges(locn, mdaSizeBytes).map(([s, e]) => ({ offsetBytes: s, lengthBytes: e - s }));
}

/** Checks a slot is inside the buffer; returns a problem in words, or undefined. */
export function rawLocnProblem(
  locn: Pick<RawLocn, 'offsetBytes' | 'sizeBytes'>,
  mdaSizeBytes: number,
): string | undefined {
  if (locn.offsetBytes < MDA_HEADER_SIZE_BYTES || locn.offsetBytes >= mdaSizeBytes)
    return `text offset ${locn.offsetBytes} is outside the metadata area (size ${mdaSizeBytes})`;
  if (locn.sizeBytes === 0) return 'text size is 0';
  if (locn.sizeBytes > mdaSizeBytes - MDA_HEADER_SIZE_BYTES)
    return `text size ${locn.sizeBytes} is larger than the metadata area (size ${mdaSizeBytes})`;
  return undefined;
}

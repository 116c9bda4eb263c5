/** Little-endian field access for the label and mda_header codecs. */
import { LvmFormatError, type LvmFormatErrorCode } from './errors.js';

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A u64 that must fit a JS safe integer (device offsets and sizes do). */
export function getU64(dv: DataView, offset: number, code: LvmFormatErrorCode, what: string): number {
  const value = dv.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new LvmFormatError(code, `${what} ${value} is too large`);
  return Number(value);
}

export function setU64(dv: DataView, offset: number, value: number): void {
  dv.setBigUint64(offset, BigInt(value), true);
}

export function ascii(bytes: Uint8Array, start: number, length: number): string {
  let out = '';
  for (let i = start; i < start + length; i++) out += String.fromCharCode(bytes[i] as number);
  return out;
}

export function putAscii(bytes: Uint8Array, start: number, text: string): void {
  for (let i = 0; i < text.length; i++) bytes[start + i] = text.charCodeAt(i) & 0xff;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

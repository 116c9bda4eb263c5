/** LVM2 UUIDs: 32 characters from a 64-character alphabet, written as 6-4-4-4-4-4-6 groups. */
import { ID_LEN } from './constants.js';
import { LvmFormatError } from './errors.js';

export const UUID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#';
/** New UUIDs use only the first 62 characters (lvm: random byte mod 62). */
export const UUID_GENERATION_ALPHABET_SIZE = 62;
const GROUP_LENGTHS = [6, 4, 4, 4, 4, 4, 6] as const;

/** Random bytes, injected so this package needs no crypto or clock (pass crypto.randomFillSync). */
export type RandomBytes = (length: number) => Uint8Array;

export function generateUuid(randomBytes: RandomBytes): string {
  const bytes = randomBytes(ID_LEN);
  if (bytes.length < ID_LEN) throw new RangeError(`random source gave ${bytes.length} bytes, need ${ID_LEN}`);
  let out = '';
  for (let i = 0; i < ID_LEN; i++) out += UUID_ALPHABET[(bytes[i] as number) % UUID_GENERATION_ALPHABET_SIZE];
  return out;
}

/** The dashed 38-character text form of a raw 32-character UUID. */
export function formatUuid(raw: string): string {
  const parts: string[] = [];
  let at = 0;
  for (const len of GROUP_LENGTHS) {
    parts.push(raw.slice(at, at + len));
    at += len;
  }
  return parts.join('-');
}

/** charCode -> whether it is in the alphabet. */
const IN_ALPHABET: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (let i = 0; i < UUID_ALPHABET.length; i++) table[UUID_ALPHABET.charCodeAt(i)] = 1;
  return table;
})();

function badChar(raw: string): string | undefined {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 128 || IN_ALPHABET[c] !== 1) return raw[i];
  }
  return undefined;
}

/** Parses a UUID in any dash placement (lvm removes every '-'); throws BAD_UUID with lvm's wording. */
export function parseUuid(text: string): string {
  const raw = text.includes('-') ? text.replaceAll('-', '') : text;
  if (raw.length !== ID_LEN)
    throw new LvmFormatError('BAD_UUID', `Invalid uuid "${text}": ${raw.length} characters, expected ${ID_LEN}.`);
  const ch = badChar(raw);
  if (ch !== undefined)
    throw new LvmFormatError('BAD_UUID', `UUID contains invalid character '${ch}'. Invalid uuid "${text}".`);
  return raw;
}

export function isValidRawUuid(raw: string): boolean {
  return raw.length === ID_LEN && badChar(raw) === undefined;
}

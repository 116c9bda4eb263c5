/**
 * 48-byte NUL-padded names, stored as UTF-8 bytes and compared like strncmp(a, b, 48).
 *
 * sanlock copies the bytes of its argument (UTF-8 in any UTF-8 locale) into the field, so a name is
 * stored as its UTF-8 encoding: at most NAME_LENGTH_BYTES bytes, NUL padded; a 48-byte name has no
 * terminator. In memory it is the string those bytes decode to. Bytes that are not valid UTF-8
 * (written by some other tool) decode to lone surrogates U+DC80..U+DCFF, one per byte, and encode
 * back to the same byte ("surrogate escape"), so every field round-trips byte for byte.
 */
import { NAME_LENGTH_BYTES } from './constants.js';
import { OnDiskError } from './errors.js';
import { requireBytes } from './bytes.js';

/** Lone surrogates U+DC80..U+DCFF stand for the bytes 0x80..0xFF that are not valid UTF-8. */
const ESCAPE_BASE = 0xdc00;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface NameOptions {
  /** Accept "" (a free delta lease has an empty host name; decoded records may have empty names). */
  allowEmpty?: boolean;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes a name is stored as (UTF-8; escaped bytes as themselves). */
export function nameBytes(name: string): Uint8Array {
  if (!LONE_SURROGATE.test(name)) return utf8.encode(name);
  const parts: number[] = [];
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= ESCAPE_BASE + 0x80 && code <= ESCAPE_BASE + 0xff) parts.push(code - ESCAPE_BASE);
    else parts.push(...utf8.encode(char));
  }
  return Uint8Array.from(parts);
}

/** True when the only lone surrogates in the name are escaped bytes (as decodeName makes them). */
function surrogatesAreEscapes(name: string): boolean {
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff && !(code >= ESCAPE_BASE + 0x80 && code <= ESCAPE_BASE + 0xff)) return false;
  }
  return true;
}

/** Throws OnDiskError NAME_TOO_LONG (> 48 bytes of UTF-8) or NAME_INVALID (empty, NUL, a lone surrogate). `what` names the field in messages. */
export function validateName(name: string, what: string, options: NameOptions = {}): void {
  if (typeof name !== 'string') {
    throw new OnDiskError('NAME_INVALID', `${what}: found ${typeof name}, expected a string`, {
      found: typeof name,
      expected: 'string',
    });
  }
  if (name.length === 0 && !options.allowEmpty) {
    throw new OnDiskError('NAME_INVALID', `${what} is empty: expected 1..${NAME_LENGTH_BYTES} bytes`, {
      found: '""',
      expected: `1..${NAME_LENGTH_BYTES} bytes`,
    });
  }
  const nul = name.indexOf('\0');
  if (nul >= 0) {
    throw new OnDiskError(
      'NAME_INVALID',
      `${what} ${JSON.stringify(name)} has a NUL byte at index ${nul}: names cannot contain NUL`,
      {
        found: 'a NUL byte',
        expected: 'no NUL',
      },
    );
  }
  if (!surrogatesAreEscapes(name)) {
    throw new OnDiskError(
      'NAME_INVALID',
      `${what} ${JSON.stringify(name)} is not valid Unicode text (a lone surrogate)`,
      {
        found: 'a lone surrogate',
        expected: 'Unicode text',
      },
    );
  }
  const byteLength = nameBytes(name).length;
  if (byteLength > NAME_LENGTH_BYTES) {
    const chars = [...name].length;
    const inChars = chars === byteLength ? '' : ` (${chars} characters)`;
    throw new OnDiskError(
      'NAME_TOO_LONG',
      `${what} ${JSON.stringify(name)} is ${byteLength} bytes in UTF-8${inChars}: expected at most ${NAME_LENGTH_BYTES}`,
      { found: `${byteLength} bytes`, expected: `at most ${NAME_LENGTH_BYTES} bytes` },
    );
  }
}

/** Writes the name into target[offset, offset+48) as UTF-8, NUL padded. Validates first. */
export function encodeName(
  name: string,
  target: Uint8Array,
  offset: number,
  what: string,
  options: NameOptions = {},
): void {
  validateName(name, what, options);
  requireBytes(target, offset, NAME_LENGTH_BYTES, `${what} field`);
  const bytes = nameBytes(name);
  target.fill(0, offset, offset + NAME_LENGTH_BYTES);
  target.set(bytes, offset);
}

/** Length of the valid UTF-8 sequence starting at bytes[i] (before `end`), or 0 when it is not one. */
function utf8SequenceLength(bytes: Uint8Array, i: number, end: number): number {
  const first = bytes[i] ?? 0;
  let length: number;
  let min: number;
  if (first < 0x80) return 1;
  if (first >= 0xc2 && first <= 0xdf) [length, min] = [2, 0x80];
  else if (first >= 0xe0 && first <= 0xef) [length, min] = [3, 0x800];
  else if (first >= 0xf0 && first <= 0xf4) [length, min] = [4, 0x10000];
  else return 0;
  if (i + length > end) return 0;
  let code = first & (0xff >> (length + 1));
  for (let k = 1; k < length; k++) {
    const next = bytes[i + k] ?? 0;
    if ((next & 0xc0) !== 0x80) return 0;
    code = (code << 6) | (next & 0x3f);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
  if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return 0;
  return length;
}

/** The bytes before the first NUL of the 48-byte field at offset, decoded as UTF-8 (invalid bytes escaped). */
export function decodeName(source: Uint8Array, offset: number): string {
  requireBytes(source, offset, NAME_LENGTH_BYTES, 'name field');
  let end = offset;
  let ascii = true;
  while (end < offset + NAME_LENGTH_BYTES && source[end] !== 0) {
    if ((source[end] ?? 0) >= 0x80) ascii = false;
    end++;
  }
  // Hot path: records are decoded by the thousand (whole lockspace areas, mostly empty slots). A
  // char loop, not a spread of a subarray: the spread allocates and cost ten times as much.
  if (end === offset) return '';
  if (ascii) {
    let name = '';
    for (let i = offset; i < end; i++) name += String.fromCharCode(source[i] ?? 0);
    return name;
  }
  let name = '';
  for (let i = offset; i < end; ) {
    const length = utf8SequenceLength(source, i, end);
    if (length === 0) {
      name += String.fromCharCode(ESCAPE_BASE + (source[i] ?? 0));
      i++;
    } else {
      name += utf8Decoder.decode(source.subarray(i, i + length));
      i += length;
    }
  }
  return name;
}

/** What strncmp(.., 48) sees of a name: its bytes up to the first NUL, at most 48. */
function significantBytes(name: string): Uint8Array {
  const nul = name.indexOf('\0');
  return nameBytes(nul === -1 ? name : name.slice(0, nul)).subarray(0, NAME_LENGTH_BYTES);
}

/** strncmp-with-48 equality on the stored bytes: bytes after the first NUL and beyond 48 do not count. */
export function namesEqual(a: string, b: string): boolean {
  const left = significantBytes(a);
  const right = significantBytes(b);
  return left.length === right.length && left.every((byte, i) => byte === right[i]);
}

/** The longest prefix of `text` that fits a name field without splitting a character. */
export function truncateName(text: string): string {
  let result = '';
  let bytes = 0;
  for (const char of text) {
    const length = nameBytes(char).length;
    if (bytes + length > NAME_LENGTH_BYTES) break;
    result += char;
    bytes += length;
  }
  return result;
}

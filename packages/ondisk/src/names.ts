/**
 * 48-byte NUL-padded names, compared like strncmp(a, b, 48).
 *
 * On disk a name is NAME_LENGTH_BYTES bytes, NUL padded; a 48-byte name has no terminator. In memory
 * it is the latin1 string of the bytes before the first NUL, so every decoded name is 0..48 chars
 * with no NUL and no char above U+00FF.
 */
import { NAME_LENGTH_BYTES } from './constants.js';
import { OnDiskError } from './errors.js';
import { requireBytes } from './bytes.js';

const LATIN1_MAX = 0xff;

export interface NameOptions {
  /** Accept "" (a free delta lease has an empty host name; decoded records may have empty names). */
  allowEmpty?: boolean;
}

/** Throws OnDiskError NAME_TOO_LONG (> 48 bytes) or NAME_INVALID (empty, NUL, char > U+00FF). `what` names the field in messages. */
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
  if (name.length > NAME_LENGTH_BYTES) {
    throw new OnDiskError(
      'NAME_TOO_LONG',
      `${what} ${JSON.stringify(name)} is ${name.length} bytes: expected at most ${NAME_LENGTH_BYTES}`,
      { found: `${name.length} bytes`, expected: `at most ${NAME_LENGTH_BYTES} bytes` },
    );
  }
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code === 0 || code > LATIN1_MAX) {
      const found = code === 0 ? 'a NUL byte' : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      throw new OnDiskError(
        'NAME_INVALID',
        `${what} ${JSON.stringify(name)} has ${found} at index ${i}: expected latin1 characters U+0001..U+00FF`,
        { found, expected: 'U+0001..U+00FF' },
      );
    }
  }
}

/** Writes the name into target[offset, offset+48), NUL padded. Validates first. */
export function encodeName(name: string, target: Uint8Array, offset: number, what: string, options: NameOptions = {}): void {
  validateName(name, what, options);
  requireBytes(target, offset, NAME_LENGTH_BYTES, `${what} field`);
  for (let i = 0; i < NAME_LENGTH_BYTES; i++) {
    target[offset + i] = i < name.length ? name.charCodeAt(i) : 0;
  }
}

/** The bytes before the first NUL of the 48-byte field at offset, as latin1. */
export function decodeName(source: Uint8Array, offset: number): string {
  requireBytes(source, offset, NAME_LENGTH_BYTES, 'name field');
  let name = '';
  for (let i = 0; i < NAME_LENGTH_BYTES; i++) {
    const byte = source[offset + i]!;
    if (byte === 0) break;
    name += String.fromCharCode(byte);
  }
  return name;
}

/** What strncmp(.., 48) sees of a string: up to the first NUL, at most 48 chars. */
function significantPart(name: string): string {
  const nul = name.indexOf('\0');
  return (nul === -1 ? name : name.slice(0, nul)).slice(0, NAME_LENGTH_BYTES);
}

/** strncmp-with-48 equality: bytes after the first NUL and beyond 48 do not count. */
export function namesEqual(a: string, b: string): boolean {
  return significantPart(a) === significantPart(b);
}

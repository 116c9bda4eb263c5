import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { NAME_LENGTH_BYTES, decodeName, encodeName, namesEqual, validateName } from '../src/index.js';
import { nameArb } from './arbitraries.js';
import { expectOnDiskError } from './expect-error.js';

describe('names', () => {
  test.prop([nameArb(1)], { numRuns: 300 })('encode/decode round trip, NUL padded', (name) => {
    const field = new Uint8Array(NAME_LENGTH_BYTES).fill(0xaa);
    encodeName(name, field, 0, 'name');
    expect(decodeName(field, 0)).toBe(name);
    expect(field.subarray(name.length).every((b) => b === 0)).toBe(true);
  });

  test.prop([fc.uint8Array({ minLength: NAME_LENGTH_BYTES, maxLength: NAME_LENGTH_BYTES })])('decode takes the latin1 bytes before the first NUL', (field) => {
    const name = decodeName(field, 0);
    const nul = field.indexOf(0);
    expect(name.length).toBe(nul === -1 ? NAME_LENGTH_BYTES : nul);
    for (let i = 0; i < name.length; i++) expect(name.charCodeAt(i)).toBe(field[i]);
  });

  test('latin1, 48 bytes without terminator, at an offset', () => {
    const buffer = new Uint8Array(100);
    encodeName('é'.repeat(48), buffer, 10, 'name');
    expect(buffer[10]).toBe(0xe9);
    expect(buffer[57]).toBe(0xe9);
    expect(buffer[58]).toBe(0);
    expect(decodeName(buffer, 10)).toBe('é'.repeat(48));
  });

  test('validation errors name the field and say what was expected', () => {
    expect(expectOnDiskError(() => validateName('x'.repeat(49), 'lockspace name'), 'NAME_TOO_LONG').message).toBe(
      `lockspace name "${'x'.repeat(49)}" is 49 bytes: expected at most 48`,
    );
    expect(expectOnDiskError(() => validateName('', 'resource name'), 'NAME_INVALID').message).toBe('resource name is empty: expected 1..48 bytes');
    expectOnDiskError(() => validateName('a\0b', 'name'), 'NAME_INVALID');
    expect(expectOnDiskError(() => validateName('ab€', 'name'), 'NAME_INVALID').message).toContain('U+20AC at index 2');
    expect(() => validateName('', 'host name', { allowEmpty: true })).not.toThrow();
    expectOnDiskError(() => encodeName('€', new Uint8Array(48), 0, 'name'), 'NAME_INVALID');
    expectOnDiskError(() => encodeName('ok', new Uint8Array(47), 0, 'name'), 'BUFFER_SIZE');
    expectOnDiskError(() => decodeName(new Uint8Array(48), 1), 'BUFFER_SIZE');
  });

  test('namesEqual is strncmp with a 48-byte limit', () => {
    expect(namesEqual('LS1', 'LS1')).toBe(true);
    expect(namesEqual('LS1', 'LS2')).toBe(false);
    expect(namesEqual('LS1', 'LS1\0tail')).toBe(true);
    expect(namesEqual('a'.repeat(48) + 'x', 'a'.repeat(48) + 'y')).toBe(true);
    expect(namesEqual('a'.repeat(47), 'a'.repeat(48))).toBe(false);
    expect(namesEqual('', '\0x')).toBe(true);
  });
});

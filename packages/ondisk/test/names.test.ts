import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  NAME_LENGTH_BYTES,
  decodeName,
  encodeName,
  nameBytes,
  namesEqual,
  truncateName,
  validateName,
} from '../src/index.js';
import { nameArb } from './arbitraries.js';
import { expectOnDiskError } from './expect-error.js';

describe('names', () => {
  test.prop([nameArb(1)], { numRuns: 300 })('encode/decode round trip, NUL padded', (name) => {
    const field = new Uint8Array(NAME_LENGTH_BYTES).fill(0xaa);
    encodeName(name, field, 0, 'name');
    expect(decodeName(field, 0)).toBe(name);
    expect(field.subarray(nameBytes(name).length).every((b) => b === 0)).toBe(true);
  });

  test.prop([fc.uint8Array({ minLength: NAME_LENGTH_BYTES, maxLength: NAME_LENGTH_BYTES })], { numRuns: 500 })(
    'any field round-trips byte for byte (the bytes before the first NUL, then NUL padding)',
    (field) => {
      const name = decodeName(field, 0);
      const nul = field.indexOf(0);
      const used = nul === -1 ? NAME_LENGTH_BYTES : nul;
      const again = new Uint8Array(NAME_LENGTH_BYTES).fill(0xaa);
      if (used > 0) encodeName(name, again, 0, 'name');
      else again.fill(0);
      expect([...again.subarray(0, used)]).toEqual([...field.subarray(0, used)]);
      expect(again.subarray(used).every((b) => b === 0)).toBe(true);
    },
  );

  test('UTF-8 on disk, as sanlock stores the bytes of its argument; 48 bytes without terminator, at an offset', () => {
    const buffer = new Uint8Array(100);
    encodeName('é'.repeat(24), buffer, 10, 'name');
    expect([buffer[10], buffer[11]]).toEqual([0xc3, 0xa9]);
    expect(buffer[57]).toBe(0xa9);
    expect(buffer[58]).toBe(0);
    expect(decodeName(buffer, 10)).toBe('é'.repeat(24));
    const euro = new Uint8Array(48);
    encodeName('ls€', euro, 0, 'name');
    expect([...euro.subarray(0, 6)]).toEqual([0x6c, 0x73, 0xe2, 0x82, 0xac, 0]);
  });

  test('bytes that are not UTF-8 (latin1 written by another tool) decode as escapes and encode back unchanged', () => {
    const field = new Uint8Array(48);
    field.set([0x61, 0xe9, 0x62]);
    const name = decodeName(field, 0);
    expect(name).toBe('a\udce9b');
    const again = new Uint8Array(48);
    encodeName(name, again, 0, 'name');
    expect([...again.subarray(0, 4)]).toEqual([0x61, 0xe9, 0x62, 0]);
  });

  test('validation errors name the field and say what was expected', () => {
    expect(expectOnDiskError(() => validateName('x'.repeat(49), 'lockspace name'), 'NAME_TOO_LONG').message).toBe(
      `lockspace name "${'x'.repeat(49)}" is 49 bytes in UTF-8: expected at most 48`,
    );
    expect(expectOnDiskError(() => validateName('é'.repeat(25), 'resource name'), 'NAME_TOO_LONG').message).toBe(
      `resource name "${'é'.repeat(25)}" is 50 bytes in UTF-8 (25 characters): expected at most 48`,
    );
    expect(() => validateName('é'.repeat(24), 'name')).not.toThrow();
    expect(expectOnDiskError(() => validateName('', 'resource name'), 'NAME_INVALID').message).toBe(
      'resource name is empty: expected 1..48 bytes',
    );
    expectOnDiskError(() => validateName('a\0b', 'name'), 'NAME_INVALID');
    expectOnDiskError(() => validateName('a\ud800b', 'name'), 'NAME_INVALID');
    expect(() => validateName('ab€', 'name')).not.toThrow();
    expect(() => validateName('', 'host name', { allowEmpty: true })).not.toThrow();
    expectOnDiskError(() => encodeName('€'.repeat(17), new Uint8Array(48), 0, 'name'), 'NAME_TOO_LONG');
    expectOnDiskError(() => encodeName('ok', new Uint8Array(47), 0, 'name'), 'BUFFER_SIZE');
    expectOnDiskError(() => decodeName(new Uint8Array(48), 1), 'BUFFER_SIZE');
  });

  test('truncateName keeps whole characters within 48 bytes', () => {
    expect(truncateName('x'.repeat(60))).toBe('x'.repeat(48));
    expect(truncateName('a' + 'é'.repeat(30))).toBe('a' + 'é'.repeat(23));
    expect(nameBytes(truncateName('€'.repeat(20))).length).toBe(48);
  });

  test('namesEqual is strncmp on the stored bytes with a 48-byte limit', () => {
    expect(namesEqual('LS1', 'LS1')).toBe(true);
    expect(namesEqual('LS1', 'LS2')).toBe(false);
    expect(namesEqual('LS1', 'LS1\0tail')).toBe(true);
    expect(namesEqual('a'.repeat(48) + 'x', 'a'.repeat(48) + 'y')).toBe(true);
    expect(namesEqual('a'.repeat(47), 'a'.repeat(48))).toBe(false);
    expect(namesEqual('', '\0x')).toBe(true);
    expect(namesEqual('é', '\udcc3\udca9')).toBe(true);
  });
});

/** The boot id the daemon compares with the one in its state: the machine's, or an emulated host's. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOOT_ID_ENV, readBootId } from '../src/clients/proc.js';

describe('readBootId', () => {
  it("is the kernel's boot id when nothing overrides it", () => {
    const kernel = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    expect(readBootId({})).toBe(kernel);
  });

  it('is the emulated host boot id when the test cluster sets one', () => {
    const emulated = '5d0c7e3e-1f7a-4a8e-9a55-0d6f3b2a9c11';
    expect(readBootId({ [BOOT_ID_ENV]: emulated })).toBe(emulated);
    expect(readBootId({ [BOOT_ID_ENV]: emulated })).not.toBe(readBootId({}));
  });

  it('refuses an override that is not a boot id', () => {
    expect(() => readBootId({ [BOOT_ID_ENV]: '' })).toThrow(/LEASEHOLD_BOOT_ID must be a boot id/);
    expect(() => readBootId({ [BOOT_ID_ENV]: '../etc/passwd' })).toThrow(/LEASEHOLD_BOOT_ID must be a boot id/);
  });
});

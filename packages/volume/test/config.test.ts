/** Device lists: explicit devices, the leasehold.conf filter with globs, one device under two names scanned once. */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { devicesToScan, expandDevicePatterns, loadVolumeConfig } from '@leasehold/volume';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('device lists', () => {
  it('reads devices and locking_dir from leasehold.conf, expands globs in order, and dedupes one file under two names', () => {
    dir = mkdtempSync(join(tmpdir(), 'leasehold-volcfg-'));
    for (const name of ['b2.img', 'b10.img', 'a.img', 'other.txt']) writeFileSync(join(dir, name), '');
    symlinkSync(join(dir, 'a.img'), join(dir, 'link-to-a'));
    const conf = join(dir, 'leasehold.conf');
    writeFileSync(
      conf,
      `# test\nio_timeout = 10\ndevices = ${dir}/*.img, ${dir}/link-to-a\nlocking_dir = ${dir}/lock\n`,
    );
    const config = loadVolumeConfig(conf);
    expect(config.lockingDir).toBe(`${dir}/lock`);
    expect(devicesToScan(undefined, config)).toEqual([`${dir}/a.img`, `${dir}/b2.img`, `${dir}/b10.img`]);
    expect(devicesToScan([`${dir}/link-to-a`], config)).toEqual([`${dir}/link-to-a`]);
    expect(expandDevicePatterns([`${dir}/nothing*`])).toEqual([]);
  });
  it('an explicit config path that does not exist is an error; the default may be absent', () => {
    expect(() => loadVolumeConfig('/nonexistent/leasehold.conf')).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG' }),
    );
  });
});

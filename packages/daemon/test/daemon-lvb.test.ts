/**
 * Value blocks through the daemon and the client library (sanlock's SANLK_ACQUIRE_LVB, set_lvb,
 * get_lvb): two daemons on one image pass a value through a lease; a shared holder's value is never
 * written; the value is on disk at sector 2002 of the lease, where sanlock keeps it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeaseholdError } from '@leasehold/client';
import { LVB_SECTOR_INDEX, decodeLvmValueBlock, encodeLvmValueBlock } from '@leasehold/ondisk';
import { MIB, TestDaemon, TestDir } from './support/harness.js';

const SS = 512;
let dir: TestDir;
let image: string;
let a: TestDaemon;
let b: TestDaemon;

const where = () => ({ lockspace: 'LS', resource: 'R1', path: image, offsetBytes: MIB });
const onDisk = (): Buffer =>
  readFileSync(image).subarray(MIB + LVB_SECTOR_INDEX * SS, MIB + (LVB_SECTOR_INDEX + 1) * SS);

beforeAll(async () => {
  dir = new TestDir();
  image = dir.image('lvb.img', 'LS', 1);
  [a, b] = await Promise.all([new TestDaemon(dir, { name: 'a' }).start(), new TestDaemon(dir, { name: 'b' }).start()]);
  await Promise.all([a.lockstart('LS', 1, image), b.lockstart('LS', 2, image)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  dir?.cleanup();
});

describe('value blocks through the daemon', () => {
  it('an EX holder sets the value at release; the next holder on another host reads it at acquire', async () => {
    const ca = await a.client('lvb-a');
    const cb = await b.client('lvb-b');
    try {
      const first = await ca.acquire(where(), { lvb: true });
      expect(first.lvb).toHaveLength(SS);
      expect(first.lvb?.every((byte) => byte === 0)).toBe(true);
      await first.release({ lvb: encodeLvmValueBlock({ version: 0x0101, flags: 0, rVersion: 7 }) });
      expect(decodeLvmValueBlock(onDisk())).toEqual({ version: 0x0101, flags: 0, rVersion: 7 });

      const second = await cb.acquire(where(), { lvb: true, waitSeconds: 10 });
      expect(decodeLvmValueBlock(second.lvb ?? Buffer.alloc(0))).toEqual({ version: 0x0101, flags: 0, rVersion: 7 });
      await second.setLvb(encodeLvmValueBlock({ version: 0x0101, flags: 0, rVersion: 8 }));
      // get_lvb returns the value as set, before it is written
      expect(decodeLvmValueBlock(await second.getLvb(8))).toMatchObject({ rVersion: 8 });
      expect(decodeLvmValueBlock(onDisk())).toMatchObject({ rVersion: 7 });
      await second.release();
      expect(decodeLvmValueBlock(onDisk())).toMatchObject({ rVersion: 8 });
    } finally {
      ca.close();
      cb.close();
    }
  });

  it('a SH holder reads only; without lvb at acquire, set_lvb and get_lvb are refused; bad hex is a bad request', async () => {
    const ca = await a.client('lvb-a2');
    try {
      const before = Buffer.from(onDisk());
      const shared = await ca.acquire(where(), { mode: 'SH', lvb: true, waitSeconds: 10 });
      expect(shared.lvb).toEqual(before);
      await shared.setLvb(Uint8Array.of(1, 2, 3));
      await shared.release();
      expect(onDisk()).toEqual(before);

      const plain = await ca.acquire(where(), { waitSeconds: 10 });
      const refused = await plain.setLvb(Uint8Array.of(1)).catch((error: unknown) => error);
      expect(isLeaseholdError(refused, 'BAD_ARGUMENT')).toBe(true);
      expect(String((refused as Error).message)).toMatch(/not acquired with its value block/);
      expect(isLeaseholdError(await plain.getLvb().catch((error: unknown) => error), 'BAD_ARGUMENT')).toBe(true);
      const badHex = await ca
        .call('set_lvb', { lockspace: 'LS', resource: 'R1', data: 'xyz' })
        .catch((error: unknown) => error);
      expect(isLeaseholdError(badHex, 'BAD_REQUEST')).toBe(true);
      await plain.release();
      expect(onDisk()).toEqual(before);
    } finally {
      ca.close();
    }
  });
});

/**
 * Value blocks against the real sanlock 3.8: python3-sanlock (SANLK_ACQUIRE_LVB, set_lvb, get_lvb)
 * writes a value that leasehold reads, and the reverse, on one lease in one lockspace shared by a
 * sanlock daemon (host_id 1) and a leasehold host (host_id 2). The bytes are lvmlockd's VGLK value
 * block (version 0x0101, r_version = seqno), checked at sector 2002 of the lease on the image.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LVB_SECTOR_INDEX, decodeLvmValueBlock, encodeLvmValueBlock } from '@leasehold/ondisk';
import { acquireLease, getValueBlock, releaseLease, setValueBlock } from '@leasehold/lease';
import { makeTempImage, requireSanlock, sanlockDirect, SanlockDaemon, type TempImage } from '@leasehold/testkit';
import {
  delay,
  IO_TIMEOUT_SECONDS,
  LeaseholdHost,
  RESOURCE_OFFSET,
  SS,
  until,
  leaderOf,
} from './paxos-sanlock-support.js';

const PYTHON = '/usr/bin/python3';
const LVB_OFFSET = RESOURCE_OFFSET + LVB_SECTOR_INDEX * SS;
const where = { spaceName: 'LS', resourceName: 'R', offsetBytes: RESOURCE_OFFSET };

let image: TempImage;
let daemon: SanlockDaemon;
let lh: LeaseholdHost;

/** Runs one python3-sanlock session on the sanlock host: acquire with lvb=True, then `body`, then release. */
function sanlockSession(body: string[], shared = false): string {
  const code = [
    'import sanlock, sys',
    'fd = sanlock.register()',
    `disks = [(${JSON.stringify(image.path)}, ${RESOURCE_OFFSET})]`,
    'for attempt in range(20):',
    '    try:',
    `        sanlock.acquire(b"LS", b"R", disks, slkfd=fd, shared=${shared ? 'True' : 'False'}, lvb=True)`,
    '        break',
    '    except sanlock.SanlockException as e:',
    '        if attempt == 19: print("ERR", e.errno); sys.exit(3)',
    '        import time; time.sleep(0.5)',
    ...body,
    'sanlock.release(b"LS", b"R", disks, slkfd=fd)',
    'print("DONE")',
  ].join('\n');
  const result = spawnSync(PYTHON, ['-c', code], {
    env: { ...process.env, ...daemon.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  expect(result.status, output).toBe(0);
  expect(output).toContain('DONE');
  return result.stdout;
}

function lvbOnDisk(): Buffer {
  return readFileSync(image.path).subarray(LVB_OFFSET, LVB_OFFSET + SS);
}

beforeAll(async () => {
  requireSanlock();
  image = makeTempImage(3 << 20);
  sanlockDirect(['init', '-s', `LS:0:${image.path}:0`, '-o', String(IO_TIMEOUT_SECONDS)]);
  sanlockDirect(['init', '-r', `LS:R:${image.path}:${RESOURCE_OFFSET}`]);
  daemon = await SanlockDaemon.start({ hostName: 'sanlock-lvb-host-1' });
  const added = await daemon.clientAsync([
    'add_lockspace',
    '-o',
    String(IO_TIMEOUT_SECONDS),
    '-s',
    `LS:1:${image.path}:0`,
  ]);
  expect(added.status, added.stdout + added.stderr).toBe(0);
  lh = await LeaseholdHost.join(image.path, 2, 'leasehold-lvb-host-2');
  await delay(3); // both sides have sampled each other
}, 90_000);

afterAll(async () => {
  await lh?.leave().catch(() => undefined);
  await daemon?.stop();
  image?.cleanup();
}, 60_000);

describe('value blocks against the real sanlock', () => {
  it('sanlock writes (set_lvb at EX release), leasehold reads it at acquire; leasehold writes, sanlock reads it with get_lvb', async () => {
    expect(lvbOnDisk().every((byte) => byte === 0)).toBe(true);
    const seqno5 = Buffer.from(encodeLvmValueBlock({ version: 0x0101, flags: 0, rVersion: 5 }));
    sanlockSession([`sanlock.set_lvb(b"LS", b"R", disks, bytes.fromhex("${seqno5.toString('hex')}"))`]);
    // The whole sector, as sanlock writes it: the 8 bytes set, the rest as read at acquire (zero).
    expect(lvbOnDisk().subarray(0, 8)).toEqual(seqno5);
    expect(
      lvbOnDisk()
        .subarray(8)
        .every((byte) => byte === 0),
    ).toBe(true);
    await until('sanlock to free R', () => leaderOf(image.path).timestamp === 0n, 10);

    // leasehold, exclusive: reads what sanlock wrote.
    let held = await acquireLease(lh.ctx, where, { valueBlock: true, waitSeconds: 10 });
    expect(decodeLvmValueBlock(getValueBlock(held, 8))).toEqual({ version: 0x0101, flags: 0, rVersion: 5 });
    expect(getValueBlock(held)).toHaveLength(SS);
    held = setValueBlock(held, encodeLvmValueBlock({ version: 0x0101, flags: 0, rVersion: 6 }));
    expect(await releaseLease(lh.ctx, held)).toBe('released');
    expect(decodeLvmValueBlock(lvbOnDisk())).toEqual({ version: 0x0101, flags: 0, rVersion: 6 });

    // sanlock, shared: get_lvb returns what leasehold wrote.
    const out = sanlockSession(['print("LVB", sanlock.get_lvb(b"LS", b"R", disks, 8).hex())'], true);
    expect(out).toContain(
      `LVB ${Buffer.from(encodeLvmValueBlock({ version: 0x0101, flags: 0, rVersion: 6 })).toString('hex')}`,
    );
  });

  it('a shared holder reads only: a value it sets is never written; without the value block, get/set fail', async () => {
    const before = Buffer.from(lvbOnDisk());
    let held = await acquireLease(lh.ctx, where, { mode: 'shared', valueBlock: true, waitSeconds: 10 });
    expect(Buffer.from(getValueBlock(held))).toEqual(before);
    held = setValueBlock(held, Uint8Array.of(9, 9, 9, 9));
    expect(await releaseLease(lh.ctx, held)).toBe('released');
    expect(lvbOnDisk()).toEqual(before);

    const plain = await acquireLease(lh.ctx, where, { waitSeconds: 10 });
    expect(() => getValueBlock(plain)).toThrow(/not acquired with its value block/);
    expect(() => setValueBlock(plain, Uint8Array.of(1))).toThrow(/not acquired with its value block/);
    await releaseLease(lh.ctx, plain);

    const exclusive = await acquireLease(lh.ctx, where, { valueBlock: true, waitSeconds: 10 });
    expect(() => setValueBlock(exclusive, new Uint8Array(SS + 1))).toThrow(/at most 512 bytes/);
    // released without a set: nothing written
    await releaseLease(lh.ctx, exclusive);
    expect(lvbOnDisk()).toEqual(before);
  });
});

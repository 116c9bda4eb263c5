/** findOpeners over a /proc-shaped tree (procRoot), and the /proc/PID/stat parser. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { attachLoop, detachLoop, makeTempImage, type TempImage } from '@leasehold/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOpeners, loopNameOf, loopStatus, MAX_OPENERS, parseProcStat, splitDeviceNumber } from '../src/index.js';

/** A /proc/PID/stat line with `comm` and starttime (field 22) and plausible values elsewhere. */
function statLine(pid: number, comm: string, startTime: bigint): string {
  const after = [
    'S',
    '1',
    String(pid),
    String(pid),
    '0',
    '-1',
    '4194560',
    '120',
    '0',
    '0',
    '0',
    '3',
    '1',
    '0',
    '0',
    '20',
    '0',
    '1',
    '0',
  ];
  return `${pid} (${comm}) ${[...after, String(startTime), '2506752', '200', '18446744073709551615'].join(' ')}\n`;
}

describe('parseProcStat', () => {
  test.prop([fc.string({ maxLength: 15 }).filter((s) => !s.includes('\n')), fc.bigInt({ min: 0n, max: 2n ** 63n })])(
    'reads comm (spaces and parentheses included) and field 22 back',
    (comm, startTime) => {
      expect(parseProcStat(statLine(4242, comm, startTime))).toEqual({ comm, startTime });
    },
  );

  it('rejects lines without a comm or a start time', () => {
    expect(parseProcStat('')).toBeNull();
    expect(parseProcStat('12 (x) S 1 2')).toBeNull();
  });
});

describe('splitDeviceNumber', () => {
  it("decodes dev_t as glibc's major()/minor() do, large numbers included", () => {
    expect(splitDeviceNumber(0x0701n)).toEqual({ major: 7, minor: 1 });
    expect(splitDeviceNumber(0xfd00n)).toEqual({ major: 253, minor: 0 });
    // major 259, minor 1048575 (NVMe partitions and loop devices past 255 use the high bits)
    const dev = ((259n & 0xfffn) << 8n) | (1048575n & 0xffn) | ((1048575n & ~0xffn) << 12n);
    expect(splitDeviceNumber(dev)).toEqual({ major: 259, minor: 1048575 });
  });
});

describe('findOpeners over a procRoot', () => {
  let image: TempImage;
  let device: string;
  let number: { major: number; minor: number };
  let proc: string;

  function fakeProcess(pid: number, comm: string, startTime: bigint, fds: Record<string, string>): void {
    mkdirSync(join(proc, String(pid), 'fd'), { recursive: true });
    writeFileSync(join(proc, String(pid), 'stat'), statLine(pid, comm, startTime));
    for (const [fd, target] of Object.entries(fds)) symlinkSync(target, join(proc, String(pid), 'fd', fd));
  }

  beforeAll(async () => {
    image = makeTempImage(4 * 1024 * 1024);
    device = attachLoop(image.path, 512);
    const status = await loopStatus(loopNameOf(device) ?? '');
    if (status === null) throw new Error(`${device} is not bound`);
    number = { major: status.major, minor: status.minor };
    proc = mkdtempSync(join(tmpdir(), 'leasehold-proc-'));
  });

  afterAll(() => {
    if (device !== undefined) detachLoop(device);
    image?.cleanup();
    if (proc !== undefined) rmSync(proc, { recursive: true, force: true });
  });

  it('names the processes with an fd on the device, not those with other files or no fds to read', async () => {
    fakeProcess(100, 'writer (x) y', 777n, { '0': '/dev/null', '7': device });
    fakeProcess(101, 'idle', 778n, { '0': '/dev/null', '1': image.path });
    fakeProcess(102, 'two', 779n, { '3': device, '4': device });
    fakeProcess(103, 'gone', 780n, { '3': join(proc, 'no-such-file') });
    mkdirSync(join(proc, '104'));
    mkdirSync(join(proc, 'self'));
    writeFileSync(join(proc, 'uptime'), '1 1\n');
    const openers = await findOpeners([number], { procRoot: proc });
    expect(openers.sort((a, b) => a.pid - b.pid)).toEqual([
      { pid: 100, startTime: 777n, comm: 'writer (x) y' },
      { pid: 102, startTime: 779n, comm: 'two' },
    ]);
    expect(await findOpeners([{ major: number.major, minor: number.minor + 1 }], { procRoot: proc })).toEqual([]);
  });

  it(`returns at most MAX_OPENERS (${MAX_OPENERS}) openers`, async () => {
    for (let pid = 1000; pid < 1000 + MAX_OPENERS + 3; pid++) fakeProcess(pid, 'many', BigInt(pid), { '9': device });
    const openers = await findOpeners([number], { procRoot: proc });
    expect(openers).toHaveLength(MAX_OPENERS);
    expect(new Set(openers.map((o) => o.pid)).size).toBe(MAX_OPENERS);
  });
});

/**
 * Issue 2 "Must show": `leasehold direct init` writes areas byte-identical to `sanlock direct init`
 * for every geometry; sanlock's read_leader accepts leasehold's areas; leasehold's dump and
 * read-leader read sanlock's areas. Runs against the real Debian sanlock (never skipped).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempImage, requireSanlock, sanlockDirect, runSanlock, type TempImage } from '@leasehold/testkit';
import { runCli } from './run-cli.js';

const GEOMETRIES: Array<{ ss: number; align: string; alignBytes: number }> = [
  { ss: 512, align: '1M', alignBytes: 1 << 20 },
  { ss: 4096, align: '1M', alignBytes: 1 << 20 },
  { ss: 4096, align: '2M', alignBytes: 2 << 20 },
  { ss: 4096, align: '4M', alignBytes: 4 << 20 },
  { ss: 4096, align: '8M', alignBytes: 8 << 20 },
];

let images: TempImage[] = [];
function image(sizeBytes: number): TempImage {
  const img = makeTempImage(sizeBytes);
  images.push(img);
  return img;
}

beforeAll(() => requireSanlock());
afterAll(() => {
  for (const img of images) img.cleanup();
  images = [];
});

function area(path: string, offsetBytes: number, lengthBytes: number): Buffer {
  return readFileSync(path).subarray(offsetBytes, offsetBytes + lengthBytes);
}

describe.each(GEOMETRIES)('geometry $ss/$align', ({ ss, align, alignBytes }) => {
  const offset = alignBytes; // a non-zero, aligned offset
  const size = 3 * alignBytes;

  it('lockspace init is byte-identical to sanlock (io_timeout 10 and 1)', () => {
    for (const io of [10, 1]) {
      const a = image(size);
      const b = image(size);
      sanlockDirect(['init', '-s', `LS1:0:${a.path}:${offset}`, '-Z', String(ss), '-A', align, '-o', String(io)]);
      const ours = runCli([
        'direct',
        'init',
        '-s',
        `LS1:0:${b.path}:${offset}`,
        '-Z',
        String(ss),
        '-A',
        align,
        '-o',
        String(io),
      ]);
      expect(ours.stderr).toBe('');
      expect(ours.status).toBe(0);
      expect(Buffer.compare(readFileSync(a.path), readFileSync(b.path))).toBe(0);
      const check = runSanlock(['direct', 'read_leader', '-s', `LS1:1:${b.path}:${offset}`]);
      expect(check.stdout).toContain('read_leader done 0');
      expect(check.stdout).toContain(`io_timeout ${io}`);
    }
  });

  it('resource init is byte-identical to sanlock (default and -n 4)', () => {
    for (const extra of [[], ['-n', '4']]) {
      const a = image(size);
      const b = image(size);
      sanlockDirect(['init', '-r', `LS1:RES1:${a.path}:${offset}`, '-Z', String(ss), '-A', align, ...extra]);
      const ours = runCli([
        'direct',
        'init',
        '-r',
        `LS1:RES1:${b.path}:${offset}`,
        '-Z',
        String(ss),
        '-A',
        align,
        ...extra,
      ]);
      expect(ours.status).toBe(0);
      expect(Buffer.compare(readFileSync(a.path), readFileSync(b.path))).toBe(0);
      const check = runSanlock(['direct', 'read_leader', '-r', `LS1:RES1:${b.path}:${offset}`]);
      expect(check.stdout).toContain('read_leader done 0');
    }
  });

  it('cleared resource (-z 1) differs from sanlock only in write_timestamp', () => {
    const a = image(size);
    const b = image(size);
    sanlockDirect(['init', '-r', `LS1:RES1:${a.path}:${offset}`, '-Z', String(ss), '-A', align, '-z', '1']);
    const ours = runCli([
      'direct',
      'init',
      '-r',
      `LS1:RES1:${b.path}:${offset}`,
      '-Z',
      String(ss),
      '-A',
      align,
      '-z',
      '1',
    ]);
    expect(ours.status).toBe(0);
    const theirs = Buffer.from(area(a.path, offset, alignBytes));
    const mine = Buffer.from(area(b.path, offset, alignBytes));
    expect(theirs.readUInt32LE(0)).toBe(0x11282016);
    expect(mine.readUInt32LE(0)).toBe(0x11282016);
    expect(mine.readBigUInt64LE(192)).toBeGreaterThan(0n);
    mine.writeBigUInt64LE(theirs.readBigUInt64LE(192), 192); // write_timestamp: time of the clear
    expect(Buffer.compare(theirs, mine)).toBe(0);
  });

  it('leasehold dump and read-leader read areas written by sanlock', () => {
    const a = image(size);
    sanlockDirect(['init', '-s', `LSX:0:${a.path}:0`, '-Z', String(ss), '-A', align, '-o', '5']);
    sanlockDirect(['init', '-r', `LSX:RESX:${a.path}:${offset}`, '-Z', String(ss), '-A', align]);
    const rl = runCli(['direct', 'read-leader', '-r', `LSX:RESX:${a.path}:${offset}`]);
    expect(rl.status).toBe(0);
    expect(rl.stdout).toContain('resource_name RESX');
    expect(rl.stdout).toContain(`sector_size ${ss}`);
    const rs = runCli(['direct', 'read-leader', '-s', `LSX:3:${a.path}:0`, '--json']);
    expect(rs.status).toBe(0);
    const json = JSON.parse(rs.stdout) as {
      valid: boolean;
      offsetBytes: number;
      leader: { ioTimeoutSeconds: number; spaceName: string };
    };
    expect(json.valid).toBe(true);
    expect(json.offsetBytes).toBe(2 * ss);
    expect(json.leader.ioTimeoutSeconds).toBe(5);
    expect(json.leader.spaceName).toBe('LSX');
    const dump = runCli(['direct', 'dump', `${a.path}:0:${size}`, '--json']);
    expect(dump.status).toBe(0);
    const areas = (
      JSON.parse(dump.stdout) as { areas: Array<{ kind: string; offsetBytes: number; resourceName: string }> }
    ).areas;
    expect(areas.map((x) => [x.kind, x.offsetBytes, x.resourceName])).toEqual([['paxos', offset, 'RESX']]);
  });
});

describe('non-ASCII names are stored as UTF-8 bytes, as sanlock stores them', () => {
  it('lockspace and resource areas with names like "lsé€" are byte-identical to sanlock\'s; leasehold reads sanlock\'s back', () => {
    const space = 'lsé€';
    const resource = 'résumé-ü';
    const a = image(3 << 20);
    const b = image(3 << 20);
    sanlockDirect(['init', '-s', `${space}:0:${a.path}:0`]);
    sanlockDirect(['init', '-r', `${space}:${resource}:${a.path}:1048576`]);
    expect(runCli(['direct', 'init', '-s', `${space}:0:${b.path}:0`]).status).toBe(0);
    expect(runCli(['direct', 'init', '-r', `${space}:${resource}:${b.path}:1048576`]).status).toBe(0);
    expect(Buffer.compare(area(a.path, 0, 2 << 20), area(b.path, 0, 2 << 20))).toBe(0);
    // The name field holds the UTF-8 bytes (é = c3 a9, € = e2 82 ac), NUL padded.
    expect([...area(b.path, 56, 9)]).toEqual([0x6c, 0x73, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0, 0]);
    const leader = runCli(['direct', 'read-leader', '-r', `${space}:${resource}:${a.path}:1048576`]);
    expect(leader.status).toBe(0);
    expect(leader.stdout).toContain(`resource_name ${resource}`);
    expect(runSanlock(['direct', 'read_leader', '-r', `${space}:${resource}:${b.path}:1048576`]).stdout).toContain(
      'read_leader done 0',
    );
  });

  it('a name of more than 48 bytes in UTF-8 is refused, though it has fewer than 48 characters', () => {
    const img = image(2 << 20);
    const before = readFileSync(img.path);
    const result = runCli(['direct', 'init', '-s', `${'é'.repeat(25)}:0:${img.path}:0`]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^leasehold: NAME_TOO_LONG: lockspace name ".*" is 50 bytes in UTF-8 \(25 characters\): expected at most 48/,
    );
    expect(Buffer.compare(before, readFileSync(img.path))).toBe(0);
  });
});

describe('init refuses to overwrite', () => {
  it('a valid lockspace, a resource and foreign data, unless --force; nothing is written', () => {
    const img = image(4 << 20);
    sanlockDirect(['init', '-s', `LS1:0:${img.path}:0`]);
    sanlockDirect(['init', '-r', `LS1:R1:${img.path}:1048576`]);
    const foreign = Buffer.alloc(512, 0x5a);
    const bytes = readFileSync(img.path);
    foreign.copy(bytes, 2 << 20);
    writeFileSync(img.path, bytes);
    const before = readFileSync(img.path);

    const overLockspace = runCli(['direct', 'init', '-r', `LS1:R2:${img.path}:0`]);
    expect(overLockspace.status).not.toBe(0);
    expect(overLockspace.stderr).toMatch(/AREA_NOT_EMPTY: .*lockspace "LS1"/);
    const overResource = runCli(['direct', 'init', '-s', `LS2:0:${img.path}:1048576`]);
    expect(overResource.status).not.toBe(0);
    expect(overResource.stderr).toMatch(/AREA_NOT_EMPTY: .*resource "LS1:R1"/);
    const overData = runCli(['direct', 'init', '-r', `LS1:R3:${img.path}:${2 << 20}`]);
    expect(overData.status).not.toBe(0);
    expect(overData.stderr).toMatch(/AREA_NOT_EMPTY: .*non-zero data .*offset 2097152/);
    expect(Buffer.compare(before, readFileSync(img.path))).toBe(0);

    const forced = runCli(['direct', 'init', '-r', `LS1:R2:${img.path}:0`, '--force']);
    expect(forced.status).toBe(0);
    expect(forced.stderr).toContain('overwriting lockspace "LS1"');
    expect(runSanlock(['direct', 'read_leader', '-r', `LS1:R2:${img.path}:0`]).stdout).toContain('read_leader done 0');
  });

  it('bad arguments give a stable code and exit 2', () => {
    const img = image(4 << 20);
    const longName = 'x'.repeat(49);
    const tooLong = runCli(['direct', 'init', '-s', `${longName}:0:${img.path}:0`]);
    expect(tooLong.status).toBe(2);
    expect(tooLong.stderr).toMatch(/NAME_TOO_LONG: .*48/);
    const misaligned = runCli(['direct', 'init', '-s', `LS:0:${img.path}:4096`]);
    expect(misaligned.status).toBe(2);
    expect(misaligned.stderr).toMatch(/BAD_OFFSET/);
    const badGeometry = runCli(['direct', 'init', '-s', `LS:0:${img.path}:0`, '-Z', '512', '-A', '8M']);
    expect(badGeometry.status).toBe(2);
    expect(badGeometry.stderr).toMatch(/BAD_GEOMETRY/);
    const tooSmall = runCli(['direct', 'init', '-s', `LS:0:${img.path}:${4 << 20}`]);
    expect(tooSmall.status).not.toBe(0);
    expect(tooSmall.stderr).toMatch(/DEVICE_TOO_SMALL/);
  });

  it('read-leader reports corruption with a typed error and non-zero exit', () => {
    const img = image(2 << 20);
    sanlockDirect(['init', '-r', `LS1:R1:${img.path}:0`]);
    const bytes = readFileSync(img.path);
    bytes.writeUInt8(bytes.readUInt8(60) ^ 0x01, 60); // inside space_name, covered by the checksum
    writeFileSync(img.path, bytes);
    const result = runCli(['direct', 'read-leader', '-r', `LS1:R1:${img.path}:0`]);
    expect(result.status).toBe(1);
    // Byte 60 is past "LS1" and its NUL: the name still compares equal, the checksum does not.
    expect(result.stderr).toMatch(/^leasehold: DAMAGED: bad leader checksum/);
  });
});

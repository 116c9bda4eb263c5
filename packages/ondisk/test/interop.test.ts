/**
 * Byte-exact interop with the real sanlock 3.8 binary (`sanlock direct`, no daemon needed).
 * These tests fail, never skip, when sanlock is missing: the binary is the oracle for the format.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  MIB,
  REQUEST_MAGIC,
  REQUEST_VERSION,
  RINDEX_LEASE_NAME,
  allGeometries,
  buildLockspaceArea,
  buildResourceArea,
  buildRindexArea,
  decodeLeader,
  deltaSectorOffset,
  encodeLeader,
  verifyLeader,
  verifyRequest,
  verifyRindexHeader,
  type Geometry,
} from '../src/index.js';
import { expectOnDiskError } from './expect-error.js';

const SANLOCK_BINARY = '/usr/sbin/sanlock';
const FILL_BYTE = 0xaa;
const LONG_NAME = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL'; // 48 bytes: no terminator on disk
const REQUEST_PADDING_OFFSET_BYTES = 20;

const workDir = mkdtempSync(join(tmpdir(), 'leasehold-ondisk-interop-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function sanlock(args: string[]): string {
  try {
    return execFileSync(SANLOCK_BINARY, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (error) {
    const failed = error as { message: string; stdout?: string; stderr?: string };
    throw new Error(
      `sanlock ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`,
      { cause: error },
    );
  }
}

const alignText = (geometry: Geometry): string => `${geometry.alignBytes / MIB}M`;
const geometryArgs = (geometry: Geometry): string[] => ['-Z', String(geometry.sectorSize), '-A', alignText(geometry)];

let imageCount = 0;
/** A new image file of `sizeBytes`: sparse zeros, or filled with FILL_BYTE to catch stray writes. */
function newImage(sizeBytes: number, fill: 'sparse' | 'filled'): string {
  const path = join(workDir, `img${imageCount++}.img`);
  if (fill === 'filled') writeFileSync(path, new Uint8Array(sizeBytes).fill(FILL_BYTE));
  else {
    writeFileSync(path, '');
    truncateSync(path, sizeBytes);
  }
  return path;
}

const readImage = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

/** Equal bytes, reported as the first differing offset rather than a megabyte diff. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      first = i;
      break;
    }
  }
  expect(
    first === -1
      ? 'identical'
      : `first difference at byte ${first}: sanlock 0x${actual[first]!.toString(16)}, leasehold 0x${expected[first]!.toString(16)}`,
    what,
  ).toBe('identical');
}

function expectUntouched(image: Uint8Array, start: number, end: number, what: string): void {
  expect(
    image.subarray(start, end).every((b) => b === FILL_BYTE),
    `${what}: bytes ${start}..${end - 1} must keep the fill`,
  ).toBe(true);
}

test('the real sanlock binary is installed (required: apt-get install sanlock)', () => {
  expect(existsSync(SANLOCK_BINARY), `${SANLOCK_BINARY} is missing`).toBe(true);
  expect(sanlock(['version'])).toMatch(/3\.8/);
});

describe.each(allGeometries().map((geometry) => ({ geometry, name: `${geometry.sectorSize}/${alignText(geometry)}` })))(
  'sanlock direct vs leasehold, $name',
  ({ geometry }) => {
    const align = geometry.alignBytes;

    test('lockspace -o 10 at offset align: byte-identical, nothing written outside the area, every sector verifies', () => {
      const path = newImage(3 * align, 'filled');
      sanlock(['direct', 'init', '-s', `LS:0:${path}:${align}`, ...geometryArgs(geometry), '-o', '10']);
      const image = readImage(path);
      const area = image.subarray(align, 2 * align);
      expectSameBytes(area, buildLockspaceArea({ spaceName: 'LS', geometry, ioTimeoutSeconds: 10 }), 'lockspace area');
      expectUntouched(image, 0, align, 'before the area');
      expectUntouched(image, 2 * align, 3 * align, 'after the area');
      for (let hostId = 1; hostId <= geometry.maxHosts; hostId++) {
        const rec = verifyLeader(image, deltaSectorOffset(align, hostId, geometry), {
          kind: 'delta',
          spaceName: 'LS',
          sectorSize: geometry.sectorSize,
          offsetBytes: align,
        });
        if (hostId === 1) expect(rec.ioTimeoutSeconds).toBe(10);
      }
    });

    test('lockspace -o 1 with a 48-byte name: byte-identical', () => {
      const path = newImage(2 * align, 'sparse');
      sanlock(['direct', 'init', '-s', `${LONG_NAME}:0:${path}:0`, ...geometryArgs(geometry), '-o', '1']);
      const image = readImage(path);
      expectSameBytes(
        image.subarray(0, align),
        buildLockspaceArea({ spaceName: LONG_NAME, geometry, ioTimeoutSeconds: 1 }),
        'lockspace area',
      );
      expect(verifyLeader(image, 0, { kind: 'delta', spaceName: LONG_NAME }).ioTimeoutSeconds).toBe(1);
    });

    test('resource (default num_hosts) at offset align: byte-identical, nothing written outside, leader and request verify', () => {
      const path = newImage(3 * align, 'filled');
      sanlock(['direct', 'init', '-r', `LS:R:${path}:${align}`, ...geometryArgs(geometry)]);
      const image = readImage(path);
      expectSameBytes(
        image.subarray(align, 2 * align),
        buildResourceArea({ spaceName: 'LS', resourceName: 'R', geometry }),
        'resource area',
      );
      expectUntouched(image, 0, align, 'before the area');
      expectUntouched(image, 2 * align, 3 * align, 'after the area');
      const leader = verifyLeader(image, align, {
        kind: 'paxos',
        spaceName: 'LS',
        resourceName: 'R',
        hostId: geometry.maxHosts,
        offsetBytes: align,
      });
      expect(leader.numHosts).toBe(BigInt(geometry.maxHosts));
      expect(verifyRequest(image, align + geometry.sectorSize)).toEqual({
        magic: REQUEST_MAGIC,
        version: REQUEST_VERSION,
        lver: 0n,
        forceMode: 0,
      });
    });

    test('resource -n 4 with a 48-byte resource name: byte-identical', () => {
      const path = newImage(2 * align, 'sparse');
      sanlock(['direct', 'init', '-r', `LS:${LONG_NAME}:${path}:0`, ...geometryArgs(geometry), '-n', '4']);
      const image = readImage(path);
      expectSameBytes(
        image.subarray(0, align),
        buildResourceArea({ spaceName: 'LS', resourceName: LONG_NAME, geometry, numHosts: 4 }),
        'resource area',
      );
      expect(verifyLeader(image, 0, { kind: 'paxos', spaceName: 'LS', resourceName: LONG_NAME }).numHosts).toBe(4n);
    });

    test("resource -z 1 (CLEAR): byte-identical once sanlock's write_timestamp is substituted; reads give LEADER_CLEARED", () => {
      const path = newImage(2 * align, 'sparse');
      sanlock(['direct', 'init', '-r', `LS:R:${path}:0`, ...geometryArgs(geometry), '-z', '1']);
      const image = readImage(path);
      const written = decodeLeader(image, 0);
      expectSameBytes(
        image.subarray(0, align),
        buildResourceArea({
          spaceName: 'LS',
          resourceName: 'R',
          geometry,
          clearWriteTimestamp: written.writeTimestamp,
        }),
        'cleared resource area',
      );
      expectOnDiskError(
        () => verifyLeader(image, 0, { kind: 'paxos', spaceName: 'LS', resourceName: 'R', offsetBytes: 0 }),
        'LEADER_CLEARED',
      );
    });

    test("rindex format -x at offset align: header area and rindex_lease byte-identical (except sanlock's uninitialized request padding)", () => {
      const path = newImage(4 * align, 'filled');
      sanlock(['direct', 'format', '-x', `LS:${path}:${align}`, ...geometryArgs(geometry)]);
      const image = readImage(path);
      expectSameBytes(
        image.subarray(align, 2 * align),
        buildRindexArea({ lockspaceName: 'LS', geometry, areaOffsetBytes: align }),
        'rindex area',
      );
      expect(verifyRindexHeader(image, align, align).lockspaceName).toBe('LS');
      const lease = image.slice(2 * align, 3 * align);
      // sanlock leaves stack garbage in the request record's 4 padding bytes here; readers ignore them.
      lease.fill(
        0,
        geometry.sectorSize + REQUEST_PADDING_OFFSET_BYTES,
        geometry.sectorSize + REQUEST_PADDING_OFFSET_BYTES + 4,
      );
      expectSameBytes(
        lease,
        buildResourceArea({ spaceName: 'LS', resourceName: RINDEX_LEASE_NAME, geometry }),
        'rindex_lease area',
      );
      expectUntouched(image, 0, align, 'before the rindex');
      expectUntouched(image, 3 * align, 4 * align, 'after the rindex lease');
    });

    test('sanlock direct read_leader accepts leasehold-written areas (magic, version, names, checksum)', () => {
      const path = newImage(2 * align, 'sparse');
      const image = new Uint8Array(2 * align);
      image.set(buildLockspaceArea({ spaceName: 'LS', geometry, ioTimeoutSeconds: 10 }), 0);
      image.set(buildResourceArea({ spaceName: 'LS', resourceName: 'R', geometry, numHosts: 4 }), align);
      writeFileSync(path, image);
      const expectedDeltaChecksum = encodeLeader(decodeLeader(image, 0), new Uint8Array(200));
      for (const hostId of [1, geometry.maxHosts]) {
        const output = sanlock(['direct', 'read_leader', '-s', `LS:${hostId}:${path}:0`]);
        expect(output).toContain('read_leader done 0');
        expect(output).toContain(`checksum 0x${expectedDeltaChecksum.toString(16)}`);
      }
      const paxos = sanlock(['direct', 'read_leader', '-r', `LS:R:${path}:${align}`]);
      expect(paxos).toContain('read_leader done 0');
      expect(paxos).toMatch(/num_hosts 4\n/);
      expect(paxos).toMatch(new RegExp(`max_hosts ${geometry.maxHosts}\\n`));
    });
  },
);

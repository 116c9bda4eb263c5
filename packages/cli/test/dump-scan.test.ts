/**
 * `direct dump`'s scan: it skips sectors without a leader magic before decoding them (the fast
 * path), and finds the same areas with junk around them as without.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryDisk } from '@leasehold/disk';
import {
  buildLockspaceArea,
  buildResourceArea,
  CLEAR_LEADER_MAGIC,
  decodeLeader,
  DELTA_LEADER_MAGIC,
  encodeLeader,
  geometryFor,
  PAXOS_LEADER_MAGIC,
} from '@leasehold/ondisk';
import { scanDevice } from '../src/dump-scan.js';

const SECTOR = 512;
const MIB = 1024 * 1024;
const DISK_BYTES = 8 * MIB;
const GEOMETRY = geometryFor(SECTOR, MIB);
/** Where junk goes: two empty MiB between the resource area and the end. */
const JUNK_START_SECTOR = (2 * MIB) / SECTOR;
const JUNK_END_SECTOR = (4 * MIB) / SECTOR;
const KNOWN_MAGICS = [DELTA_LEADER_MAGIC, PAXOS_LEADER_MAGIC, CLEAR_LEADER_MAGIC];

/** A lockspace at 0 with hosts 1 and 5 owned, a resource at 1 MiB; the rest zero. */
function baseImage(): Uint8Array {
  const bytes = new Uint8Array(DISK_BYTES);
  bytes.set(buildLockspaceArea({ spaceName: 'ls', geometry: GEOMETRY, ioTimeoutSeconds: 1 }), 0);
  for (const hostId of [1, 5]) {
    const at = (hostId - 1) * SECTOR;
    const leader = decodeLeader(bytes, at);
    encodeLeader(
      { ...leader, ownerId: BigInt(hostId), ownerGeneration: 1n, timestamp: 100n + BigInt(hostId) },
      bytes,
      at,
    );
  }
  bytes.set(buildResourceArea({ spaceName: 'ls', resourceName: 'res', geometry: GEOMETRY }), MIB);
  return bytes;
}

async function scan(bytes: Uint8Array): Promise<Array<{ kind: string; offsetBytes: number; resourceName: string }>> {
  const disk = new MemoryDisk({ sizeBytes: bytes.length, sectorSize: SECTOR, initialBytes: bytes });
  const rows = await scanDevice(disk, 0, bytes.length);
  return rows.map(({ kind, offsetBytes, resourceName }) => ({ kind, offsetBytes, resourceName }));
}

const EXPECTED = [
  { kind: 'delta', offsetBytes: 0, resourceName: '' },
  { kind: 'delta', offsetBytes: 4 * SECTOR, resourceName: '' },
  { kind: 'paxos', offsetBytes: MIB, resourceName: 'res' },
];

function magicOf(sector: Uint8Array): number {
  return new DataView(sector.buffer, sector.byteOffset, 4).getUint32(0, true);
}

describe('direct dump scan', () => {
  it('lists the owned host sectors and the resource leader, nothing from empty sectors', async () => {
    const rows = await scan(baseImage());
    expect(rows.map(({ kind, offsetBytes }) => ({ kind, offsetBytes }))).toEqual(
      EXPECTED.map(({ kind, offsetBytes }) => ({ kind, offsetBytes })),
    );
    expect(rows[2]?.resourceName).toBe('res');
  });

  it('skips a sector with a leader magic but flags no geometry has (decodeLeader accepts it)', async () => {
    const bytes = baseImage();
    for (const [i, magic] of KNOWN_MAGICS.entries()) {
      new DataView(bytes.buffer).setUint32((JUNK_START_SECTOR + i) * SECTOR, magic, true);
    }
    expect(await scan(bytes)).toEqual(await scan(baseImage()));
  });

  it('finds the same areas whatever junk lies in the empty space (property)', async () => {
    const base = await scan(baseImage());
    expect(base.length).toBe(EXPECTED.length);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            sector: fc.integer({ min: JUNK_START_SECTOR, max: JUNK_END_SECTOR - 1 }),
            bytes: fc.uint8Array({ minLength: SECTOR, maxLength: SECTOR }),
          }),
          { maxLength: 20 },
        ),
        async (junk) => {
          const bytes = baseImage();
          for (const { sector, bytes: data } of junk) {
            // Random bytes that happen to start with a magic are leaders, not junk.
            if (KNOWN_MAGICS.includes(magicOf(data))) data[0] = (data[0] ?? 0) ^ 0xff;
            bytes.set(data, sector * SECTOR);
          }
          expect(await scan(bytes)).toEqual(base);
        },
      ),
      { numRuns: 30 },
    );
  });
});

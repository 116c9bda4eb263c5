import { describe, expect, it } from 'vitest';
import { DiskError } from '@leasehold/disk';
import { SimWorld, type IoFaultSettings, type LandedWrite } from '@leasehold/sim';

const SECTOR_BYTES = 512;

function worldWithDisk(seed: number, sectors = 16): SimWorld {
  const world = new SimWorld({ seed });
  world.addDisk({ name: 'shared', sectorSize: SECTOR_BYTES, sizeBytes: SECTOR_BYTES * sectors });
  return world;
}

function sector(fill: number, count = 1): Uint8Array {
  return new Uint8Array(SECTOR_BYTES * count).fill(fill);
}

describe('SimDisk', () => {
  it('a completed write is visible to every host; latency stays in bounds', async () => {
    const world = worldWithDisk(1);
    const faults: Partial<IoFaultSettings> = { minLatencySeconds: 0.1, maxLatencySeconds: 0.3 };
    let readBack: Uint8Array | undefined;
    let writeDoneAt = 0;
    world.addHost({ machine: 'writer', ioFaults: faults }).start(async (context) => {
      await context.disk().write(SECTOR_BYTES, sector(7));
      writeDoneAt = world.nowSeconds;
    });
    world.addHost({ machine: 'reader', ioFaults: faults }).start(async (context) => {
      await context.clock.sleep(1);
      readBack = await context.disk().read(SECTOR_BYTES, SECTOR_BYTES);
    });
    await world.runUntil(5);
    expect(writeDoneAt).toBeGreaterThanOrEqual(0.1);
    expect(writeDoneAt).toBeLessThanOrEqual(0.3);
    expect(readBack).toEqual(sector(7));
  });

  it('rejects unaligned I/O with EALIGN', async () => {
    const world = worldWithDisk(2);
    let code: string | undefined;
    world.addHost({ machine: 'h1' }).start(async (context) => {
      await context
        .disk()
        .read(100, SECTOR_BYTES)
        .catch((error: unknown) => {
          code = error instanceof DiskError ? error.code : 'other';
        });
    });
    await world.runUntil(1);
    expect(code).toBe('EALIGN');
  });

  it('fails I/O with EIO when the path fails, and a failed write may or may not land', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const world = worldWithDisk(seed);
      let code: string | undefined;
      world.addHost({ machine: 'h1', ioFaults: { failProbability: 1 } }).start(async (context) => {
        await context
          .disk()
          .write(0, sector(9))
          .catch((error: unknown) => {
            code = error instanceof DiskError ? error.code : 'other';
          });
      });
      await world.runUntil(1);
      expect(code).toBe('EIO');
      outcomes.add(world.disks[0]?.peek(0, 1)[0] === 9 ? 'landed' : 'lost');
    }
    expect(outcomes).toEqual(new Set(['landed', 'lost']));
  });

  it('a hung path completes nothing until the hang is lifted', async () => {
    const world = worldWithDisk(3);
    const host = world.addHost({ machine: 'h1' });
    let doneAt: number | undefined;
    host.start(async (context) => {
      await context.disk().write(0, sector(1));
      doneAt = world.nowSeconds;
    });
    host.ioFaults.hang(0);
    world.at(50, 'unhang', () => host.ioFaults.releaseHang());
    await world.runUntil(49);
    expect(doneAt).toBeUndefined();
    await world.runUntil(60);
    expect(doneAt).toBe(50);
    expect(world.disks[0]?.peek(0, 1)[0]).toBe(1);
  });

  it('a hung I/O of a host that crashes never completes', async () => {
    const world = worldWithDisk(4);
    const host = world.addHost({ machine: 'h1' });
    let completed = false;
    host.start(async (context) => {
      await context.disk().read(0, SECTOR_BYTES);
      completed = true;
    });
    host.ioFaults.hang(0);
    world.at(5, 'crash', () => host.crash());
    world.at(10, 'unhang', () => host.ioFaults.releaseHang());
    await world.runUntil(20);
    expect(completed).toBe(false);
  });

  it('a crash lets an in-flight write land or not, chosen per run', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const world = worldWithDisk(seed);
      const host = world.addHost({ machine: 'h1', ioFaults: { minLatencySeconds: 1, maxLatencySeconds: 1 } });
      host.start(async (context) => {
        await context.disk().write(0, sector(5));
      });
      // The write lands somewhere in [0, 1]; crash right after it was issued, before most land.
      world.at(0.001, 'crash', () => host.crash());
      await world.runUntil(5);
      outcomes.add(world.disks[0]?.peek(0, 1)[0] === 5 ? 'landed' : 'lost');
    }
    expect(outcomes).toEqual(new Set(['landed', 'lost']));
  });

  it('single-sector writes never tear; multi-sector writes tear when that fault is on', async () => {
    let sawTornState = false;
    for (let seed = 0; seed < 60 && !sawTornState; seed++) {
      const world = worldWithDisk(seed);
      const writes: LandedWrite[] = [];
      world.disks[0]?.onWrite((write) => writes.push(write));
      const host = world.addHost({
        machine: 'h1',
        ioFaults: { tornWrites: true, minLatencySeconds: 1, maxLatencySeconds: 1 },
      });
      host.start(async (context) => {
        await context.disk().write(0, sector(3, 8));
      });
      world.at(0.5, 'crash', () => host.crash());
      await world.runUntil(5);
      const landedSectors = Array.from({ length: 8 }, (_, index) => world.disks[0]?.peek(index * SECTOR_BYTES, 1)[0]);
      const count = landedSectors.filter((value) => value === 3).length;
      if (count > 0 && count < 8) sawTornState = true;
      for (const write of writes) expect(write.data.byteLength % SECTOR_BYTES).toBe(0);
    }
    expect(sawTornState).toBe(true);
  });

  it('reads sample the disk at a moment inside their latency, so they race with writes', async () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const world = worldWithDisk(seed);
      const slow: Partial<IoFaultSettings> = { minLatencySeconds: 1, maxLatencySeconds: 1 };
      let value: number | undefined;
      world.addHost({ machine: 'w', ioFaults: slow }).start(async (context) => context.disk().write(0, sector(1)));
      world.addHost({ machine: 'r', ioFaults: slow }).start(async (context) => {
        value = (await context.disk().read(0, SECTOR_BYTES))[0];
      });
      await world.runUntil(5);
      if (value !== undefined) seen.add(value);
    }
    expect(seen).toEqual(new Set([0, 1]));
  });

  it('stale reads return older contents when that fault is on', async () => {
    const world = worldWithDisk(5);
    world.disks[0]?.enableStaleReads();
    let value: number | undefined;
    world.addHost({ machine: 'w' }).start(async (context) => context.disk().write(0, sector(1)));
    world
      .addHost({ machine: 'r', ioFaults: { staleReadProbability: 1, staleWindowSeconds: 1000 } })
      .start(async (context) => {
        await context.clock.sleep(1);
        value = (await context.disk().read(0, SECTOR_BYTES))[0];
      });
    await world.runUntil(5);
    expect(value).toBe(0);
  });
});

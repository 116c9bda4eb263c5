import { describe, expect, it } from 'vitest';
import { CountingDisk, FaultyDisk, MemoryDisk, SectorHistory } from '../src/index.js';
import { ManualClock, sequenceRandom, settleMicrotasks, track } from './manual-clock.js';

const SECTOR = 512;
const DISK_SECTORS = 16;

function sectorOf(value: number, sectorCount = 1): Uint8Array {
  return new Uint8Array(SECTOR * sectorCount).fill(value);
}

function setup(options: { random?: () => number; history?: SectorHistory } = {}) {
  const memory = new MemoryDisk({ sectorSize: SECTOR, sizeBytes: DISK_SECTORS * SECTOR, name: 'mem' });
  const clock = new ManualClock();
  const disk = new FaultyDisk(memory, { sleep: clock.sleep, ...options });
  return { memory, clock, disk };
}

describe('FaultyDisk without faults', () => {
  it('passes I/O through and exposes the inner geometry', async () => {
    const { memory, disk } = setup();
    expect([disk.path, disk.sectorSize, disk.sizeBytes]).toEqual(['mem', SECTOR, DISK_SECTORS * SECTOR]);
    await disk.write(SECTOR, sectorOf(1, 2));
    expect(await disk.read(SECTOR, 2 * SECTOR)).toEqual(sectorOf(1, 2));
    expect(memory.snapshot(SECTOR, 2 * SECTOR)).toEqual(sectorOf(1, 2));
  });
});

describe('latency', () => {
  it('delays matching I/O through the injected sleep, adding up matching rules', async () => {
    const { clock, disk } = setup();
    disk.inject({ fault: { type: 'latency', seconds: 2 } });
    disk.inject({ op: 'read', fault: { type: 'latency', seconds: 3 } });
    const read = track(disk.read(0, SECTOR));
    await settleMicrotasks();
    expect(clock.sleeps).toEqual([5]);
    expect(read.settled()).toBe(false);
    await clock.advance(4.9);
    expect(read.settled()).toBe(false);
    await clock.advance(0.1);
    expect(read.settled()).toBe(true);
    await expect(read.promise).resolves.toEqual(sectorOf(0));
  });

  it('only affects the chosen operation kind and byte range', async () => {
    const { clock, disk } = setup();
    disk.inject({
      op: 'write',
      range: { offsetBytes: 4 * SECTOR, lengthBytes: 2 * SECTOR },
      fault: { type: 'latency', seconds: 1 },
    });
    await disk.read(4 * SECTOR, SECTOR); // a read: unaffected
    await disk.write(6 * SECTOR, sectorOf(1)); // just past the range
    await disk.write(3 * SECTOR, sectorOf(1)); // just before
    expect(clock.sleeps).toEqual([]);
    const overlapping = track(disk.write(3 * SECTOR, sectorOf(2, 2))); // overlaps sector 4
    await settleMicrotasks();
    expect(clock.sleeps).toEqual([1]);
    await clock.advance(1);
    await overlapping.promise;
  });

  it('a rule with times fires that many times, then removes itself; remove() stops it at once', async () => {
    const { clock, disk } = setup();
    disk.inject({ fault: { type: 'latency', seconds: 1 }, times: 2 });
    for (let i = 0; i < 3; i++) {
      const read = disk.read(0, SECTOR);
      await settleMicrotasks();
      await clock.advance(1);
      await read;
    }
    expect(clock.sleeps).toEqual([1, 1]);
    expect(disk.activeFaults()).toEqual([]);
    const id = disk.inject({ fault: { type: 'latency', seconds: 7 } });
    expect(disk.remove(id)).toBe(true);
    await disk.read(0, SECTOR);
    expect(clock.sleeps).toEqual([1, 1]);
  });
});

describe('EIO', () => {
  it('fails reads and writes every time; a failed write lands nothing', async () => {
    const { memory, disk } = setup();
    disk.inject({ fault: { type: 'eio' } });
    await expect(disk.read(0, SECTOR)).rejects.toMatchObject({
      name: 'DiskError',
      code: 'EIO',
      offsetBytes: 0,
      lengthBytes: SECTOR,
    });
    await expect(disk.write(0, sectorOf(9))).rejects.toMatchObject({ code: 'EIO' });
    expect(memory.snapshot(0, SECTOR)).toEqual(sectorOf(0));
  });

  it('writeLands: the write reaches the disk and still reports EIO', async () => {
    const { memory, disk } = setup();
    disk.inject({ op: 'write', fault: { type: 'eio', writeLands: true } });
    await expect(disk.write(0, sectorOf(9))).rejects.toMatchObject({ code: 'EIO' });
    expect(memory.snapshot(0, SECTOR)).toEqual(sectorOf(9));
    expect(disk.stats()).toMatchObject({ writeOps: 1, failedOps: 1, bytesWritten: SECTOR });
  });

  it('with a probability, draws from the injected random source', async () => {
    const { disk } = setup({ random: sequenceRandom([0.1, 0.9, 0.29, 0.3]) });
    disk.inject({ op: 'read', fault: { type: 'eio', probability: 0.3 } });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(
        await disk.read(0, SECTOR).then(
          () => 'ok',
          (error: { code: string }) => error.code,
        ),
      );
    }
    expect(outcomes).toEqual(['EIO', 'ok', 'EIO', 'ok']);
  });
});

describe('hang', () => {
  it('holds I/O until released, then completes it', async () => {
    const { memory, disk } = setup();
    disk.inject({ fault: { type: 'hang' }, times: 2 });
    const write = track(disk.write(2 * SECTOR, sectorOf(4)));
    const read = track(disk.read(0, SECTOR));
    await settleMicrotasks();
    expect(disk.hungOps()).toEqual([
      { kind: 'write', offsetBytes: 2 * SECTOR, lengthBytes: SECTOR, timedOut: false },
      { kind: 'read', offsetBytes: 0, lengthBytes: SECTOR, timedOut: false },
    ]);
    expect(memory.snapshot(2 * SECTOR, SECTOR)).toEqual(sectorOf(0)); // nothing landed while hung
    expect(disk.release({ kind: 'write' })).toBe(1);
    await write.promise;
    expect(memory.snapshot(2 * SECTOR, SECTOR)).toEqual(sectorOf(4));
    expect(read.settled()).toBe(false);
    expect(disk.release()).toBe(1);
    await expect(read.promise).resolves.toEqual(sectorOf(0));
    expect(disk.hungOps()).toEqual([]);
  });

  it('release with outcome eio fails the held I/O without performing it', async () => {
    const { memory, disk } = setup();
    disk.inject({ fault: { type: 'hang' } });
    const write = disk.write(0, sectorOf(5));
    await settleMicrotasks();
    disk.release({ outcome: 'eio' });
    await expect(write).rejects.toMatchObject({ code: 'EIO' });
    expect(memory.snapshot(0, SECTOR)).toEqual(sectorOf(0));
  });

  it('times out with ETIMEDOUT on the injected clock; a timed-out write released later still lands', async () => {
    const { memory, clock, disk } = setup();
    disk.inject({ fault: { type: 'hang', timeoutSeconds: 10 } });
    const write = track(disk.write(0, sectorOf(6)));
    await settleMicrotasks(); // let the write reach its hang before time moves
    expect(clock.pendingSleeps).toBe(1);
    await clock.advance(9);
    expect(write.settled()).toBe(false);
    await clock.advance(1);
    await expect(write.promise).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(disk.hungOps()).toEqual([{ kind: 'write', offsetBytes: 0, lengthBytes: SECTOR, timedOut: true }]);
    expect(memory.snapshot(0, SECTOR)).toEqual(sectorOf(0));
    disk.release();
    await settleMicrotasks();
    expect(memory.snapshot(0, SECTOR)).toEqual(sectorOf(6)); // the late write
    expect(disk.stats()).toMatchObject({ writeOps: 1, failedOps: 1, bytesWritten: SECTOR });
  });
});

describe('stale reads', () => {
  it('return earlier versions of each sector, back to the contents before the first write', async () => {
    const { disk } = setup();
    for (const value of [1, 2, 3]) await disk.write(SECTOR, sectorOf(value));
    const expectRead = async (versionsBack: number, value: number) => {
      const id = disk.inject({ fault: { type: 'stale', versionsBack } });
      expect(await disk.read(SECTOR, SECTOR)).toEqual(sectorOf(value));
      disk.remove(id);
    };
    await expectRead(1, 2);
    await expectRead(2, 1);
    await expectRead(3, 0); // the zeros that were there before any write
    await expectRead(50, 0); // clamped to the oldest known
    expect(await disk.read(SECTOR, SECTOR)).toEqual(sectorOf(3)); // no fault: current
  });

  it('substitute only sectors with a history, and only on reads in range', async () => {
    const { memory, disk } = setup();
    memory.overwrite(0, sectorOf(8, 3)); // sectors 0-2 hold 8, set behind the wrapper's back
    await disk.write(SECTOR, sectorOf(1));
    disk.inject({ range: { offsetBytes: SECTOR, lengthBytes: SECTOR }, fault: { type: 'stale' } });
    const data = await disk.read(0, 3 * SECTOR);
    expect(data).toEqual(new Uint8Array([...sectorOf(8), ...sectorOf(8), ...sectorOf(8)]));
    await disk.write(SECTOR, sectorOf(2)); // stale faults never affect writes
    expect(memory.snapshot(SECTOR, SECTOR)).toEqual(sectorOf(2));
    expect(await disk.read(3 * SECTOR, SECTOR)).toEqual(sectorOf(0)); // out of range
  });

  it('a shared history lets one host read what another host wrote before', async () => {
    const shared = new MemoryDisk({ sectorSize: SECTOR, sizeBytes: DISK_SECTORS * SECTOR });
    const history = new SectorHistory(SECTOR, 4);
    const hostA = new FaultyDisk(shared, { history, closeInner: false });
    const hostB = new FaultyDisk(shared, { history, closeInner: false });
    await hostA.write(0, sectorOf(1));
    await hostA.write(0, sectorOf(2));
    hostB.inject({ fault: { type: 'stale' }, times: 1 });
    expect(await hostB.read(0, SECTOR)).toEqual(sectorOf(1));
    expect(await hostB.read(0, SECTOR)).toEqual(sectorOf(2));
    expect(history.versionsOf(0).map((version) => version[0])).toEqual([0, 1, 2]);
    await hostA.close();
    expect(shared.isClosed).toBe(false);
    await expect(hostA.read(0, SECTOR)).rejects.toMatchObject({ code: 'ECLOSED' });
    expect(await hostB.read(0, SECTOR)).toEqual(sectorOf(2));
  });

  it('the history keeps at most depth versions per sector', async () => {
    const { disk } = setup({ history: new SectorHistory(SECTOR, 3) });
    for (const value of [1, 2, 3, 4]) await disk.write(0, sectorOf(value));
    expect(disk.history?.versionsOf(0).map((version) => version[0])).toEqual([2, 3, 4]);
  });
});

describe('torn writes', () => {
  it('land only a prefix of the sectors, then report EIO', async () => {
    const { memory, disk } = setup();
    disk.inject({ fault: { type: 'torn', landedSectors: 1 } });
    await expect(disk.write(2 * SECTOR, sectorOf(7, 4))).rejects.toMatchObject({ code: 'EIO' });
    expect(memory.snapshot(2 * SECTOR, 4 * SECTOR)).toEqual(new Uint8Array([...sectorOf(7), ...sectorOf(0, 3)]));
    expect(disk.stats()).toMatchObject({ writeOps: 1, failedOps: 1, bytesWritten: SECTOR });
  });

  it('can tear silently (outcome success)', async () => {
    const { memory, disk } = setup();
    disk.inject({ fault: { type: 'torn', landedSectors: 2, outcome: 'success' } });
    await disk.write(0, sectorOf(3, 3));
    expect(memory.snapshot(0, 3 * SECTOR)).toEqual(new Uint8Array([...sectorOf(3, 2), ...sectorOf(0)]));
  });

  it('never tears a single-sector write (the rule stays unused)', async () => {
    const { memory, disk } = setup();
    disk.inject({ fault: { type: 'torn', landedSectors: 0 }, times: 1 });
    await disk.write(0, sectorOf(1));
    expect(memory.snapshot(0, SECTOR)).toEqual(sectorOf(1));
    expect(disk.activeFaults()).toHaveLength(1);
    await expect(disk.write(0, sectorOf(2, 2))).rejects.toMatchObject({ code: 'EIO' });
    expect(memory.snapshot(0, 2 * SECTOR)).toEqual(new Uint8Array([...sectorOf(1), ...sectorOf(0)])); // nothing landed
  });

  it('picks the tear point from the random source when not given, always short of the whole write', async () => {
    const { memory, disk } = setup({ random: sequenceRandom([0.5, 0.999]) });
    disk.inject({ fault: { type: 'torn', outcome: 'success' } });
    await disk.write(0, sectorOf(1, 4)); // floor(0.5 * 4) = 2 sectors land
    expect(memory.snapshot(0, 4 * SECTOR)).toEqual(new Uint8Array([...sectorOf(1, 2), ...sectorOf(0, 2)]));
    await disk.write(8 * SECTOR, sectorOf(2, 4)); // floor(0.999 * 4) = 3
    expect(memory.snapshot(8 * SECTOR, 4 * SECTOR)).toEqual(new Uint8Array([...sectorOf(2, 3), ...sectorOf(0)]));
  });
});

describe('stats', () => {
  it('count operations, failures and transferred bytes', async () => {
    const { disk } = setup();
    await disk.write(0, sectorOf(1, 3));
    await disk.read(0, 2 * SECTOR);
    await disk.read(0, SECTOR);
    await expect(disk.read(1, SECTOR)).rejects.toMatchObject({ code: 'EALIGN' });
    const id = disk.inject({ fault: { type: 'eio' } });
    await expect(disk.write(0, sectorOf(1))).rejects.toMatchObject({ code: 'EIO' });
    disk.remove(id);
    expect(disk.stats()).toEqual({
      readOps: 3,
      writeOps: 2,
      failedOps: 2,
      bytesRead: 3 * SECTOR,
      bytesWritten: 3 * SECTOR,
    });
    disk.resetStats();
    expect(disk.stats()).toEqual({ readOps: 0, writeOps: 0, failedOps: 0, bytesRead: 0, bytesWritten: 0 });
  });

  it('internal history reads are not counted', async () => {
    const { disk } = setup();
    await disk.write(0, sectorOf(1));
    expect(disk.stats()).toMatchObject({ readOps: 0, bytesRead: 0 });
  });

  it('CountingDisk counts the same way around any disk', async () => {
    const counting = new CountingDisk(new MemoryDisk({ sizeBytes: 8 * SECTOR }));
    await counting.write(0, sectorOf(1, 2));
    await counting.read(SECTOR, SECTOR);
    await expect(counting.read(0, 9 * SECTOR)).rejects.toMatchObject({ code: 'ERANGE' });
    expect(counting.stats()).toEqual({
      readOps: 2,
      writeOps: 1,
      failedOps: 1,
      bytesRead: SECTOR,
      bytesWritten: 2 * SECTOR,
    });
    counting.resetStats();
    expect(counting.stats().readOps).toBe(0);
    await counting.close();
    await expect(counting.read(0, SECTOR)).rejects.toMatchObject({ code: 'ECLOSED' });
  });
});

describe('rules and lifecycle', () => {
  it('rejects invalid rules', () => {
    const { disk } = setup();
    const invalid = [
      { fault: { type: 'latency' as const, seconds: -1 } },
      { fault: { type: 'eio' as const, probability: 1.5 } },
      { fault: { type: 'hang' as const, timeoutSeconds: -2 } },
      { fault: { type: 'stale' as const, versionsBack: 0 } },
      { fault: { type: 'torn' as const, landedSectors: 1.5 } },
      { fault: { type: 'eio' as const }, times: 0 },
      { fault: { type: 'eio' as const }, range: { offsetBytes: 0, lengthBytes: 0 } },
    ];
    for (const rule of invalid) expect(() => disk.inject(rule)).toThrow(RangeError);
    const noHistory = new FaultyDisk(new MemoryDisk({ sizeBytes: 4096 }), { history: false });
    expect(() => noHistory.inject({ fault: { type: 'stale' } })).toThrow(RangeError);
    expect(() => new FaultyDisk(new MemoryDisk({ sizeBytes: 4096 }), { history: new SectorHistory(4096) })).toThrow(
      RangeError,
    );
  });

  it('clearFaults removes every rule; close closes the inner disk by default', async () => {
    const { memory, disk } = setup();
    disk.inject({ fault: { type: 'eio' } });
    disk.inject({ fault: { type: 'latency', seconds: 1 } });
    disk.clearFaults();
    expect(await disk.read(0, SECTOR)).toEqual(sectorOf(0));
    await disk.close();
    expect(memory.isClosed).toBe(true);
    await expect(disk.write(0, sectorOf(1))).rejects.toMatchObject({ code: 'ECLOSED' });
  });
});

/**
 * Renewals read the whole lockspace area into a reused buffer where the disk can (Disk.readInto),
 * shared by the leases of a thread: a fresh megabyte every 2N was garbage the daemon's workers held
 * for long, and a megabyte per lease stayed resident in the lane.
 * The renewals must judge the other hosts exactly as before.
 */
import { describe, expect, it } from 'vitest';
import type { Disk, MemoryDisk } from '@leasehold/disk';
import { acquireDeltaLease } from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import { config, makeLockspace } from './support/lockspace.js';

const N = 1;
const W = 10;
const RENEWALS = 5;

/** A memory disk that also reads into the caller's buffer, remembering every buffer it was given. */
function readIntoDisk(memory: MemoryDisk): Disk & { targets: Uint8Array[]; plainReadBytes: number[] } {
  const targets: Uint8Array[] = [];
  const plainReadBytes: number[] = [];
  return {
    targets,
    plainReadBytes,
    path: memory.path,
    sectorSize: memory.sectorSize,
    sizeBytes: memory.sizeBytes,
    read: (offsetBytes, lengthBytes) => {
      plainReadBytes.push(lengthBytes);
      return memory.read(offsetBytes, lengthBytes);
    },
    readInto: async (offsetBytes, target) => {
      targets.push(target);
      target.set(memory.readSync(offsetBytes, target.byteLength));
    },
    write: (offsetBytes, data) => memory.write(offsetBytes, data),
    close: () => Promise.resolve(),
  };
}

describe('renewals reading into a reused buffer', () => {
  it('every renewal reads the area into the same buffer, and sees the other host renew', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(1000);
    const disk = readIntoDisk(ls.memory);
    const settings = { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W };
    const other = await clock.run(acquireDeltaLease(ls.disk, clock, config(2, 'two', settings)));
    const lease = await clock.run(acquireDeltaLease(disk, clock, config(1, 'one', settings)));
    disk.targets.length = 0;
    disk.plainReadBytes.length = 0;
    for (let i = 0; i < RENEWALS; i++) {
      await clock.advance(2 * N);
      await other.renew();
      await lease.renew();
    }
    expect(disk.targets).toHaveLength(RENEWALS);
    expect(new Set(disk.targets).size).toBe(1);
    expect(disk.targets[0]?.byteLength).toBe(ls.geometry.alignBytes);
    // No whole-area read went through read() any more.
    expect(disk.plainReadBytes.filter((bytes) => bytes === ls.geometry.alignBytes)).toEqual([]);
    expect(lease.hosts().find((host) => host.hostId === 2)).toMatchObject({ state: 'LIVE', hostName: 'two' });
    // Once the other host stops, the same buffer shows it silent: FAIL, then DEAD.
    for (let i = 0; i < 40 && lease.hosts().find((host) => host.hostId === 2)?.state !== 'DEAD'; i++) {
      await clock.advance(2 * N);
      await lease.renew();
    }
    expect(lease.hosts().find((host) => host.hostId === 2)?.state).toBe('DEAD');
    expect(new Set(disk.targets).size).toBe(1);
  });

  it('the leases of one thread share the buffer, and each still sees the other renew', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(1000);
    const settings = { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W };
    const diskOne = readIntoDisk(ls.memory);
    const diskTwo = readIntoDisk(ls.memory);
    const one = await clock.run(acquireDeltaLease(diskOne, clock, config(1, 'one', settings)));
    const two = await clock.run(acquireDeltaLease(diskTwo, clock, config(2, 'two', settings)));
    diskOne.targets.length = 0;
    diskTwo.targets.length = 0;
    for (let i = 0; i < RENEWALS; i++) {
      await clock.advance(2 * N);
      await one.renew();
      await two.renew();
    }
    // Renewals that do not overlap take the same buffer back from the pool.
    expect(new Set([...diskOne.targets, ...diskTwo.targets]).size).toBe(1);
    expect(one.hosts().find((host) => host.hostId === 2)).toMatchObject({ state: 'LIVE', hostName: 'two' });
    expect(two.hosts().find((host) => host.hostId === 1)).toMatchObject({ state: 'LIVE', hostName: 'one' });
    // Overlapping renewals each read into a buffer of their own.
    await clock.advance(2 * N);
    diskOne.targets.length = 0;
    diskTwo.targets.length = 0;
    await Promise.all([one.renew(), two.renew()]);
    expect(diskOne.targets[0]).not.toBe(diskTwo.targets[0]);
  });

  it('a disk without readInto is read as before, a fresh buffer each time', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(1000);
    const lease = await clock.run(
      acquireDeltaLease(ls.disk, clock, config(1, 'one', { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W })),
    );
    ls.disk.log.length = 0;
    await lease.renew();
    await lease.renew();
    expect(ls.disk.log.filter((io) => io.kind === 'read').map((io) => io.lengthBytes)).toEqual([
      ls.geometry.alignBytes,
      ls.geometry.alignBytes,
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { MIB } from '@leasehold/ondisk';
import { acquireDeltaLease, DeltaError, type HeldDeltaLease } from '@leasehold/lease';
import { FakeClock, flush } from './support/fake-clock.js';
import { config, makeLockspace, type TestLockspace } from './support/lockspace.js';

const START = 1000;
const N = 2;

async function joined(
  hostId = 1,
  name = 'me',
): Promise<{ ls: TestLockspace; clock: FakeClock; lease: HeldDeltaLease }> {
  const ls = makeLockspace({ ioTimeoutSeconds: N });
  const clock = new FakeClock(START);
  const lease = await clock.run(
    acquireDeltaLease(ls.disk, clock, config(hostId, name, { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: 10 })),
  );
  ls.disk.log.length = 0;
  return { ls, clock, lease };
}

async function errorOf(work: Promise<unknown>): Promise<DeltaError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeltaError);
  return error as DeltaError;
}

describe('renew (§4)', () => {
  it('reads the whole area once and writes our sector once', async () => {
    const { ls, clock, lease } = await joined(3);
    await clock.advance(2 * N);
    await lease.renew();
    expect(ls.disk.log).toEqual([
      { kind: 'read', offsetBytes: 0, lengthBytes: MIB },
      { kind: 'write', offsetBytes: 2 * 512, lengthBytes: 512 },
    ]);
    expect(lease.lastRenewalSeconds).toBe(clock.nowSeconds());
  });

  it('writes a new non-zero timestamp every time, even when the clock has not moved', async () => {
    const { ls, clock, lease } = await joined();
    const seen = new Set<bigint>([ls.sector(1).leader.timestamp]);
    for (let i = 0; i < 5; i++) {
      await lease.renew(); // same whole second each time
      seen.add(ls.sector(1).leader.timestamp);
    }
    await clock.advance(0.4);
    await lease.renew();
    seen.add(ls.sector(1).leader.timestamp);
    expect(seen.size).toBe(7);
    expect(seen.has(0n)).toBe(false);
  });

  it('starts timestamps at 1, never 0, when the clock reads below 1 s', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(0);
    const lease = await clock.run(
      acquireDeltaLease(ls.disk, clock.view(-2), config(1, 'early', { ioTimeoutSeconds: 1 })),
    );
    expect(ls.sector(1).leader.timestamp).toBeGreaterThan(0n);
    await lease.renew();
    expect(ls.sector(1).leader.timestamp).toBeGreaterThan(0n);
  });

  it('keeps every field but timestamp, io_timeout, write_* and the bitmap', async () => {
    const { ls, lease } = await joined(2);
    const before = ls.sector(2).leader;
    await lease.renew();
    const after = ls.sector(2).leader;
    expect({ ...after, timestamp: 0n, checksum: 0 }).toEqual({ ...before, timestamp: 0n, checksum: 0 });
    expect(after.timestamp).not.toBe(before.timestamp);
  });

  it('fails RENEW_OWNER (and loses the lease) when another owner, generation or name is in our sector', async () => {
    const { ls, lease } = await joined(2);
    const leader = ls.sector(2).leader;
    ls.writeSector(2, { ...leader, resourceName: 'someone-else', ownerGeneration: leader.ownerGeneration + 1n });
    ls.disk.log.length = 0;
    const error = await errorOf(lease.renew());
    expect(error.code).toBe('RENEW_OWNER');
    expect(error.sanlockErrno).toBe(-260);
    expect(error.details).toMatchObject({ ownerName: 'someone-else' });
    expect(lease.lost).toBe(true);
    expect(lease.released).toBe(true);
    expect(ls.disk.writes()).toEqual([]);
    await lease.release();
    expect(ls.disk.writes()).toEqual([]);
    expect((await errorOf(lease.renew())).code).toBe('LEASE_LOST');
  });

  it('fails RENEW_DIFF when anything else in our sector changed since our last write', async () => {
    const { ls, lease } = await joined(2);
    const leader = ls.sector(2).leader;
    ls.writeSector(2, { ...leader, timestamp: leader.timestamp + 100n });
    const error = await errorOf(lease.renew());
    expect(error.code).toBe('RENEW_DIFF');
    expect(error.sanlockErrno).toBe(-261);
    expect(lease.lost).toBe(true);
  });

  it('retries after a failed write, accepting either the old or the attempted record on disk', async () => {
    const { ls, lease } = await joined(2);
    ls.disk.beforeWrite = () => {
      throw new Error('EIO');
    };
    expect((await errorOf(lease.renew())).code).toBe('IO_ERROR');
    ls.disk.beforeWrite = undefined;
    await lease.renew(); // the disk holds the old record
    const onDisk = ls.sector(2).leader;
    // Now a write that "fails" after landing.
    ls.disk.beforeWrite = undefined;
    const original = ls.disk.write.bind(ls.disk);
    ls.disk.write = async (offsetBytes, data) => {
      await original(offsetBytes, data);
      throw new Error('EIO after landing');
    };
    expect((await errorOf(lease.renew())).code).toBe('IO_ERROR');
    expect(ls.sector(2).leader.timestamp).not.toBe(onDisk.timestamp);
    ls.disk.write = original;
    await lease.renew();
    expect(lease.lost).toBe(false);
  });

  it('reports CORRUPT for a bad checksum in our sector without losing the lease at once', async () => {
    const { ls, lease } = await joined(2);
    const sector = ls.memory.readSync(512, 512);
    sector[168]! ^= 1;
    ls.memory.writeSync(512, sector);
    expect((await errorOf(lease.renew())).code).toBe('CORRUPT');
    expect(lease.lost).toBe(false);
  });

  it('refuses to renew (and writes nothing) once 8N passed since the last successful renewal', async () => {
    const { ls, clock, lease } = await joined(2);
    await clock.advance(8 * N);
    const error = await errorOf(lease.renew());
    expect(error.code).toBe('LEASE_LOST');
    expect(lease.lost).toBe(true);
    expect(ls.disk.log).toEqual([]);
  });

  it('does not write when the lease is declared lost while the renewal read hangs', async () => {
    const { ls, clock, lease } = await joined(2);
    let releaseRead: () => void = () => undefined;
    ls.disk.beforeRead = () => new Promise<void>((resolve) => (releaseRead = resolve));
    const renewal = errorOf(lease.renew());
    await clock.advance(8 * N);
    expect(ls.disk.log.map((io) => io.kind)).toEqual(['read']);
    lease.markLost(new DeltaError('LEASE_LOST', 'test: 8N passed'));
    releaseRead();
    expect((await renewal).code).toBe('LEASE_LOST');
    expect(ls.disk.writes()).toEqual([]);
  });
});

describe('release (§4)', () => {
  it('writes timestamp 0 and keeps owner, generation, name, io_timeout and write_*, with the bitmap zeroed, in one write', async () => {
    const { ls, clock, lease } = await joined(2);
    lease.setEvent(1, 5n, 7n);
    await lease.renew();
    expect(ls.sector(2).bitmap[0]).toBe(0x01);
    const before = ls.sector(2).leader;
    ls.disk.log.length = 0;
    await clock.advance(1);
    await lease.release();
    expect(ls.disk.log).toEqual([{ kind: 'write', offsetBytes: 512, lengthBytes: 512 }]);
    const { leader, bitmap } = ls.sector(2);
    expect({ ...leader, checksum: 0 }).toEqual({ ...before, timestamp: 0n, checksum: 0 });
    expect(leader).toMatchObject({
      writeId: 0n,
      writeGeneration: 5n,
      writeTimestamp: 7n,
      ioTimeoutSeconds: N,
      resourceName: 'me',
    });
    expect(bitmap.every((b) => b === 0)).toBe(true);
    expect(lease.released).toBe(true);
    expect(lease.lost).toBe(false);
    await lease.release(); // idempotent
    expect(ls.disk.writes()).toHaveLength(1);
    expect((await errorOf(lease.renew())).code).toBe('NOT_JOINED');
  });

  it('does not write after 8N without renewal (the lease is lost then)', async () => {
    const { ls, clock, lease } = await joined(2);
    await clock.advance(8 * N);
    await lease.release();
    expect(ls.disk.writes()).toEqual([]);
    expect(lease.lost).toBe(true);
  });

  it('waits for a renewal in progress before writing', async () => {
    const { ls, lease } = await joined(2);
    let releaseRead: () => void = () => undefined;
    ls.disk.beforeRead = () => new Promise<void>((resolve) => (releaseRead = resolve));
    const renewal = lease.renew();
    const release = lease.release();
    await flush();
    expect(ls.disk.log.map((io) => io.kind)).toEqual(['read']);
    releaseRead();
    await renewal;
    await release;
    expect(ls.disk.log.map((io) => io.kind)).toEqual(['read', 'write', 'write']);
    expect(ls.sector(2).leader.timestamp).toBe(0n);
  });
});

import { describe, expect, it } from 'vitest';
import { LFL_ALIGN_1M, MIB } from '@leasehold/ondisk';
import { acquireDeltaLease, DeltaError, runRenewalLoop, type DeltaOwnerWait } from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import { config, makeLockspace } from './support/lockspace.js';

const START = 1000;

async function expectDeltaError(work: Promise<unknown>, code: string): Promise<DeltaError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeltaError);
  expect((error as DeltaError).code).toBe(code);
  return error as DeltaError;
}

describe('acquireDeltaLease (§4)', () => {
  it("acquires a free host_id: generation 1, our name and io_timeout, in 2N' using the on-disk io_timeout", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 10 });
    const clock = new FakeClock(START);
    const lease = await clock.run(acquireDeltaLease(ls.disk, clock, config(2, 'host-two', { ioTimeoutSeconds: 1 })));
    // The short delay uses N' from disk (10), not ours (1): 20 s, like sanlock's measured 21 s.
    expect(clock.nowSeconds()).toBe(START + 20);
    expect(lease.generation).toBe(1n);
    const { leader, bitmap } = ls.sector(2);
    expect(leader).toMatchObject({
      ownerId: 2n,
      ownerGeneration: 1n,
      resourceName: 'host-two',
      ioTimeoutSeconds: 1,
      flags: LFL_ALIGN_1M,
      spaceName: 'LS1',
      maxHosts: 1n,
      numHosts: 0n,
      lver: 0n,
    });
    expect(leader.timestamp).not.toBe(0n);
    expect(bitmap.every((b) => b === 0)).toBe(true);
    expect(lease.released).toBe(false);
    expect(lease.geometry).toEqual({ sectorSize: 512, alignBytes: MIB, maxHosts: 2000 });
  });

  it("does read, write, re-read, then renews at once when 2N' already used up the renewal interval", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 10 });
    const clock = new FakeClock(START);
    const lease = await clock.run(acquireDeltaLease(ls.disk, clock, config(3, 'h3', { ioTimeoutSeconds: 1 })));
    const sector3 = 2 * 512;
    expect(ls.disk.log).toEqual([
      { kind: 'read', offsetBytes: 0, lengthBytes: 4096 }, // geometry from host 1's record (§2.2)
      { kind: 'read', offsetBytes: sector3, lengthBytes: 512 }, // step 1
      { kind: 'write', offsetBytes: sector3, lengthBytes: 512 }, // step 5
      { kind: 'read', offsetBytes: sector3, lengthBytes: 512 }, // step 6
      { kind: 'read', offsetBytes: 0, lengthBytes: MIB }, // first renewal
      { kind: 'write', offsetBytes: sector3, lengthBytes: 512 },
    ]);
    expect(lease.lastRenewalSeconds).toBe(START + 20);
  });

  it("does not renew inside the acquire when 2N' is shorter than our renewal interval", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    const lease = await clock.run(acquireDeltaLease(ls.disk, clock, config(3, 'h3', { ioTimeoutSeconds: 5 })));
    expect(clock.nowSeconds()).toBe(START + 2);
    expect(ls.disk.writes()).toHaveLength(1);
    expect(lease.lastRenewalSeconds).toBe(START);
  });

  it('fast-reacquires its own stale lease (same name) without the long wait', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 2 });
    const clock = new FakeClock(START);
    const first = await clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'me', { ioTimeoutSeconds: 2 })));
    expect(first.generation).toBe(1n);
    // Crash without release, then restart with the same name.
    await clock.advance(7);
    const t0 = clock.nowSeconds();
    const second = await clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'me', { ioTimeoutSeconds: 2 })));
    expect(clock.nowSeconds() - t0).toBe(4);
    expect(second.generation).toBe(2n);
    expect(ls.sector(1).leader.ownerGeneration).toBe(2n);
  });

  it("takes over a dead owner's host_id after 8N'+W then 2N', with the previous owner's io_timeout", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 10 });
    const clock = new FakeClock(START);
    await clock.run(acquireDeltaLease(ls.disk, clock, config(4, 'old-owner', { ioTimeoutSeconds: 3 })));
    const record = ls.sector(4).leader;
    // The old owner dies. A new incarnation with another name (and another io_timeout) takes over.
    const t0 = clock.nowSeconds();
    const lease = await clock.run(
      acquireDeltaLease(
        ls.disk,
        clock,
        config(4, 'new-owner', { ioTimeoutSeconds: 10, watchdogFireTimeoutSeconds: 60 }),
      ),
    );
    expect(clock.nowSeconds() - t0).toBe(8 * 3 + 60 + 2 * 3);
    expect(lease.generation).toBe(record.ownerGeneration + 1n);
    expect(ls.sector(4).leader).toMatchObject({ resourceName: 'new-owner', ioTimeoutSeconds: 10, ownerId: 4n });
  });

  it('takes over when the previous owner released during the wait', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    const old = await clock.run(
      acquireDeltaLease(ls.disk, clock, config(1, 'old', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 })),
    );
    const taking = acquireDeltaLease(
      ls.disk,
      clock,
      config(1, 'new', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }),
    );
    await clock.advance(5);
    await old.release();
    const lease = await clock.run(taking);
    expect(lease.generation).toBe(2n);
  });

  it('fails HOSTID_BUSY when the owner renews during the wait, naming the holder', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    const owner = await clock.run(
      acquireDeltaLease(
        ls.disk,
        clock,
        config(2, 'alive-owner', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }),
      ),
    );
    const stop = new AbortController();
    const loop = runRenewalLoop(owner, clock, {}, stop.signal);
    const t0 = clock.nowSeconds();
    const error = await expectDeltaError(
      clock.run(
        acquireDeltaLease(
          ls.disk,
          clock.view(5000),
          config(2, 'intruder', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }),
        ),
      ),
      'HOSTID_BUSY',
    );
    expect(clock.nowSeconds() - t0).toBe(18);
    expect(error.sanlockErrno).toBe(-262);
    expect(error.details).toMatchObject({ hostId: 2, ownerName: 'alive-owner', ownerGeneration: 1n });
    expect(error.message).toContain('alive-owner');
    expect(ls.sector(2).leader.resourceName).toBe('alive-owner');
    stop.abort();
    expect(await clock.run(loop)).toBe('stopped');
  });

  it('tells during the wait who holds the host_id and whether it is renewing; giveUpWhenRenewed stops at the first renewal seen', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    const owner = await clock.run(
      acquireDeltaLease(
        ls.disk,
        clock,
        config(2, 'alive-owner', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }),
      ),
    );
    const stop = new AbortController();
    const loop = runRenewalLoop(owner, clock, {}, stop.signal);
    const seen: DeltaOwnerWait[] = [];
    const t0 = clock.nowSeconds();
    const error = await expectDeltaError(
      clock.run(
        acquireDeltaLease(
          ls.disk,
          clock.view(5000),
          config(2, 'typo', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }),
          {
            onOwnerWait: (wait) => seen.push(wait),
            giveUpWhenRenewed: true,
          },
        ),
      ),
      'HOSTID_BUSY',
    );
    // The owner renews every 2 s; the slot is re-read every io_timeout (1 s): well before the 18 s verdict.
    expect(clock.nowSeconds() - t0).toBeLessThanOrEqual(3);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toMatchObject({ hostId: 2, ownerName: 'alive-owner', renewing: true, waitSeconds: 18 });
    expect(error.message).toContain('being renewed');
    expect(ls.sector(2).leader.resourceName).toBe('alive-owner');
    stop.abort();
    expect(await clock.run(loop)).toBe('stopped');
  });

  it('a silent owner is reported as not renewing, and the wait still ends in the takeover', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    await clock.run(
      acquireDeltaLease(
        ls.disk,
        clock,
        config(3, 'dead-owner', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }),
      ),
    );
    const seen: DeltaOwnerWait[] = [];
    const lease = await clock.run(
      acquireDeltaLease(ls.disk, clock, config(3, 'next', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }), {
        onOwnerWait: (wait) => seen.push(wait),
        giveUpWhenRenewed: true,
      }),
    );
    expect(lease.generation).toBe(2n);
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.every((wait) => !wait.renewing && wait.ownerName === 'dead-owner')).toBe(true);
    expect(seen.map((wait) => wait.waitedSeconds)).toEqual(
      [...seen.map((wait) => wait.waitedSeconds)].sort((a, b) => a - b),
    );
  });

  it.each([
    ['different names', 'host-a', 'host-b'],
    ['the same name on two machines', 'same', 'same'],
  ])('lets exactly one of two racers for a free host_id win (%s)', async (_label, nameA, nameB) => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    // Two machines: their monotonic clocks differ.
    const a = acquireDeltaLease(ls.disk, clock.view(0), config(5, nameA, { ioTimeoutSeconds: 1 }));
    const b = acquireDeltaLease(ls.disk, clock.view(333), config(5, nameB, { ioTimeoutSeconds: 1 }));
    const results = await clock.run(Promise.allSettled([a, b]));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(((lost[0] as PromiseRejectedResult).reason as DeltaError).code).toBe('HOSTID_BUSY');
  });

  it("lets exactly one win when the second racer starts during the first one's 2N' wait", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    const a = acquireDeltaLease(
      ls.disk,
      clock.view(0),
      config(5, 'host-a', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }),
    );
    await clock.advance(1);
    const b = acquireDeltaLease(
      ls.disk,
      clock.view(77),
      config(5, 'host-b', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 }),
    );
    const [ra, rb] = await clock.run(Promise.allSettled([a, b]));
    // b saw a's fresh record (another name) and had to wait; a's renewals then made it busy.
    expect(ra.status).toBe('fulfilled');
    expect(rb.status).toBe('rejected');
  });

  it('rejects a host_id beyond what the geometry allows (4096/1M: 250 hosts)', async () => {
    const ls = makeLockspace({ sectorSize: 4096, alignBytes: MIB });
    const clock = new FakeClock(START);
    await expectDeltaError(clock.run(acquireDeltaLease(ls.disk, clock, config(251, 'x'))), 'INVALID_ARGUMENT');
    const lease = await clock.run(acquireDeltaLease(ls.disk, clock, config(250, 'x')));
    expect(lease.geometry.maxHosts).toBe(250);
    expect(ls.sector(250).leader.ownerId).toBe(250n);
  });

  it('rejects a bad config before any I/O', async () => {
    const ls = makeLockspace();
    const clock = new FakeClock(START);
    await expectDeltaError(
      acquireDeltaLease(ls.disk, clock, config(1, 'x', { ioTimeoutSeconds: 0 })),
      'INVALID_ARGUMENT',
    );
    await expectDeltaError(acquireDeltaLease(ls.disk, clock, config(1, 'x'.repeat(49))), 'INVALID_ARGUMENT');
    await expectDeltaError(acquireDeltaLease(ls.disk, clock, config(0, 'x')), 'INVALID_ARGUMENT');
    expect(ls.disk.log).toEqual([]);
  });

  it('reports CORRUPT for a bad checksum and for a foreign lockspace name, writing nothing', async () => {
    const ls = makeLockspace();
    const clock = new FakeClock(START);
    const hostFourSector = ls.memory.readSync(3 * 512, 512);
    hostFourSector[170]! ^= 0xff; // inside the checksum field (168..171)
    ls.memory.writeSync(3 * 512, hostFourSector);
    const error = await expectDeltaError(clock.run(acquireDeltaLease(ls.disk, clock, config(4, 'x'))), 'CORRUPT');
    expect(error.message).toMatch(/checksum/i);
    await expectDeltaError(
      clock.run(acquireDeltaLease(ls.disk, clock, config(4, 'x', { spaceName: 'OTHER' }))),
      'CORRUPT',
    );
    expect(ls.disk.writes()).toEqual([]);
  });

  it('can be aborted during the long wait, without writing', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    await clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'old', { ioTimeoutSeconds: 1 })));
    const writesBefore = ls.disk.writes().length;
    const stop = new AbortController();
    const taking = acquireDeltaLease(ls.disk, clock, config(1, 'new', { ioTimeoutSeconds: 1 }), {
      signal: stop.signal,
    });
    await clock.advance(10);
    stop.abort();
    await expectDeltaError(taking, 'ABORTED');
    expect(ls.disk.writes()).toHaveLength(writesBefore);
  });
});

/**
 * first-renewal.ts: observers count the acquire's write as our first renewal and call us DEAD after
 * 8N + W (our N) of silence, so the acquire must be done, first renewal included, within that.
 * Here N = 1 and W = 10: the first renewal's write must be issued before t0 + 8 + 10 - 1 = t0 + 17
 * and the acquire done by t0 + 18 (t0 = when the acquire's write was issued).
 */
describe('acquireDeltaLease: held up after its write', () => {
  const N = 1;
  const W = 10;
  const settings = { ioTimeoutSeconds: N, watchdogFireTimeoutSeconds: W };
  const SECTOR_1 = 0;

  /** Holds the next single-sector read of host 1's sector (the step 6 re-read) until released. */
  function holdReRead(ls: ReturnType<typeof makeLockspace>): { release: () => void; heldAt: () => number | undefined } {
    let release: () => void = () => undefined;
    let heldAt: number | undefined;
    let writes = 0;
    ls.disk.beforeWrite = () => {
      writes++;
    };
    ls.disk.beforeRead = (io) => {
      if (writes !== 1 || io.offsetBytes !== SECTOR_1 || io.lengthBytes !== 512 || heldAt !== undefined)
        return undefined;
      heldAt = -1;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    return { release: () => release(), heldAt: () => heldAt };
  }

  it('a re-read delayed past 8N but within the deadline: renews at once and succeeds (not the 8N rule)', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(START);
    const hold = holdReRead(ls);
    const acquiring = acquireDeltaLease(ls.disk, clock, config(1, 'me', settings));
    await clock.advanceTo(START + 12); // the 2N' = 2 s wait ended at START + 2; the re-read hangs
    hold.release();
    const lease = await clock.run(acquiring);
    expect(lease.lastRenewalSeconds).toBe(START + 12);
    expect(lease.expiresAtSeconds).toBe(START + 12 + 8 * N);
    expect(ls.disk.writes()).toHaveLength(2); // the acquire's write and the first renewal
    expect(ls.sector(1).leader.timestamp).toBe(BigInt(START + 12));
  });

  it("a re-read that completes after the first renewal's write deadline: LEASE_LOST, nothing more written", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(START);
    const hold = holdReRead(ls);
    const acquiring = acquireDeltaLease(ls.disk, clock, config(1, 'me', settings));
    const outcome = acquiring.then(
      () => undefined,
      (error: unknown) => error,
    );
    await clock.advanceTo(START + 17.5); // past t0 + 17, before t0 + 18
    hold.release();
    const error = (await clock.run(outcome)) as DeltaError;
    expect(error).toBeInstanceOf(DeltaError);
    expect(error.code).toBe('LEASE_LOST');
    expect(error.message).toMatch(/held up for 17\.5 s after its write/);
    expect(error.details).toMatchObject({ hostId: 1, ownerGeneration: 1n });
    expect(clock.nowSeconds()).toBe(START + 17.5);
    expect(ls.disk.writes()).toHaveLength(1);
  });

  it('a re-read that hangs for ever: LEASE_LOST at exactly 8N + W after the write; nothing written when it wakes up', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: N });
    const clock = new FakeClock(START);
    const hold = holdReRead(ls);
    const error = await expectDeltaError(
      clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'me', settings))),
      'LEASE_LOST',
    );
    expect(clock.nowSeconds()).toBe(START + 8 * N + W);
    expect(error.message).toContain('not complete within 8 x io_timeout + W');
    hold.release();
    await clock.advance(30);
    expect(ls.disk.writes()).toHaveLength(1);
    expect(ls.disk.log.filter((io) => io.lengthBytes > 512)).toHaveLength(1); // only the geometry read: no renewal read either
  });

  it('a paused acquire (no I/O trouble, the host just did not run) fails the same way when it resumes late', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 3 }); // N' = 3: the 2N' wait is 6 s
    const clock = new FakeClock(START);
    // A paused process finds all its timers due when it resumes, in any order: here the 2N' wait's
    // continuation runs first, on a clock that has jumped 25 s (the deadline timer has not fired yet).
    let pausedSeconds = 0;
    const paused = {
      nowSeconds: () => clock.nowSeconds() + pausedSeconds,
      sleep: (seconds: number) =>
        clock.sleep(seconds).then(() => {
          if (seconds === 2 * 3) pausedSeconds = 25;
        }),
    };
    const error = await expectDeltaError(
      clock.run(acquireDeltaLease(ls.disk, paused, config(1, 'me', settings))),
      'LEASE_LOST',
    );
    expect(error.message).toMatch(/held up for 31\.0 s after its write: its first renewal could not be written/);
    expect(ls.disk.writes()).toHaveLength(1);
  });

  it('the first renewal hanging past 8N + W: LEASE_LOST at the deadline', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 4 }); // N' = 4: 2N' = 8 s >= 2N, so the acquire renews
    const clock = new FakeClock(START);
    let writes = 0;
    ls.disk.beforeWrite = () => (++writes === 2 ? new Promise<void>(() => undefined) : undefined);
    await expectDeltaError(clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'me', settings))), 'LEASE_LOST');
    expect(clock.nowSeconds()).toBe(START + 8 * N + W);
  });

  it("an io_timeout on disk so large that 2N' cannot fit in 8N + W: INVALID_ARGUMENT before writing", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 10 }); // 2N' = 20 s > 8 + 10 - 1
    const clock = new FakeClock(START);
    const error = await expectDeltaError(
      clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'me', settings))),
      'INVALID_ARGUMENT',
    );
    expect(error.message).toContain('at least 2'); // 2N' = 20 < 8·2 + 10 - 2
    expect(ls.disk.writes()).toEqual([]);
    // With the default W = 60 the same disk is fine (sanlock's "init -o 10, add -o 1": 20 s, then renew).
    const lease = await clock.run(
      acquireDeltaLease(ls.disk, clock, config(1, 'me', { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 60 })),
    );
    expect(lease.generation).toBe(1n);
  });
});

/**
 * acquire.ts rule 1: the write must be on disk within 2N' of the read it is based on (it is not
 * even issued after N'), or a racer that acquired meanwhile may be overwritten after it confirmed.
 */
describe('acquireDeltaLease: acts only on a fresh read', () => {
  const settings = { ioTimeoutSeconds: 1, watchdogFireTimeoutSeconds: 10 };
  type Lockspace = ReturnType<typeof makeLockspace>;

  /** A disk whose single-sector reads can take their data at once and deliver it `delaySeconds` later. */
  function lateDelivering(
    ls: Lockspace,
    clock: FakeClock,
  ): { disk: Lockspace['disk']; delayNextSectorRead: (seconds: number) => void } {
    let pendingDelaySeconds = 0;
    const disk = Object.create(ls.disk) as Lockspace['disk'];
    disk.read = async (offsetBytes: number, lengthBytes: number) => {
      const data = await ls.disk.read(offsetBytes, lengthBytes);
      if (lengthBytes === 512 && pendingDelaySeconds > 0) {
        const seconds = pendingDelaySeconds;
        pendingDelaySeconds = 0;
        await clock.sleep(seconds);
      }
      return data;
    };
    return { disk, delayNextSectorRead: (seconds) => (pendingDelaySeconds = seconds) };
  }

  it('two racers read the slot free; the one whose read comes back late does not write and fails HOSTID_BUSY', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    const late = lateDelivering(ls, clock);
    late.delayNextSectorRead(9); // b's step 1 read sees "free" now and comes back 9 s later
    const b = acquireDeltaLease(late.disk, clock.view(50), config(1, 'host-b', settings));
    const a = acquireDeltaLease(
      ls.disk,
      clock,
      config(1, 'host-a', { ioTimeoutSeconds: 3, watchdogFireTimeoutSeconds: 10 }),
    );
    const [ra, rb] = await clock.run(Promise.allSettled([a, b]));
    expect(ra.status).toBe('fulfilled');
    expect(rb.status).toBe('rejected');
    const error = (rb as PromiseRejectedResult).reason as DeltaError;
    expect(error.code).toBe('HOSTID_BUSY');
    expect(error.message).toMatch(/held up 9\.0 s between reading it and writing it.*Nothing was written/);
    expect(ls.disk.writes()).toHaveLength(1); // a's only
    const lease = (ra as PromiseFulfilledResult<Awaited<typeof a>>).value;
    await lease.renew(); // still ours
    expect(ls.sector(1).leader.resourceName).toBe('host-a');
  });

  it("a write that completes more than 2N' after its basis read fails the acquire (it may have overwritten a fresh owner)", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    let releaseWrite: () => void = () => undefined;
    ls.disk.beforeWrite = () => new Promise<void>((resolve) => (releaseWrite = resolve));
    const outcome = acquireDeltaLease(ls.disk, clock, config(1, 'me', settings)).then(
      () => undefined,
      (error: unknown) => error,
    );
    await clock.advance(2.5);
    releaseWrite();
    const error = (await clock.run(outcome)) as DeltaError;
    expect(error).toBeInstanceOf(DeltaError);
    expect(error.code).toBe('HOSTID_BUSY');
    expect(error.message).toMatch(/write completed 2\.5 s after the read it was based on/);
    expect(ls.disk.writes()).toHaveLength(1);
    expect(clock.nowSeconds()).toBe(START + 2.5); // no 2N' wait, no re-read
  });

  it("a write completing within 2N' of its basis read is fine", async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    let releaseWrite: () => void = () => undefined;
    ls.disk.beforeWrite = () => {
      ls.disk.beforeWrite = undefined; // only the acquire's write
      return new Promise<void>((resolve) => (releaseWrite = resolve));
    };
    const acquiring = acquireDeltaLease(ls.disk, clock, config(1, 'me', settings));
    await clock.advance(1.5);
    releaseWrite();
    const lease = await clock.run(acquiring);
    expect(lease.generation).toBe(1n);
  });

  it('the long wait starts when the first read completed, so its re-read samples the disk at least host_dead_seconds later', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    await clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'old-owner', settings))); // then it dies
    const late = lateDelivering(ls, clock);
    const readsIssuedAt: number[] = [];
    ls.disk.beforeRead = (io) => {
      if (io.lengthBytes === 512) readsIssuedAt.push(clock.nowSeconds());
    };
    const t0 = clock.nowSeconds();
    late.delayNextSectorRead(30); // the step 1 read samples the disk at t0 and comes back at t0 + 30
    const lease = await clock.run(acquireDeltaLease(late.disk, clock, config(1, 'new-owner', settings)));
    expect(lease.generation).toBe(2n);
    // 8N' + W = 18 s after the first read's data was delivered, not after it was issued.
    expect(readsIssuedAt.slice(0, 2)).toEqual([t0, t0 + 30 + 18]);
  });

  it('a long-wait re-read delivered late: the owner is still proven dead, but the write on it is refused', async () => {
    const ls = makeLockspace({ ioTimeoutSeconds: 1 });
    const clock = new FakeClock(START);
    await clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'old-owner', settings)));
    const writesBefore = ls.disk.writes().length;
    const late = lateDelivering(ls, clock);
    const taking = acquireDeltaLease(late.disk, clock, config(1, 'new-owner', settings)).then(
      () => undefined,
      (error: unknown) => error,
    );
    await clock.advance(17.5);
    late.delayNextSectorRead(5); // the re-read after the 18 s wait comes back 5 s late
    const error = (await clock.run(taking)) as DeltaError;
    expect(error.code).toBe('HOSTID_BUSY');
    expect(error.message).toContain('Nothing was written');
    expect(ls.disk.writes()).toHaveLength(writesBefore);
    // Trying again reads afresh and takes it over.
    const lease = await clock.run(acquireDeltaLease(ls.disk, clock, config(1, 'new-owner', settings)));
    expect(lease.generation).toBe(2n);
  });
});

/**
 * Two daemons (two "hosts") on one shared lease image, real processes:
 * auto host_ids chosen at once differ; contention for one resource; a SIGKILLed client's lease is
 * released within a second; a forked child holding the inherited socket does not keep a dead
 * parent's lease.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeaseholdError, type LockstartResult } from '@leasehold/client';
import { MIB, processAlive, sleep, startHolder, TestDaemon, TestDir, waitFor } from './support/harness.js';

let dir: TestDir;
let image: string;
let a: TestDaemon;
let b: TestDaemon;
let joined: LockstartResult[];

const where = (resource: string, index: number) => ({
  lockspace: 'LS',
  resource,
  path: image,
  offsetBytes: index * MIB,
});

beforeAll(async () => {
  dir = new TestDir();
  image = dir.image('shared.img', 'LS', 3);
  [a, b] = await Promise.all([new TestDaemon(dir, { name: 'a' }).start(), new TestDaemon(dir, { name: 'b' }).start()]);
  // Both pick a host_id at the same moment.
  joined = (await Promise.all([
    a.lockstart('LS', 'auto', image),
    b.lockstart('LS', 'auto', image),
  ])) as LockstartResult[];
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  dir?.cleanup();
});

describe('two daemons on one shared image', () => {
  it('two daemons started at once with auto host_ids get different host_ids', async () => {
    const [ja, jb] = joined.map((result) => result.lockspace);
    expect(ja!.state).toBe('joined');
    expect(jb!.state).toBe('joined');
    expect(ja!.hostId).not.toBe(jb!.hostId);
    expect(ja!.hostIdSource).toBe('picked');
    // Each sees the other LIVE after a couple of renewals.
    await waitFor('hosts to see each other live', () =>
      a.with(async (client) => {
        const hosts = await client.hostStatus('LS');
        return hosts.hosts.some((host) => host.hostId === jb!.hostId && host.state === 'LIVE') ? true : undefined;
      }),
    );
  });

  it('contend for one resource: the other host is refused while it is held, and waits for it', async () => {
    const ca = await a.client('holder-a');
    const cb = await b.client('contender-b');
    try {
      const lease = await ca.acquire(where('R1', 1));
      expect(lease.info.mode).toBe('EX');
      const refused = await cb.acquire(where('R1', 1)).catch((error: unknown) => error);
      expect(isLeaseholdError(refused, 'LEASE_HELD')).toBe(true);
      expect((refused as { details?: { leaseCode?: string } }).details?.leaseCode).toBe('ACQUIRE_IDLIVE');
      // B waits; A releases after a moment; B gets it.
      const waiting = cb.acquire(where('R1', 1), { waitSeconds: 20 });
      await sleep(1500);
      await lease.release();
      const got = await waiting;
      expect(got.info.lver).not.toBe(lease.info.lver);
      // Shared on both hosts at once works; exclusive is then refused.
      await got.release();
      const sa = await ca.acquire(where('R1', 1), { mode: 'SH' });
      const sb = await cb.acquire(where('R1', 1), { mode: 'SH', waitSeconds: 10 });
      const exclusive = await ca.convert('LS', 'R1', 'EX').catch((error: unknown) => error);
      expect(isLeaseholdError(exclusive, 'SHARED_HOLDERS')).toBe(true);
      await sa.release();
      await sb.release();
    } finally {
      ca.close();
      cb.close();
    }
  });

  it("a SIGKILLed client's lease is released within a second", async () => {
    const holder = startHolder(dir, { socket: a.socketPath, leases: [where('R2', 2)] });
    await holder.next('holding');
    expect((await a.with((client) => client.status())).leases.map((lease) => lease.resource)).toContain('R2');
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    await waitFor(
      'the lease to be released',
      () => a.with(async (client) => ((await client.status()).leases.length === 0 ? true : undefined)),
      5000,
      10,
    );
    const releasedAfterMs = Date.now() - killedAt;
    expect(releasedAfterMs).toBeLessThan(1000);
    // Released on disk too: the other host gets it at once.
    const lease = await b.with(async (client) => {
      const held = await client.acquire(where('R2', 2));
      await held.release();
      return held;
    });
    expect(lease.info.resource).toBe('R2');
  });

  it("a forked child that inherited the socket does not keep its dead parent's lease", async () => {
    const holder = startHolder(dir, { socket: a.socketPath, leases: [where('R3', 3)], fork: true });
    const forked = await holder.next('forked');
    const childPid = forked.pid as number;
    try {
      await holder.next('holding');
      holder.child.kill('SIGKILL');
      const killedAt = Date.now();
      await waitFor(
        'the lease of the dead parent to be released',
        () => a.with(async (client) => ((await client.status()).leases.length === 0 ? true : undefined)),
        5000,
        10,
      );
      expect(Date.now() - killedAt).toBeLessThan(1000);
      // The child still holds the socket open, and is alive.
      expect(processAlive(childPid)).toBe(true);
      const got = await b.with(async (client) => {
        const lease = await client.acquire(where('R3', 3));
        await lease.release();
        return lease;
      });
      expect(got.info.resource).toBe('R3');
    } finally {
      if (processAlive(childPid)) process.kill(childPid, 'SIGKILL');
    }
  });

  it('events set by one host reach the other', async () => {
    const hostIdA = joined[0]!.lockspace.hostId!;
    const hostIdB = joined[1]!.lockspace.hostId!;
    await a.with((client) => client.setEvent('LS', hostIdB, 5n, 7n));
    const event = await waitFor(
      'the event at B',
      () =>
        b.with(async (client) =>
          (await client.getEvents('LS')).events.find((candidate) => candidate.fromHostId === hostIdA),
        ),
      15_000,
      200,
    );
    expect(event).toMatchObject({ event: '5', data: '7' });
  });

  it("a request from the other host makes this host's holder give the lease up", async () => {
    const holder = startHolder(dir, { socket: b.socketPath, leases: [where('R1', 1)] });
    await holder.next('holding');
    const refused = await a.with((client) => client.acquire(where('R1', 1))).catch((error: unknown) => error);
    expect(isLeaseholdError(refused, 'LEASE_HELD')).toBe(true);
    const result = await a.with((client) => client.request(where('R1', 1), 'next', 'force'));
    expect(result).toMatchObject({ written: true, pinged: true });
    // B sees A's ping in A's next renewals, reads the request record, and SIGKILLs the holder.
    await waitFor('the holder to be killed', () => (processAlive(holder.child.pid!) ? undefined : true), 15_000, 100);
    const lease = await a.with(async (client) => {
      const held = await client.acquire(where('R1', 1), { waitSeconds: 5 });
      await held.release();
      return held;
    });
    expect(lease.info.resource).toBe('R1');
  });
});

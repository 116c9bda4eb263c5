/**
 * Paxos resource leases against the real sanlock 3.8 (spec §8 checks 3-5): a sanlock daemon (host_id
 * 1) and leasehold hosts (in this process, real clock, O_DIRECT) share one image. io_timeout 1
 * everywhere and sanlock's fixed W of 60 s (3.8.5 has no setting for it; every host must use the same
 * W), so a host counts as dead 8 + 60 = 68 s after its last renewal. Never skipped: without sanlock
 * these fail. The sanlock-host-dies case is in paxos-sanlock-takeover.test.ts (runs in parallel).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHostSector, MBLOCK_SHARED, FORCE_MODE_GRACEFUL } from '@leasehold/ondisk';
import {
  acquireLease,
  convertLease,
  PaxosLeaseManager,
  releaseLease,
  requestLease,
  type HeldLease,
  type LeaseRequestNotice,
} from '@leasehold/lease';
import { makeTempImage, requireSanlock, sanlockDirect, SanlockDaemon, type TempImage } from '@leasehold/testkit';
import {
  delay,
  EAGAIN,
  expectPaxosError,
  HOST_DEAD_SECONDS,
  hostSectorBytes,
  IO_TIMEOUT_SECONDS,
  leaderOf,
  LeaseholdHost,
  realClock,
  RESOURCE_OFFSET,
  SanlockHolder,
  until,
} from './paxos-sanlock-support.js';

let image: TempImage;
let daemon: SanlockDaemon;
const holders: SanlockHolder[] = [];
const hosts: LeaseholdHost[] = [];

function holder(options: { shared?: boolean } = {}): SanlockHolder {
  const started = SanlockHolder.start(daemon, image.path, options);
  holders.push(started);
  return started;
}

async function join(hostId: number, name: string): Promise<LeaseholdHost> {
  const host = await LeaseholdHost.join(image.path, hostId, name);
  hosts.push(host);
  return host;
}

/** Fresh lease for each test (the lockspace and the hosts' joins are shared). */
function initResource(): void {
  sanlockDirect(['init', '-r', `LS:R:${image.path}:${RESOURCE_OFFSET}`]);
}

beforeAll(async () => {
  requireSanlock();
  image = makeTempImage(3 << 20);
  sanlockDirect(['init', '-s', `LS:0:${image.path}:0`, '-o', String(IO_TIMEOUT_SECONDS)]);
  daemon = await SanlockDaemon.start({ hostName: 'sanlock-host-1' });
  const added = await daemon.clientAsync([
    'add_lockspace',
    '-o',
    String(IO_TIMEOUT_SECONDS),
    '-s',
    `LS:1:${image.path}:0`,
  ]);
  expect(added.status, added.stdout + added.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  for (const started of holders) started.kill();
  for (const host of hosts) await host.leave().catch(() => undefined);
  await daemon?.stop();
  image?.cleanup();
}, 60_000);

describe('paxos leases against the real sanlock', () => {
  it('exclusive both ways: each fails while the other holds, takes it after release with lver + 1, and a dead holder is taken over only after 8N + W', async () => {
    initResource();
    const lh = await join(2, 'leasehold-host-2');
    await delay(3); // both sides have sampled each other

    // sanlock holds R.
    const first = holder();
    expect(await first.outcome()).toBe('ACQUIRED');
    expect(leaderOf(image.path)).toMatchObject({ lver: 1n, ownerId: 1n });
    const refused = await expectPaxosError(
      acquireLease(lh.ctx, { spaceName: 'LS', resourceName: 'R', offsetBytes: RESOURCE_OFFSET }, { waitSeconds: 5 }),
      'ACQUIRE_IDLIVE',
    );
    expect(refused.details.holders?.[0]).toMatchObject({ hostId: 1, hostName: 'sanlock-host-1' });

    // The sanlock holder exits: sanlock releases (timestamp 0, lver kept); leasehold gets lver 2.
    first.kill();
    await until('sanlock to release R', () => leaderOf(image.path).timestamp === 0n, 10);
    expect(leaderOf(image.path)).toMatchObject({ lver: 1n, ownerId: 1n });
    const location = { spaceName: 'LS', resourceName: 'R', offsetBytes: RESOURCE_OFFSET };
    const held = await acquireLease(lh.ctx, location);
    expect(held.lver).toBe(2n);
    const ours = decodeHostSector(hostSectorBytes(image.path, 2));
    expect(ours.dblock.mbal % 2000n).toBe(2n);
    expect(ours.dblock.lver).toBe(2n);
    const check = sanlockDirect(['read_leader', '-r', `LS:R:${image.path}:${RESOURCE_OFFSET}`]);
    expect(check.stdout).toContain('read_leader done 0');

    // sanlock is refused with -243 while we hold it ...
    const blocked = holder();
    expect(await blocked.outcome()).toBe(-243);
    // ... and gets it with lver 3 after our release.
    expect(await releaseLease(lh.ctx, held)).toBe('released');
    const second = holder();
    expect(await second.outcome()).toBe('ACQUIRED');
    expect(leaderOf(image.path)).toMatchObject({ lver: 3n, ownerId: 1n });
    second.kill();
    await until('sanlock to release R', () => leaderOf(image.path).timestamp === 0n, 10);

    // We hold it and die without releasing: sanlock must not get it before 8N + W after our last renewal.
    const last = await acquireLease(lh.ctx, location);
    expect(last.lver).toBe(4n);
    await lh.die();
    const diedAfterRenewalSeconds = lh.lastRenewalSeconds;
    let takenAtSeconds = 0;
    const errnos = new Set<number>();
    for (;;) {
      const attempt = holder();
      const outcome = await attempt.outcome(HOST_DEAD_SECONDS + 60);
      if (outcome === 'ACQUIRED') {
        takenAtSeconds = realClock.nowSeconds();
        attempt.kill();
        break;
      }
      errnos.add(outcome);
      await delay(1);
    }
    expect([...errnos].every((errno) => errno === -243)).toBe(true);
    expect(takenAtSeconds - diedAfterRenewalSeconds).toBeGreaterThan(HOST_DEAD_SECONDS);
    expect(leaderOf(image.path)).toMatchObject({ lver: 5n, ownerId: 1n });
  }, 300_000);

  it('shared: holders on both sides coexist (lver + 2) and keep an exclusive acquire out (-11); a dead shared holder is cleared by sanlock after 8N + W', async () => {
    initResource();
    const location = { spaceName: 'LS', resourceName: 'R', offsetBytes: RESOURCE_OFFSET };
    const lh = await join(3, 'leasehold-host-3');
    const other = await join(4, 'leasehold-host-4');
    await delay(3);

    const sanlockShared = holder({ shared: true });
    expect(await sanlockShared.outcome()).toBe('ACQUIRED');
    const ourShared = await acquireLease(lh.ctx, location, { mode: 'shared' });
    expect(leaderOf(image.path).lver).toBe(2n);
    expect(ourShared.lver).toBe(2n);
    for (const hostId of [1, 3]) {
      const { mode } = decodeHostSector(hostSectorBytes(image.path, hostId));
      expect(mode.flags & MBLOCK_SHARED).toBe(MBLOCK_SHARED);
    }
    const dump = sanlockDirect(['dump', `${image.path}:${RESOURCE_OFFSET}`]);
    expect(
      dump.stdout.match(/ SH /g)?.length ?? dump.stdout.split('\n').filter((l) => /\bSH\b/.test(l)).length,
    ).toBeGreaterThanOrEqual(2);

    // An exclusive attempt from a leasehold host fails with EAGAIN while both shared holders live.
    const eagain = await expectPaxosError(acquireLease(other.ctx, location), 'SHARED_HELD');
    expect(eagain.sanlockErrno).toBe(-11);
    expect(eagain.details.holders?.map((h) => h.hostId).sort()).toEqual([1, 3]);
    // Our own conversion to exclusive is refused too, and we stay shared.
    const kept = await expectPaxosError(convertLease(lh.ctx, ourShared, 'exclusive'), 'SHARED_HELD');
    expect(kept.stillHeld?.mode).toBe('shared');

    // The sanlock side lets go of its shared hold; its exclusive attempt fails with -11 (we are shared).
    sanlockShared.kill();
    await until(
      'sanlock to drop its SHARED mode block',
      () => (decodeHostSector(hostSectorBytes(image.path, 1)).mode.flags & MBLOCK_SHARED) === 0,
      10,
    );
    // (python3-sanlock reports EAGAIN as errno 11, sanlock's own codes as negative numbers)
    const refused = holder();
    expect(await refused.outcome()).toBe(EAGAIN);

    // We die holding shared: sanlock's exclusive acquire succeeds only after 8N + W, and zeroes our sector.
    await lh.die();
    const died = lh.lastRenewalSeconds;
    let takenAtSeconds = 0;
    for (;;) {
      const attempt = holder();
      const outcome = await attempt.outcome(HOST_DEAD_SECONDS + 60);
      if (outcome === 'ACQUIRED') {
        takenAtSeconds = realClock.nowSeconds();
        attempt.kill();
        break;
      }
      expect(outcome).toBe(EAGAIN);
      await delay(1);
    }
    expect(takenAtSeconds - died).toBeGreaterThan(HOST_DEAD_SECONDS);
    expect(
      hostSectorBytes(image.path, 3)
        .subarray(0, 160)
        .every((byte) => byte === 0),
    ).toBe(true);
  }, 300_000);

  it("requests: leasehold's request makes a sanlock holder act, and sanlock client request makes a leasehold holder act", async () => {
    initResource();
    const location = { spaceName: 'LS', resourceName: 'R', offsetBytes: RESOURCE_OFFSET };
    const lh = await join(5, 'leasehold-host-5');
    await delay(3);

    // sanlock holds R at lver L; we ask for L + 1, graceful: sanlock SIGTERMs its holder.
    const target = holder();
    expect(await target.outcome()).toBe('ACQUIRED');
    const lver = leaderOf(image.path).lver;
    const result = await requestLease({ disk: lh.disk, delta: lh.delta }, location, {
      lver: lver + 1n,
      forceMode: FORCE_MODE_GRACEFUL,
    });
    expect(result).toMatchObject({ ownerId: 1n, written: true, pinged: true });
    const ended = await Promise.race([target.exited, delay(30).then(() => undefined)]);
    expect(ended?.signal).toBe('SIGTERM');
    expect(daemon.log).toMatch(/request from host_id 5|do_request/);
    await until('sanlock to release R', () => leaderOf(image.path).timestamp === 0n, 10);

    // We hold R; `sanlock client request -f 1` for our lver + 1 reaches us as a kill request.
    const manager = new PaxosLeaseManager(lh.ctx);
    const held: HeldLease = await manager.acquire(location);
    const notices: LeaseRequestNotice[] = [];
    const watcher = manager.watchRequests((notice) => notices.push(notice));
    lh.onPing = (from) => void watcher.onPings([from]);
    const asked = daemon.client([
      'request',
      '-r',
      `LS:R:${image.path}:${RESOURCE_OFFSET}:${held.lver + 1n}`,
      '-f',
      '1',
    ]);
    expect(asked.status, asked.stdout + asked.stderr).toBe(0);
    await until('the kill request to reach us', () => notices.length > 0, 30);
    expect(notices[0]).toMatchObject({ action: 'kill', requestLver: held.lver + 1n, fromHostIds: [1] });
    await manager.release(location);
  }, 120_000);
});

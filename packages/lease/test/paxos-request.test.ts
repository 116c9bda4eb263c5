import { describe, expect, it } from 'vitest';
import {
  FORCE_MODE_GRACEFUL,
  FORCE_MODE_KILL,
  FORCE_MODE_NONE,
  REQUEST_MAGIC,
  REQUEST_VERSION,
} from '@leasehold/ondisk';
import { acquireLease, PaxosLeaseManager, requestLease, type LeaseRequestNotice } from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';
import {
  contextFor,
  FakeDelta,
  FakeLockspace,
  LOCATION,
  makeResourceArea,
  rejectionOf,
  RESOURCE_OFFSET_BYTES,
} from './paxos-fakes.js';

const START = 1000;
const SS = 512;

function setup() {
  const lockspace = new FakeLockspace();
  const area = makeResourceArea({ lockspace });
  const clock = new FakeClock(START);
  const owner = new FakeDelta(lockspace, clock, 2);
  const requester = new FakeDelta(lockspace, clock, 1);
  return { area, clock, lockspace, owner, requester };
}

describe('requestLease (§6, requester side)', () => {
  it('a free lease: success without writing anything', async () => {
    const { area, requester } = setup();
    const result = await requestLease({ disk: area.disk, delta: requester }, LOCATION, {
      lver: 5n,
      forceMode: FORCE_MODE_KILL,
    });
    expect(result).toEqual({ ownerId: 0n, lver: 5n, written: false, pinged: false });
    expect(area.disk.writes()).toEqual([]);
    expect(requester.pinged).toEqual([]);
  });

  it('writes {magic, version, lver, mode} to sector 1 and pings the owner', async () => {
    const { area, clock, owner, requester } = setup();
    await clock.run(acquireLease(contextFor(area, clock, owner), LOCATION));
    area.disk.log.length = 0;
    const result = await requestLease({ disk: area.disk, delta: requester }, LOCATION, {
      lver: 2n,
      forceMode: FORCE_MODE_GRACEFUL,
    });
    expect(result).toEqual({ ownerId: 2n, lver: 2n, written: true, pinged: true });
    expect(area.request()).toEqual({
      magic: REQUEST_MAGIC,
      version: REQUEST_VERSION,
      lver: 2n,
      forceMode: FORCE_MODE_GRACEFUL,
    });
    expect(requester.pinged).toEqual([2]);
    expect(area.disk.log.map((io) => [io.kind, io.offsetBytes - RESOURCE_OFFSET_BYTES, io.lengthBytes])).toEqual([
      ['read', 0, SS],
      ['read', SS, SS],
      ['write', SS, SS],
    ]);
  });

  it('REQUEST_OLD (-272) when the leader is already at the lver asked for; NEXT_LVER asks for lver + 1', async () => {
    const { area, clock, owner, requester } = setup();
    await clock.run(acquireLease(contextFor(area, clock, owner), LOCATION));
    expect(
      await rejectionOf(requestLease({ disk: area.disk }, LOCATION, { lver: 1n, forceMode: FORCE_MODE_KILL })),
    ).toMatchObject({
      code: 'REQUEST_OLD',
      sanlockErrno: -272,
    });
    const next = await requestLease({ disk: area.disk, delta: requester }, LOCATION, {
      lver: 0n,
      forceMode: FORCE_MODE_KILL,
      nextLver: true,
    });
    expect(next.lver).toBe(2n);
  });

  it('REQUEST_LVER (-273) when a request for a larger lver is pending; the same lver is fine', async () => {
    const { area, clock, owner } = setup();
    await clock.run(acquireLease(contextFor(area, clock, owner), LOCATION));
    await requestLease({ disk: area.disk }, LOCATION, { lver: 3n, forceMode: FORCE_MODE_KILL });
    await requestLease({ disk: area.disk }, LOCATION, { lver: 3n, forceMode: FORCE_MODE_GRACEFUL });
    expect(
      await rejectionOf(requestLease({ disk: area.disk }, LOCATION, { lver: 2n, forceMode: FORCE_MODE_KILL })),
    ).toMatchObject({
      code: 'REQUEST_LVER',
      sanlockErrno: -273,
    });
  });

  it('lver 0 with mode 0 clears the request (no leader check, no ping)', async () => {
    const { area, clock, owner, requester } = setup();
    await clock.run(acquireLease(contextFor(area, clock, owner), LOCATION));
    await requestLease({ disk: area.disk }, LOCATION, { lver: 9n, forceMode: FORCE_MODE_KILL });
    const cleared = await requestLease({ disk: area.disk, delta: requester }, LOCATION, {
      lver: 0n,
      forceMode: FORCE_MODE_NONE,
    });
    expect(cleared).toMatchObject({ written: true, pinged: false });
    expect(area.request()).toMatchObject({ lver: 0n, forceMode: 0 });
  });

  it('a damaged request record is refused (-270 magic, -271 version)', async () => {
    const { area, clock, owner } = setup();
    await clock.run(acquireLease(contextFor(area, clock, owner), LOCATION));
    area.memory.overwrite(RESOURCE_OFFSET_BYTES + SS, new Uint8Array([1, 2, 3, 4]));
    expect(await rejectionOf(requestLease({ disk: area.disk }, LOCATION, { lver: 2n, forceMode: 1 }))).toMatchObject({
      code: 'CORRUPT',
      sanlockErrno: -270,
    });
    area.memory.overwrite(RESOURCE_OFFSET_BYTES + SS, new Uint8Array([0x11, 0x20, 0x29, 0x08, 0x01, 0x00, 0x02, 0x00]));
    expect(await rejectionOf(requestLease({ disk: area.disk }, LOCATION, { lver: 2n, forceMode: 1 }))).toMatchObject({
      code: 'CORRUPT',
      sanlockErrno: -271,
    });
  });

  it('rejects unknown force modes', async () => {
    const { area } = setup();
    expect(
      await rejectionOf(requestLease({ disk: area.disk }, LOCATION, { lver: 2n, forceMode: 3 as 1 })),
    ).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('request watch (§6, holder side)', () => {
  it('on a ping, reads sector 1 of each exclusive lease held and reports req.lver > held lver once', async () => {
    const { area, clock, owner, requester } = setup();
    const manager = new PaxosLeaseManager(contextFor(area, clock, owner));
    await clock.run(manager.acquire(LOCATION));
    const notices: LeaseRequestNotice[] = [];
    const watcher = manager.watchRequests((notice) => notices.push(notice));

    expect(await watcher.poll()).toEqual([]); // no ping: no I/O
    await requestLease({ disk: area.disk, delta: requester }, LOCATION, { lver: 2n, forceMode: FORCE_MODE_GRACEFUL });
    owner.incomingPings.push(1);
    area.disk.log.length = 0;
    await watcher.poll();
    expect(area.disk.log).toEqual([{ kind: 'read', offsetBytes: RESOURCE_OFFSET_BYTES + SS, lengthBytes: SS }]);
    expect(notices.map((n) => [n.action, n.requestLver, n.fromHostIds])).toEqual([['graceful', 2n, [1]]]);

    // Pings repeat while the requester's bit stays set: the same request is reported once.
    owner.incomingPings.push(1);
    await watcher.poll();
    expect(notices).toHaveLength(1);
    // Escalation to FORCE is a new request.
    await requestLease({ disk: area.disk, delta: requester }, LOCATION, { lver: 2n, forceMode: FORCE_MODE_KILL });
    owner.incomingPings.push(1);
    await watcher.poll();
    expect(notices.map((n) => n.action)).toEqual(['graceful', 'kill']);
  });

  it('ignores requests for an lver we already hold past, mode 0, and shared holds', async () => {
    const { area, clock, owner, requester } = setup();
    const manager = new PaxosLeaseManager(contextFor(area, clock, owner));
    await clock.run(manager.acquire(LOCATION));
    const notices: LeaseRequestNotice[] = [];
    const watcher = manager.watchRequests((notice) => notices.push(notice));
    area.memory.overwrite(RESOURCE_OFFSET_BYTES + SS + 8, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 1])); // lver 1, FORCE
    await watcher.onPings([1]);
    await requestLease({ disk: area.disk, delta: requester }, LOCATION, { lver: 0n, forceMode: FORCE_MODE_NONE });
    await watcher.onPings([1]);
    await clock.run(manager.convert(LOCATION, 'shared'));
    area.memory.overwrite(RESOURCE_OFFSET_BYTES + SS + 8, new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0, 1]));
    await watcher.onPings([1]);
    expect(notices).toEqual([]);
  });
});

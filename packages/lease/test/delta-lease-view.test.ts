/**
 * DeltaLeaseView: the one view of a delta lease renewed elsewhere that Paxos uses (the daemon's
 * resource lanes, the simulator). Its deadline is the lease layer's (8 x io_timeout after the last
 * reported renewal), its host states are hostState's, and its write fence refuses writes past the
 * deadline or after detach.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDisk } from '@leasehold/disk';
import { buildLockspaceArea, geometryFor, MIB } from '@leasehold/ondisk';
import {
  acquireDeltaLease,
  DeltaLeaseView,
  deltaDeadlineSeconds,
  resumeDeltaLease,
  type DeltaLeaseConfig,
} from '@leasehold/lease';
import { FakeClock } from './support/fake-clock.js';

const N = 10;
const config: DeltaLeaseConfig = {
  spaceName: 'view',
  hostId: 2,
  areaOffsetBytes: 0,
  hostName: 'h2',
  ioTimeoutSeconds: N,
  watchdogFireTimeoutSeconds: 60,
};

async function setup(): Promise<{
  clock: FakeClock;
  disk: MemoryDisk;
  view: DeltaLeaseView;
  pings: number[];
  generation: bigint;
}> {
  const clock = new FakeClock();
  const geometry = geometryFor(512, MIB);
  const disk = new MemoryDisk({ sectorSize: 512, sizeBytes: MIB });
  disk.overwrite(0, buildLockspaceArea({ spaceName: 'view', geometry, ioTimeoutSeconds: N }));
  const acquiring = acquireDeltaLease(disk, clock, config);
  const lease = await clock.run(acquiring);
  const pings: number[] = [];
  const view = new DeltaLeaseView(
    {
      config,
      geometry: lease.geometry,
      generation: lease.generation,
      lastRenewalSeconds: lease.lastRenewalSeconds,
      hosts: lease.hosts(),
    },
    disk,
    clock,
    (hostId) => pings.push(hostId),
  );
  return { clock, disk, view, pings, generation: lease.generation };
}

describe('DeltaLeaseView', () => {
  it('is held until 8 x io_timeout after the last reported renewal, and renewals move that on', async () => {
    const { clock, view } = await setup();
    const first = view.lastRenewalSeconds;
    expect(view.expiresAtSeconds).toBe(deltaDeadlineSeconds(first, N));
    await clock.advance(8 * N - 1);
    expect(view.lost).toBe(false);
    expect(view.host(2)?.state).toBe('LIVE');
    view.renewed(first + 5 * N, view.hosts());
    await clock.advance(2);
    expect(view.lost).toBe(false);
    await clock.advance(5 * N);
    expect(view.lost).toBe(true);
    expect(view.lostError?.code).toBe('LEASE_LOST');
  });

  it('fences writes once lost or detached, and pings go to the renewer', async () => {
    const { clock, disk, view, pings } = await setup();
    const fenced = view.fence(disk);
    await fenced.write(MIB - 512, new Uint8Array(512));
    view.pingHost(7);
    expect(pings).toEqual([7]);
    await clock.advance(8 * N);
    await expect(fenced.write(MIB - 512, new Uint8Array(512))).rejects.toMatchObject({ code: 'ECLOSED' });
    const other = await setup();
    other.view.detach();
    await expect(other.view.fence(other.disk).write(MIB - 512, new Uint8Array(512))).rejects.toMatchObject({
      code: 'ECLOSED',
    });
  });

  it('resumeDeltaLease takes our lease back with the same generation, and refuses a stale one', async () => {
    const { clock, disk, generation } = await setup();
    const resumed = await resumeDeltaLease(disk, clock, config, generation, 2 * N);
    expect(resumed.generation).toBe(generation);
    await expect(resumeDeltaLease(disk, clock, config, generation + 1n, 2 * N)).rejects.toMatchObject({
      code: 'RENEW_OWNER',
    });
    await clock.advance(7 * N);
    await expect(resumeDeltaLease(disk, clock, config, generation, 2 * N)).rejects.toMatchObject({
      code: 'LEASE_LOST',
    });
  });
});

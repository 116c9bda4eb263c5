/**
 * The daemon's activation ops between two real daemons on one image, with the none backend (the
 * lease only, as lvm with activation disabled): activate holds the lease persistently beyond the
 * requesting client, refusals name the holders (ownerId/mode, hostIds), SH<->EX conversion as
 * lvmlockd, deactivate gives the lease back, lockstop is refused naming the active LV, status lists
 * the activations; a SIGKILLed daemon restarted quickly adopts its activations and nobody else can
 * take them meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeaseholdError, type LeaseholdClient } from '@leasehold/client';
import type { LvMapping } from '@leasehold/protocol';
import { MIB, TestDaemon, TestDir, waitFor } from './support/harness.js';

let dir: TestDir;
let image: string;
let hostA: TestDaemon;
let hostB: TestDaemon;

function mapping(resource: string): LvMapping {
  return {
    vgName: 'vg0',
    lvName: `lv_${resource}`,
    lvUuid: resource,
    sizeSectors: 2048,
    segments: [{ lvStartSectors: 0, lengthSectors: 2048, pvPath: image, pvOffsetSectors: 8192 }],
  };
}

function activateRequest(resource: string, index: number, mode: 'EX' | 'SH') {
  return {
    lockspace: 'AC',
    resource,
    path: image,
    offsetBytes: index * MIB,
    mode,
    mapping: mapping(resource),
    vgSeqno: 3,
  };
}

async function refusal(work: () => Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await work();
  } catch (error) {
    if (isLeaseholdError(error)) return { code: error.code, details: error.details ?? {} };
    throw error;
  }
  throw new Error('expected a refusal');
}

const onA = <T>(work: (client: LeaseholdClient) => Promise<T>): Promise<T> => hostA.with(work);
const onB = <T>(work: (client: LeaseholdClient) => Promise<T>): Promise<T> => hostB.with(work);

beforeAll(async () => {
  dir = new TestDir();
  image = dir.image('activation.img', 'AC', 3);
  hostA = await new TestDaemon(dir, { name: 'actA', extraArgs: ['--activation-backend', 'none'] }).start();
  hostB = await new TestDaemon(dir, { name: 'actB', extraArgs: ['--activation-backend', 'none'] }).start();
  await hostA.lockstart('AC', 1, image);
  await hostB.lockstart('AC', 2, image);
}, 60_000);

afterAll(async () => {
  await hostA?.kill().catch(() => undefined);
  await hostB?.kill().catch(() => undefined);
  dir?.cleanup();
});

describe('activation ops between two daemons (none backend)', () => {
  it('-aey holds the lease beyond the client; the other host is refused naming the owner; -an frees it', async () => {
    const first = await onA((client) => client.activate(activateRequest('R1', 1, 'EX')));
    expect(first.change).toBe('activated');
    expect(first.activation).toMatchObject({ vgName: 'vg0', lvName: 'lv_R1', mode: 'EX', origin: 'activated' });
    expect(first.activation.device.backend).toBe('none');
    // The client that asked is gone; the daemon still holds it.
    expect(await onA((client) => client.activations('AC'))).toEqual([
      expect.objectContaining({ resource: 'R1', mode: 'EX' }),
    ]);
    const status = await onA((client) => client.status());
    expect(status.leases).toEqual([expect.objectContaining({ resource: 'R1', holder: 'persistent', mode: 'EX' })]);
    expect(status.activations).toEqual([expect.objectContaining({ resource: 'R1', lvName: 'lv_R1' })]);

    const held = await refusal(() => onB((client) => client.activate(activateRequest('R1', 1, 'EX'))));
    expect(held.code).toBe('LEASE_HELD');
    expect(held.details).toMatchObject({ ownerId: 1, mode: 'EX' });
    const heldSh = await refusal(() => onB((client) => client.activate(activateRequest('R1', 1, 'SH'))));
    expect(heldSh.code).toBe('LEASE_HELD');
    expect(heldSh.details).toMatchObject({ ownerId: 1, mode: 'EX' });
    expect(await onB((client) => client.activations())).toEqual([]);

    // Same mode again: nothing changes.
    expect((await onA((client) => client.activate(activateRequest('R1', 1, 'EX')))).change).toBe('unchanged');
    const busy = await refusal(() => onA((client) => client.lockstop('AC')));
    expect(busy.code).toBe('LOCKSPACE_BUSY');
    expect(JSON.stringify(busy.details)).toContain('R1');

    expect(await onA((client) => client.deactivate('AC', 'R1'))).toEqual({ deactivated: true });
    expect(await onA((client) => client.deactivate('AC', 'R1'))).toEqual({ deactivated: false });
    expect((await onA((client) => client.status())).leases).toEqual([]);
    expect((await onB((client) => client.activate(activateRequest('R1', 1, 'EX')))).change).toBe('activated');
    expect(await onB((client) => client.deactivate('AC', 'R1'))).toEqual({ deactivated: true });
  }, 60_000);

  it('-asy on both; -aey on either is refused naming the other SH holder; EX converts down to SH and back', async () => {
    expect((await onA((client) => client.activate(activateRequest('R2', 2, 'SH')))).change).toBe('activated');
    expect((await onB((client) => client.activate(activateRequest('R2', 2, 'SH')))).change).toBe('activated');
    const fromA = await refusal(() => onA((client) => client.activate(activateRequest('R2', 2, 'EX'))));
    expect(fromA.code).toBe('SHARED_HOLDERS');
    expect(fromA.details['hostIds']).toEqual([2]);
    const fromB = await refusal(() => onB((client) => client.activate(activateRequest('R2', 2, 'EX'))));
    expect(fromB.code).toBe('SHARED_HOLDERS');
    expect(fromB.details['hostIds']).toEqual([1]);
    // A failed conversion leaves it active shared.
    expect(await onA((client) => client.activations('AC'))).toEqual([
      expect.objectContaining({ resource: 'R2', mode: 'SH' }),
    ]);

    expect(await onB((client) => client.deactivate('AC', 'R2'))).toEqual({ deactivated: true });
    const converted = await onA((client) => client.activate(activateRequest('R2', 2, 'EX')));
    expect(converted.change).toBe('converted');
    expect(converted.activation.mode).toBe('EX');
    expect((await refusal(() => onB((client) => client.activate(activateRequest('R2', 2, 'SH'))))).code).toBe(
      'LEASE_HELD',
    );
    const down = await onA((client) => client.activate(activateRequest('R2', 2, 'SH')));
    expect(down.change).toBe('converted');
    expect((await onB((client) => client.activate(activateRequest('R2', 2, 'SH')))).change).toBe('activated');
    expect(await onA((client) => client.deactivate('AC', 'R2'))).toEqual({ deactivated: true });
    expect(await onB((client) => client.deactivate('AC', 'R2'))).toEqual({ deactivated: true });
  }, 60_000);

  it('refresh needs an active LV; a mapping of another LV is refused', async () => {
    const notActive = await refusal(() =>
      onA((client) =>
        client.refreshActivation({ lockspace: 'AC', resource: 'R3', mapping: mapping('R3'), vgSeqno: 4 }),
      ),
    );
    expect(notActive.code).toBe('LV_NOT_ACTIVE');
    const wrong = await refusal(() =>
      onA((client) => client.activate({ ...activateRequest('R3', 3, 'EX'), mapping: mapping('R2') })),
    );
    expect(wrong.code).toBe('BAD_REQUEST');
    await onA((client) => client.activate(activateRequest('R3', 3, 'EX')));
    const grown = { ...mapping('R3'), sizeSectors: 4096 };
    grown.segments = [{ ...grown.segments[0]!, lengthSectors: 4096 }];
    const refreshed = await onA((client) =>
      client.refreshActivation({ lockspace: 'AC', resource: 'R3', mapping: grown, vgSeqno: 5 }),
    );
    expect(refreshed.activation).toMatchObject({
      mappingSeqno: 5,
      device: expect.objectContaining({ sizeSectors: 4096 }),
    });
    expect(await onA((client) => client.deactivate('AC', 'R3'))).toEqual({ deactivated: true });
  }, 30_000);

  it('a SIGKILLed daemon restarted quickly adopts its activation; the other host cannot take it meanwhile', async () => {
    await onA((client) => client.activate(activateRequest('R1', 1, 'EX')));
    await hostA.kill('SIGKILL');
    // While A's daemon is down, its lease is still A's on disk (A's delta lease is still fresh).
    const meanwhile = await refusal(() => onB((client) => client.activate(activateRequest('R1', 1, 'EX'))));
    expect(meanwhile.code).toBe('LEASE_HELD');
    expect(meanwhile.details).toMatchObject({ ownerId: 1 });
    hostA = await new TestDaemon(dir, {
      name: 'actA',
      stateDir: hostA.stateDir,
      extraArgs: ['--activation-backend', 'none'],
    }).start();
    await waitFor('the activation to be adopted', () =>
      hostA.log().includes('adopted LV activation after restart') ? true : undefined,
    );
    expect(await onA((client) => client.activations('AC'))).toEqual([
      expect.objectContaining({ resource: 'R1', mode: 'EX', lvName: 'lv_R1', origin: 'adopted' }),
    ]);
    expect((await onA((client) => client.status())).leases).toEqual([
      expect.objectContaining({ resource: 'R1', holder: 'persistent' }),
    ]);
    const still = await refusal(() => onB((client) => client.activate(activateRequest('R1', 1, 'EX'))));
    expect(still.code).toBe('LEASE_HELD');
    expect(await onA((client) => client.deactivate('AC', 'R1'))).toEqual({ deactivated: true });
    expect((await onB((client) => client.activate(activateRequest('R1', 1, 'EX')))).change).toBe('activated');
    expect(await onB((client) => client.deactivate('AC', 'R1'))).toEqual({ deactivated: true });
  }, 60_000);

  it('restarted after its lease expired: the old activation is deactivated, not left to the admin, and the lockspace rejoins', async () => {
    await onA((client) => client.activate(activateRequest('R3', 3, 'EX')));
    await hostA.kill('SIGKILL');
    // Past 6 x io_timeout: the delta lease cannot be resumed, a new generation must join.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    hostA = await new TestDaemon(dir, {
      name: 'actA',
      stateDir: hostA.stateDir,
      extraArgs: ['--activation-backend', 'none'],
    }).start();
    const joined = await waitFor(
      'the lockspace to join again',
      async () => {
        const ls = (await onA((client) => client.status())).lockspaces.find((l) => l.lockspace === 'AC');
        return ls?.state === 'joined' ? ls : undefined;
      },
      40_000,
    );
    expect(joined.hostIdSource).not.toBe('restored');
    expect(await onA((client) => client.activations('AC'))).toEqual([
      expect.objectContaining({ resource: 'R3', loss: expect.objectContaining({ phase: 'deactivated' }) }),
    ]);
    expect((await onA((client) => client.status())).leases).toEqual([]);
    // Activated again from scratch, under the new generation.
    expect((await onA((client) => client.activate(activateRequest('R3', 3, 'EX')))).change).toBe('activated');
    expect(await onA((client) => client.deactivate('AC', 'R3'))).toEqual({ deactivated: true });
  }, 90_000);
});

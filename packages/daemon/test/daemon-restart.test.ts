/**
 * A daemon SIGKILLed and restarted does exactly what its state says:
 * - restarted quickly (within 8 x io_timeout of its last renewal): it resumes its delta lease with
 *   the same generation (no other host can have taken anything), adopts the leases of holders that
 *   are still alive and the persistent ones, and releases those whose holder died meanwhile;
 * - restarted late: the holders recorded in state are stopped first (a new generation never starts
 *   while an old holder may still use a lease), then it rejoins by the fast reacquire (2 x io_timeout).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIB, processAlive, sleep, startHolder, TestDaemon, TestDir, waitFor } from './support/harness.js';

let dir: TestDir;

beforeAll(() => {
  dir = new TestDir();
});

afterAll(() => dir?.cleanup());

const lockspaceOf = async (daemon: TestDaemon, name: string) =>
  (await daemon.with((client) => client.status())).lockspaces.find((ls) => ls.lockspace === name);

describe('daemon restart', () => {
  it('restarted quickly, it resumes the same generation and adopts or cleans up as its state says', async () => {
    const image = dir.image('restart1.img', 'RS', 3);
    const where = (resource: string, index: number) => ({
      lockspace: 'RS',
      resource,
      path: image,
      offsetBytes: index * MIB,
    });
    let daemon = await new TestDaemon(dir, { name: 'rs1' }).start();
    await daemon.lockstart('RS', 'auto', image);
    const before = (await lockspaceOf(daemon, 'RS'))!;
    const survivor = startHolder(dir, { socket: daemon.socketPath, leases: [where('R1', 1)] });
    const doomed = startHolder(dir, { socket: daemon.socketPath, leases: [where('R2', 2)] });
    const persistent = startHolder(dir, {
      socket: daemon.socketPath,
      leases: [{ ...where('R3', 3), persistent: true }],
      exitAfterAcquire: true,
    });
    await Promise.all([survivor.next('holding'), doomed.next('holding'), persistent.next('exiting')]);

    await daemon.kill('SIGKILL');
    doomed.child.kill('SIGKILL');
    await sleep(200);

    const restartedAt = Date.now();
    daemon = await new TestDaemon(dir, { name: 'rs1', stateDir: daemon.stateDir }).start();
    const after = await waitFor('the lockspace to be joined again', async () => {
      const ls = await lockspaceOf(daemon, 'RS');
      return ls?.state === 'joined' ? ls : undefined;
    });
    const rejoinMs = Date.now() - restartedAt;
    expect(after.hostIdSource).toBe('restored');
    expect(after.hostId).toBe(before.hostId);
    expect(after.generation).toBe(before.generation);
    expect(rejoinMs).toBeLessThan(2000 * 1); // well within 2 x io_timeout

    const leases = await waitFor('adoption and cleanup', async () => {
      const status = await daemon.with((client) => client.status());
      return status.leases.length === 2 ? status.leases : undefined;
    });
    expect(leases).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ resource: 'R1', holder: 'process', pid: survivor.child.pid }),
        expect.objectContaining({ resource: 'R3', holder: 'persistent' }),
      ]),
    );
    // The dead holder's lease was released on disk: it can be taken at once.
    await daemon.with(async (client) => {
      const lease = await client.acquire(where('R2', 2));
      await lease.release();
    });
    // The adopted holder is watched again: its death releases its lease.
    survivor.child.kill('SIGKILL');
    await waitFor(
      'release of the adopted lease',
      async () => {
        const status = await daemon.with((client) => client.status());
        return status.leases.every((lease) => lease.resource !== 'R1') ? true : undefined;
      },
      3000,
    );
    await daemon.with((client) => client.release('RS', 'R3', { persistent: true }));
    await daemon.kill();
  });

  it('restarted after its lease expired, it stops the old holders first, then rejoins in about 2 x io_timeout', async () => {
    const image = dir.image('restart2.img', 'RT', 1);
    let daemon = await new TestDaemon(dir, { name: 'rs2' }).start();
    await daemon.lockstart('RT', 3, image);
    const before = (await lockspaceOf(daemon, 'RT'))!;
    const holder = startHolder(dir, {
      socket: daemon.socketPath,
      leases: [{ lockspace: 'RT', resource: 'R1', path: image, offsetBytes: MIB }],
    });
    await holder.next('holding');

    await daemon.kill('SIGKILL');
    // Past 8 x io_timeout: the old generation's leases are expired for every other host.
    await sleep(9000);
    expect(processAlive(holder.child.pid!)).toBe(true);

    const restartedAt = Date.now();
    daemon = await new TestDaemon(dir, { name: 'rs2', stateDir: daemon.stateDir }).start();
    const after = await waitFor('the lockspace to be joined again', async () => {
      const ls = await lockspaceOf(daemon, 'RT');
      return ls?.state === 'joined' ? ls : undefined;
    });
    const rejoinMs = Date.now() - restartedAt;
    // The old holder was stopped before the new generation started.
    expect(processAlive(holder.child.pid!)).toBe(false);
    expect(BigInt(after.generation!)).toBe(BigInt(before.generation!) + 1n);
    expect(after.hostId).toBe(3);
    // kill (SIGTERM, then SIGKILL after the grace of 0 s at W = 10) + fast reacquire (2 x io_timeout)
    expect(rejoinMs).toBeLessThan(6000);
    expect(daemon.log()).toContain('old lease holders outlived our delta lease');
    expect((await daemon.with((client) => client.status())).leases).toHaveLength(0);
    await daemon.kill();
  }, 60_000);
});

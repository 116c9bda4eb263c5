/**
 * A lockstop that comes while the lockspace's join sits on a dead device (its lane's thread blocked
 * inside the I/O, as a synchronous O_DIRECT call on a dead device is) does not wait for the join:
 * the start is cancelled at once and the lockspace is gone. When the device answers again, the late
 * join is given up, and the lockspace can be started again.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, TestDaemon, TestDir, waitFor } from './support/harness.js';

/** Longer than the lanes' stall threshold (500 ms): the join is certainly stuck in the I/O. */
const HUNG_FOR_MS = 800;
/** A lockstop that does not wait for the device answers well within this. */
const PROMPT_MS = 2000;

let dir: TestDir;
let daemon: TestDaemon;

beforeAll(async () => {
  dir = new TestDir();
  daemon = await new TestDaemon(dir, { name: 'hungjoin', faultDir: dir.path }).start();
});

afterAll(async () => {
  rmSync(dir.file('hang@dead.img'), { force: true });
  await daemon?.kill();
  dir?.cleanup();
});

const lockspaceOf = async (name: string) =>
  (await daemon.with((client) => client.status())).lockspaces.find((ls) => ls.lockspace === name);

describe('lockstop during a join hung on a dead device', () => {
  it('returns at once; the late join is given up and the lockspace starts again', async () => {
    const image = dir.image('dead.img', 'DEAD', 2);
    const other = dir.image('alive.img', 'ALIVE', 2);
    writeFileSync(dir.file('hang@dead.img'), '');

    const start = daemon
      .with((client) => client.lockstart('DEAD', 1, image, 0, { wait: true }))
      .then(
        () => undefined,
        (error: unknown) => error as { code?: string },
      );
    await waitFor('the join to begin', async () => {
      const ls = await lockspaceOf('DEAD');
      return ls?.state === 'starting' && ls.hostId === 1 ? ls : undefined;
    });
    await sleep(HUNG_FOR_MS);

    const stopAt = Date.now();
    const stopped = await daemon.with((client) => client.lockstop('DEAD', { wait: true }));
    expect(stopped.state).toBe('stopped');
    expect(Date.now() - stopAt).toBeLessThan(PROMPT_MS);
    expect((await start)?.code).toBe('LOCKSPACE_STOPPING');
    expect(await lockspaceOf('DEAD')).toBeUndefined();

    // The daemon goes on meanwhile: another lockspace starts while the device still hangs.
    await daemon.lockstart('ALIVE', 1, other);
    expect((await lockspaceOf('ALIVE'))?.state).toBe('joined');

    // The device comes back: the late join ends and is given up (nothing renews it).
    rmSync(dir.file('hang@dead.img'));
    await waitFor('the late join to be given up', () =>
      daemon.log().includes('the join of a cancelled start has ended') ? true : undefined,
    );
    expect(await lockspaceOf('DEAD')).toBeUndefined();
    await daemon.lockstart('DEAD', 1, image);
    const again = await lockspaceOf('DEAD');
    expect(again?.state).toBe('joined');
    expect(again?.hostId).toBe(1);
  }, 60_000);
});

/**
 * Issue 14 "waiting that tells": lockstart with a host_id a live host holds (a typo) says in its
 * progress who holds it (the host name of its delta lease) and that it is still being renewed, and
 * ends in HOSTID_BUSY; the daemon's log has the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeaseholdError, type ProgressInfo } from '@leasehold/client';
import { TestDaemon, TestDir } from './support/harness.js';

let dir: TestDir;
let image: string;
let a: TestDaemon;
let b: TestDaemon;

beforeAll(async () => {
  dir = new TestDir();
  image = dir.image('typo.img', 'LS', 0);
  [a, b] = await Promise.all([
    new TestDaemon(dir, { name: 'a', extraArgs: ['--host-name', 'host-a-name'] }).start(),
    new TestDaemon(dir, { name: 'b', extraArgs: ['--host-name', 'host-b-name'] }).start(),
  ]);
  await a.lockstart('LS', 1, image);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  dir?.cleanup();
});

describe('lockstart on a host_id a live host holds', () => {
  it('the progress names the holder and says it is still renewing; the start ends HOSTID_BUSY', async () => {
    const progress: ProgressInfo[] = [];
    const failure = await b
      .with((client) => client.lockstart('LS', 1, image, 0, { wait: true, onProgress: (info) => progress.push(info) }))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isLeaseholdError(failure, 'HOSTID_BUSY')).toBe(true);
    const waits = progress.filter((info) => info.phase === 'wait-previous-owner');
    expect(waits.map((info) => info.message)).toContainEqual(
      expect.stringMatching(/host_id 1 is held by "host-a-name" \(generation 1\), which is still renewing it/),
    );
    expect(b.log()).toMatch(/"hostId":1.*"ownerName":"host-a-name"|"ownerName":"host-a-name".*"hostId":1/);
  });
});

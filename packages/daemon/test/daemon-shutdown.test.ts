/**
 * Stopping the daemon: SIGTERM is refused while leases are held (leaving would let other hosts take
 * leases still in use here); with none held, the daemon leaves its lockspaces (releasing its delta
 * leases) and exits 0, and the next start joins them again by itself, with the host_id it had.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childExited, MIB, runCli, sleep, startHolder, TestDaemon, TestDir, waitFor } from './support/harness.js';

let dir: TestDir;
let image: string;

beforeAll(() => {
  dir = new TestDir();
  image = dir.image('shutdown.img', 'SD', 1);
});

afterAll(() => dir?.cleanup());

describe('daemon shutdown', () => {
  it('refuses SIGTERM while a lease is held, exits cleanly when none is, and rejoins at the next start', async () => {
    let daemon = await new TestDaemon(dir, { name: 'sd' }).start();
    await daemon.lockstart('SD', 'auto', image);
    const { hostId } = (await daemon.with((client) => client.status())).lockspaces[0]!;
    const holder = startHolder(dir, {
      socket: daemon.socketPath,
      leases: [{ lockspace: 'SD', resource: 'R1', path: image, offsetBytes: MIB }],
    });
    await holder.next('holding');

    daemon.process.kill('SIGTERM');
    await sleep(700);
    expect(daemon.process.exitCode).toBeNull();
    expect(daemon.log()).toContain('refusing to stop while leases are held');

    holder.child.kill('SIGKILL');
    await waitFor('the lease to be released', () =>
      daemon.with(async (client) => ((await client.status()).leases.length === 0 ? true : undefined)),
    );
    await sleep(5200); // past the window in which a second signal would force the exit
    daemon.process.kill('SIGTERM');
    await childExited(daemon.process);
    expect(daemon.process.exitCode).toBe(0);
    // Our delta lease was released: the slot reads FREE.
    const hosts = runCli(['direct', 'hosts', '-s', `SD:${image}:0`, '--json']);
    expect(hosts.status).toBe(0);
    const slot = (JSON.parse(hosts.stdout) as Array<{ hostId: number; timestamp: string | number }>).find(
      (entry) => entry.hostId === hostId,
    );
    expect(slot === undefined || String(slot.timestamp) === '0').toBe(true);

    daemon = await new TestDaemon(dir, { name: 'sd', stateDir: daemon.stateDir }).start();
    const rejoined = await waitFor('the lockspace to join again at start', async () => {
      const ls = (await daemon.with((client) => client.status())).lockspaces[0];
      return ls?.state === 'joined' ? ls : undefined;
    });
    expect(rejoined.hostId).toBe(hostId);
    expect(rejoined.hostIdSource).toBe('remembered');
    await daemon.kill();
  }, 60_000);

  it('uses host-id.conf for auto host_ids', async () => {
    const conf = dir.file('host-id.conf');
    (await import('node:fs')).writeFileSync(conf, '# test\nOTHER = 3\n* = 9\n');
    const image2 = dir.image('conf.img', 'CF', 1);
    const daemon = await new TestDaemon(dir, { name: 'conf', hostIdFile: conf }).start();
    try {
      await daemon.lockstart('CF', 'auto', image2);
      const ls = (await daemon.with((client) => client.status())).lockspaces[0]!;
      expect(ls.hostId).toBe(9);
      expect(ls.hostIdSource).toBe('config');
    } finally {
      await daemon.kill();
    }
  });
});

/**
 * A device that hangs stalls only its own lockspaces. The fault makes every I/O on one image block
 * its lane's thread inside the I/O call (as a synchronous O_DIRECT call on a dead device does).
 * The other lockspace, on another device, keeps renewing on time; the hung one is declared lost by
 * the main thread at 8 x io_timeout after its last renewal, and the holders of its leases are killed.
 */
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIB, processAlive, sleep, startHolder, TestDaemon, TestDir, waitFor } from './support/harness.js';

describe.each(['shared', 'per-device'])('lanes %s', (lanes) => {
  let dir: TestDir;
  let daemon: TestDaemon;
  let healthy: string;
  let hung: string;

  beforeAll(async () => {
    dir = new TestDir();
    healthy = dir.image('healthy.img', 'OK', 2);
    hung = dir.image('hung.img', 'HANG', 2);
    // The hung lockspace has a kill command (it records its arguments, then stops the holder).
    const killScript = dir.file('kill-hang.sh');
    writeFileSync(killScript, `#!/bin/sh\necho "$1 $2" >> ${dir.file('killed.txt')}\nkill -TERM "$2"\n`);
    chmodSync(killScript, 0o755);
    daemon = await new TestDaemon(dir, {
      name: 'hang',
      faultDir: dir.path,
      configText: `kill_command.HANG = ${killScript}\nlanes = ${lanes}\n`,
    }).start();
    await Promise.all([daemon.lockstart('OK', 1, healthy), daemon.lockstart('HANG', 1, hung)]);
  }, 60_000);

  afterAll(async () => {
    rmSync(dir.file('hang@hung.img'), { force: true });
    await daemon?.kill();
    dir?.cleanup();
  });

  describe('a hung device', () => {
    it('stalls only its own lockspace: the other renews on time, the hung one is lost on time', async () => {
      const okHolder = startHolder(dir, {
        socket: daemon.socketPath,
        leases: [{ lockspace: 'OK', resource: 'R1', path: healthy, offsetBytes: MIB }],
      });
      const hungHolder = startHolder(dir, {
        socket: daemon.socketPath,
        leases: [{ lockspace: 'HANG', resource: 'R1', path: hung, offsetBytes: MIB }],
      });
      await Promise.all([okHolder.next('holding'), hungHolder.next('holding')]);

      writeFileSync(dir.file('hang@hung.img'), '');
      const hangStartedAt = Date.now();

      // A resource operation on the hung device blocks the shared resource lane; one on the healthy
      // lockspace still completes promptly (it is moved to a fresh lane).
      const stuckClient = await daemon.client('stuck');
      const stuck = stuckClient
        .acquire({ lockspace: 'HANG', resource: 'R2', path: hung, offsetBytes: 2 * MIB })
        .catch((error: unknown) => error);
      await sleep(300);
      const acquireStartedAt = Date.now();
      const fine = await daemon.with(async (client) => {
        const lease = await client.acquire({ lockspace: 'OK', resource: 'R2', path: healthy, offsetBytes: 2 * MIB });
        await lease.release();
        return lease;
      });
      expect(fine.info.resource).toBe('R2');
      expect(Date.now() - acquireStartedAt).toBeLessThan(3000);

      // Poll status until the hung lockspace is declared lost.
      const lost = await waitFor(
        'the hung lockspace to be declared lost',
        async () => {
          const status = await daemon.with((client) => client.status());
          const ls = status.lockspaces.find((candidate) => candidate.lockspace === 'HANG')!;
          return ls.state === 'lost' ? ls : undefined;
        },
        20_000,
        50,
      );
      const lostAfterMs = Date.now() - hangStartedAt;
      // Lost 8 x io_timeout after its last successful renewal (which came at most 2 x io_timeout + a
      // renewal before the hang began), and not before.
      expect(lost.renewedSecondsAgo!).toBeGreaterThanOrEqual(8);
      expect(lost.renewedSecondsAgo!).toBeLessThan(8.6);
      expect(lostAfterMs).toBeLessThan(11_000);
      expect(lost.error?.code).toBe('LEASE_LOST');
      // The acquire stuck on the hung device ends with the lockspace's loss.
      const stuckOutcome = await stuck;
      expect((stuckOutcome as { code?: string }).code).toBe('LOCKSPACE_LOST');
      stuckClient.close();

      // Its holder is stopped by the lockspace's kill command (then SIGKILL after the grace, 0 s at W = 10).
      await waitFor(
        'the hung lockspace holder to be killed',
        () => (processAlive(hungHolder.child.pid!) ? undefined : true),
        5000,
      );
      expect(readFileSync(dir.file('killed.txt'), 'utf8')).toContain(`HANG ${hungHolder.child.pid}`);
      expect(daemon.log()).toContain('LEASE LOST in lockspace HANG');
      if (lanes === 'shared') {
        // Both lockspaces shared one renewal lane until it stalled; the healthy one was moved off it.
        expect(daemon.log()).toContain('renewal lane stalled on a device');
        expect(daemon.log()).toContain('lockspace moved to a new renewal lane');
        expect(daemon.log()).toContain('resource lane stalled: moving the other lockspaces to a new lane');
      } else {
        expect(daemon.log()).not.toContain('moving the other lockspaces');
      }

      // Meanwhile the healthy lockspace renewed on time, and its holder is untouched.
      const history = await daemon.with((client) => client.renewalHistory('OK', 64));
      const renewals = history.renewals.filter((renewal) => renewal.ok);
      const during = renewals.filter((renewal) => renewal.startedSecondsAgo <= lostAfterMs / 1000);
      expect(during.length).toBeGreaterThanOrEqual(3);
      const starts = during.map((renewal) => renewal.startedSecondsAgo).sort((x, y) => y - x);
      for (let i = 1; i < starts.length; i++) expect(starts[i - 1]! - starts[i]!).toBeLessThan(3.5); // 2 x io_timeout + slack
      const status = await daemon.with((client) => client.status());
      const ok = status.lockspaces.find((candidate) => candidate.lockspace === 'OK')!;
      expect(ok.state).toBe('joined');
      expect(ok.renewedSecondsAgo!).toBeLessThan(3.5);
      expect(processAlive(okHolder.child.pid!)).toBe(true);
      expect(status.leases).toEqual([expect.objectContaining({ lockspace: 'OK', resource: 'R1' })]);

      // When the device comes back, the lost lockspace writes nothing more; it can be stopped and
      // started again (a fresh join: new generation).
      rmSync(dir.file('hang@hung.img'));
      await daemon.with((client) => client.lockstop('HANG'));
      await daemon.lockstart('HANG', 1, hung);
      const again = (await daemon.with((client) => client.status())).lockspaces.find(
        (candidate) => candidate.lockspace === 'HANG',
      )!;
      expect(again.state).toBe('joined');
      expect(again.generation).toBe('2');
      okHolder.child.kill('SIGKILL');
      await sleep(100);
    }, 60_000);
  });
});

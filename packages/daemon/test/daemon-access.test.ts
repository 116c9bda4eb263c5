/**
 * Who may use the daemon and whose leases are whose: a process of another uid outside the socket
 * group cannot use the socket (file mode, and the peer-credential check behind it); group members
 * can; a process cannot release or convert another process's lease; persistent leases outlive the
 * client that asked for them.
 */
import { chmodSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLeaseholdError } from '@leasehold/client';
import { childExited, MIB, startHolder, startOutsider, TestDaemon, TestDir, waitFor } from './support/harness.js';

let dir: TestDir;
let image: string;
let daemon: TestDaemon;

const where = (resource: string, index: number) => ({
  lockspace: 'AC',
  resource,
  path: image,
  offsetBytes: index * MIB,
});

beforeAll(async () => {
  dir = new TestDir();
  // Let other users reach the socket file itself, so that its own mode is what is tested.
  chmodSync(dir.path, 0o755);
  image = dir.image('access.img', 'AC', 3);
  daemon = await new TestDaemon(dir, { name: 'access' }).start();
  await daemon.lockstart('AC', 1, image);
}, 60_000);

afterAll(async () => {
  await daemon?.kill();
  dir?.cleanup();
});

describe('socket access', () => {
  it('a process of another uid, not in the group, cannot use the socket (mode 0660)', async () => {
    const outsider = startOutsider(dir, daemon.socketPath, ['nobody', 'nogroup']);
    const failure = await outsider.next('error');
    // The file mode stops it before the daemon sees it: connect(2) fails (the client library reports ACCESS_DENIED).
    expect(failure.code).toBe('EACCES');
    expect((await daemon.with((client) => client.status())).leases).toHaveLength(0);
  });

  it('even with a world-writable socket file, the peer-credential check refuses it', async () => {
    const open = await new TestDaemon(dir, { name: 'open', extraArgs: ['--test-socket-mode', '666'] }).start();
    try {
      const outsider = startOutsider(dir, open.socketPath, ['nobody', 'nogroup']);
      const failure = await outsider.next('error');
      expect(failure.code).toBe('ACCESS_DENIED');
      expect(open.log()).toContain('connection refused');
    } finally {
      await open.kill();
    }
  });

  it('members of the socket group may use it', async () => {
    const grouped = await new TestDaemon(dir, { name: 'grouped', extraArgs: ['--socket-group', 'nogroup'] }).start();
    try {
      const member = startOutsider(dir, grouped.socketPath, ['nobody', 'nogroup']);
      const connected = await member.next('connected');
      expect(connected.pid).toBeGreaterThan(0);
      member.child.kill('SIGKILL');
    } finally {
      await grouped.kill();
    }
  });
});

describe('lease ownership', () => {
  it("a client can neither release nor convert another process's lease", async () => {
    const holder = startHolder(dir, { socket: daemon.socketPath, leases: [where('R1', 1)] });
    await holder.next('holding');
    const other = await daemon.client('other');
    try {
      const release = await other.release('AC', 'R1').catch((error: unknown) => error);
      expect(isLeaseholdError(release, 'NOT_OWNER')).toBe(true);
      const convert = await other.convert('AC', 'R1', 'SH').catch((error: unknown) => error);
      expect(isLeaseholdError(convert, 'NOT_OWNER')).toBe(true);
      const steal = await other.acquire(where('R1', 1)).catch((error: unknown) => error);
      expect(isLeaseholdError(steal, 'LEASE_HELD_LOCALLY')).toBe(true);
      const persistentRelease = await other.release('AC', 'R1', { persistent: true }).catch((error: unknown) => error);
      expect(isLeaseholdError(persistentRelease, 'NOT_OWNER')).toBe(true);
    } finally {
      other.close();
      holder.child.kill('SIGKILL');
    }
    await waitFor('release after the holder died', () =>
      daemon.with(async (client) => ((await client.status()).leases.length === 0 ? true : undefined)),
    );
  });

  it('a persistent lease outlives the client that asked for it, until released', async () => {
    const holder = startHolder(dir, {
      socket: daemon.socketPath,
      leases: [{ ...where('R2', 2), persistent: true }],
      exitAfterAcquire: true,
    });
    await holder.next('exiting');
    await childExited(holder.child);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const status = await daemon.with((client) => client.status());
    expect(status.leases).toEqual([expect.objectContaining({ resource: 'R2', holder: 'persistent' })]);
    const lockstop = await daemon.with((client) => client.lockstop('AC')).catch((error: unknown) => error);
    expect(isLeaseholdError(lockstop, 'LOCKSPACE_BUSY')).toBe(true);
    await daemon.with(async (client) => {
      expect(await client.inquire({ persistent: true })).toEqual([
        expect.objectContaining({ resource: 'R2', holder: 'persistent' }),
      ]);
      await client.release('AC', 'R2', { persistent: true });
    });
    expect((await daemon.with((client) => client.status())).leases).toHaveLength(0);
  });

  it('leases can only be acquired for a child process, not for a stranger', async () => {
    const client = await daemon.client();
    try {
      const refused = await client.acquire(where('R3', 3), { holderPid: 1 }).catch((error: unknown) => error);
      expect(isLeaseholdError(refused, 'NOT_PERMITTED')).toBe(true);
    } finally {
      client.close();
    }
  });
});

/**
 * The daemon commands of the CLI against a real daemon: lockstart (async and --wait), status and
 * hosts (plain and --json), run (the command holds the lease while it runs; its exit status is
 * passed through; a busy lease is reported as `leasehold: CODE: ...`), lockstop, and the
 * LEASEHOLD_SOCKET environment variable.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIB, runCli, TestDaemon, TestDir, waitFor } from '../../daemon/test/support/harness.js';

let dir: TestDir;
let image: string;
let daemon: TestDaemon;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = new TestDir();
  image = dir.image('cli.img', 'CL', 2);
  daemon = await new TestDaemon(dir, { name: 'cli' }).start();
  env = { LEASEHOLD_SOCKET: daemon.socketPath };
}, 60_000);

afterAll(async () => {
  await daemon?.kill();
  dir?.cleanup();
});

describe('leasehold daemon commands', () => {
  it('lockstart without --wait returns at once; with --wait it returns joined', () => {
    const started = runCli(['lockstart', '-s', `CL:auto:${image}:0`], env);
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    expect(started.stdout).toMatch(/lockspace CL starting/);
    const waited = runCli(['lockstart', '-s', `CL:auto:${image}:0`, '--wait'], env);
    expect(waited.status).toBe(0);
    expect(waited.stdout).toMatch(/lockspace CL joined: host_id \d+ generation 1/);
  });

  it('status and hosts, plain and --json', () => {
    const plain = runCli(['status', '--socket', daemon.socketPath]);
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/^daemon pid \d+ host_name \S+ io_timeout 1 watchdog_fire_timeout 10/);
    expect(plain.stdout).toMatch(/LOCKSPACE\s+STATE\s+HOST_ID/);
    expect(plain.stdout).toMatch(/CL\s+joined/);
    const json = JSON.parse(runCli(['status', '--json'], env).stdout) as {
      lockspaces: Array<{ lockspace: string; state: string; hostId: number }>;
    };
    expect(json.lockspaces).toEqual([expect.objectContaining({ lockspace: 'CL', state: 'joined' })]);
    const hosts = runCli(['hosts', 'CL'], env);
    expect(hosts.status).toBe(0);
    expect(hosts.stdout).toMatch(/^HOST_ID\s+STATE/);
    expect(hosts.stdout).toMatch(new RegExp(`${json.lockspaces[0]!.hostId}\\*\\s+LIVE`));
    const hostsJson = JSON.parse(runCli(['hosts', 'CL', '--json'], env).stdout) as {
      hosts: Array<{ self: boolean; state: string }>;
    };
    expect(hostsJson.hosts.find((host) => host.self)?.state).toBe('LIVE');
  });

  it('run holds the lease for the command, passes its exit status, and releases it after', async () => {
    const resource = `CL:R1:${image}:${MIB}`;
    const child = spawn(
      process.execPath,
      [daemon.args()[0]!, 'run', '-r', resource, '--', 'sh', '-c', 'sleep 4; exit 7'],
      {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    dir.track(child);
    let stderr = '';
    child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
    const holderPid = await waitFor('the lease to be held by the command', async () => {
      const status = await daemon.with((client) => client.status());
      return status.leases.find((lease) => lease.resource === 'R1')?.pid;
    });
    // The lease belongs to the command's process (a child of `leasehold run`), not to the CLI.
    expect(holderPid).not.toBe(child.pid);
    // While it runs, another run cannot get the lease: 123 (held by someone else, the command never
    // ran), distinct from a failure (121) and from the command's own statuses.
    const busy = runCli(['run', '-r', resource, '--', 'true'], env);
    expect(busy.status).toBe(123);
    expect(busy.stderr).toMatch(/^leasehold: LEASE_HELD_LOCALLY: .*pid \d+.*\(wait for it/);
    expect(busy.stderr.trim().split('\n')).toHaveLength(1);
    // --wait says once (not a terminal) whom it waits for, then gives up with the same status.
    const waited = runCli(['run', '-r', resource, '--wait', '1', '--', 'true'], env);
    expect(waited.status).toBe(123);
    expect(waited.stderr).toMatch(
      /^leasehold: waiting for CL:R1 \(EX\), held by pid \d+ on this host; waiting up to 1 s\n/,
    );
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(7);
    await waitFor(
      'release after the command exited',
      async () => ((await daemon.with((client) => client.status())).leases.length === 0 ? true : undefined),
      3000,
    );
    const again = runCli(['run', '-r', resource, '--shared', '--', 'true'], env);
    expect(again.status).toBe(0);

    // The daemon's log (JSON: stderr is a file) names every grant and refusal with the resource,
    // mode, requester (clientPid) and the process the lease is for; the daemon's own pid once a line.
    const lines = daemon
      .log()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    for (const line of lines) expect(line.match(/"pid":/g)?.length ?? 0).toBeLessThanOrEqual(1);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const daemonPid = entries[0]?.['pid'];
    expect(entries.every((entry) => entry['pid'] === daemonPid && typeof entry['levelName'] === 'string')).toBe(true);
    expect(entries).toContainEqual(
      expect.objectContaining({
        msg: 'lease granted',
        lockspace: 'CL',
        resource: 'R1',
        mode: 'EX',
        holderPid: holderPid,
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        msg: 'acquire refused',
        lockspace: 'CL',
        resource: 'R1',
        mode: 'EX',
        code: 'LEASE_HELD_LOCALLY',
        holders: `pid ${holderPid}`,
      }),
    );
    expect(
      entries
        .filter((entry) => entry['msg'] === 'lease granted')
        .every((entry) => typeof entry['clientPid'] === 'number'),
    ).toBe(true);
  });

  it('errors are `leasehold: CODE: message` with a non-zero status', () => {
    const missing = runCli(['hosts', 'NOPE'], env);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/^leasehold: NO_LOCKSPACE: /);
    const noDaemon = runCli(['status', '--socket', dir.file('absent.sock')]);
    expect(noDaemon.status).not.toBe(0);
    expect(noDaemon.stderr).toMatch(/^leasehold: NO_DAEMON: /);
  });

  it('lockstop leaves the lockspace', () => {
    const stopped = runCli(['lockstop', 'CL', '--wait'], env);
    expect(stopped.stderr).toBe('');
    expect(stopped.stdout).toMatch(/lockspace CL stopped/);
    const json = JSON.parse(runCli(['status', '--json'], env).stdout) as { lockspaces: unknown[] };
    expect(json.lockspaces).toHaveLength(0);
  });
});

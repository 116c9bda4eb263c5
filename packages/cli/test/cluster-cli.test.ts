/**
 * `leasehold testing cluster` itself: hosts are separate pid namespaces sharing one disk, `exec`
 * runs inside a host (and passes exit statuses), status/freeze/thaw/crash/restart/stop work on the
 * right processes, and a daemon whose companion is gone refuses to start lockspaces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterSupported, TestCluster } from './support/cluster.js';

const supported = clusterSupported();
let cluster: TestCluster;

beforeAll(() => {
  if (!supported) return;
  cluster = new TestCluster();
  cluster.start(2);
}, 60_000);

afterAll(() => cluster?.stop());

describe('leasehold testing cluster', () => {
  it('runs where emulated hosts can (root, unshare, nsenter): never skipped', () => {
    expect(supported, 'these tests need root with unshare --pid --mount and nsenter').toBe(true);
  });
  it('runs each host in its own pid namespace with LEASEHOLD_SOCKET set, and passes exit statuses', () => {
    const one = cluster.exec('host1', ['sh', '-c', 'echo $$ $LEASEHOLD_SOCKET; ls /proc | grep -c "^[0-9]"']);
    expect(one.status).toBe(0);
    const [pid, socket] = one.stdout.split('\n')[0]!.split(' ');
    expect(Number(pid)).toBeLessThan(100); // a fresh pid namespace
    expect(socket).toBe(`${cluster.hostDir('host1')}/leasehold.sock`);
    expect(cluster.exec('host2', ['sh', '-c', 'exit 7']).status).toBe(7);
    const status = cluster.exec('host2', ['leasehold', 'status', '--json']);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      daemon: { hostName: 'host2', watchdog: 'companion', watchdogFireTimeoutSeconds: 10, ioTimeoutSeconds: 1 },
    });
  });

  it('reports its hosts, and freezes, thaws, crashes and restarts the right process', () => {
    const before = cluster.status();
    expect(before.hosts.map((host) => [host.name, host.up])).toEqual([
      ['host1', true],
      ['host2', true],
    ]);
    const daemonPid = before.hosts[0]!.daemonPid!;
    expect(cluster.cluster(['freeze', 'host1', '--process', 'daemon'])).toContain(`pid ${daemonPid}`);
    expect(cluster.cli(['testing', 'cluster', 'status', '--dir', cluster.dir]).stdout).toMatch(/host1\s+yes/);
    cluster.cluster(['thaw', 'host1', '--process', 'daemon']);
    expect(cluster.exec('host1', ['leasehold', 'status']).status).toBe(0);
    cluster.cluster(['crash', 'host1', '--process', 'daemon']);
    expect(cluster.status().hosts[0]!.daemonPid).toBeNull();
    cluster.cluster(['restart', 'host1', '--process', 'daemon']);
    const restarted = cluster.status().hosts[0]!.daemonPid;
    expect(restarted).not.toBeNull();
    expect(restarted).not.toBe(daemonPid);
    cluster.cluster(['crash', 'host2']);
    expect(cluster.hostUp('host2')).toBe(false);
    cluster.cluster(['restart', 'host2']);
    expect(cluster.hostUp('host2')).toBe(true);
    const bad = cluster.cli(['testing', 'cluster', 'freeze', 'host9', '--dir', cluster.dir]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/^leasehold: NO_SUCH_HOST: /);
  }, 60_000);

  it('the daemon refuses to start a lockspace while its companion is unreachable (no host reset: nothing was registered)', () => {
    cluster.cluster(['crash', 'host2', '--process', 'companion']);
    const refused = cluster.exec('host2', ['leasehold', 'lockstart', '-s', `LS:auto:${cluster.disk}:0`, '--wait']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/WATCHDOG_UNAVAILABLE/);
    // An idle companion's crash leaves the device disarmed: a restart is refused only by the marker.
    expect(cluster.fires('host2')).toEqual([]);
    expect(cluster.exec('host2', ['leasehold', 'watchdog', '--clear-marker']).status).toBe(0);
    cluster.cluster(['restart', 'host2', '--process', 'companion']);
    cluster.exec('host2', ['leasehold', 'lockstop', 'LS']);
    cluster.lockstart('host2');
  }, 60_000);
});

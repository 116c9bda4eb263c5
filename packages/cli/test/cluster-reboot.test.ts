/**
 * An emulated power cycle looks like a reboot to the host's daemon (issue 15): each boot of an
 * emulated host has its own boot id, which the daemon reads instead of the machine's; restarting the
 * daemon alone keeps it (same boot: adopt), a power cycle changes it (new boot: nothing to adopt),
 * leaves no process of the old boot, and takes the LV mappings (loop devices) the host had set up.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attachLoop, detachLoop, makeTempImage } from '@leasehold/testkit';
import { clusterSupported, TestCluster, waitFor } from './support/cluster.js';

const supported = clusterSupported();
let cluster: TestCluster | undefined;
const loops: Array<{ device: string; backingPath: string }> = [];

interface Serving {
  bootId: string;
  sameBoot: boolean;
}

/** The daemon's "daemon serving" log lines, oldest first. */
function servingLines(c: TestCluster): Serving[] {
  return c
    .log('host1', 'daemon.log')
    .split('\n')
    .filter((line) => line.includes('"daemon serving"'))
    .map((line) => JSON.parse(line) as Serving);
}

function hostRecord(c: TestCluster): { bootId: string } {
  return JSON.parse(readFileSync(join(c.hostDir('host1'), 'host.json'), 'utf8')) as { bootId: string };
}

/**
 * `device` still maps `backingPath`. By its backing file, not by the device's existence: other tests
 * (and chaos runs) attach loop devices all the time, and the number of one detached is soon reused.
 */
function loopAttached(device: string, backingPath: string): boolean {
  const file = `/sys/block/${device.replace('/dev/', '')}/loop/backing_file`;
  if (!existsSync(file)) return false;
  try {
    return readFileSync(file, 'utf8').trim() === backingPath;
  } catch {
    return false; // detached between the two reads
  }
}

afterEach(() => {
  cluster?.stop();
  cluster = undefined;
  for (const loop of loops.splice(0)) if (loopAttached(loop.device, loop.backingPath)) detachLoop(loop.device);
});

describe('an emulated power cycle', () => {
  it('runs where emulated hosts can (root, unshare, nsenter): never skipped', () => {
    expect(supported, 'these tests need root with unshare --pid --mount and nsenter').toBe(true);
  });

  it('gives the daemon a new boot id and leaves nothing of the old boot', async () => {
    const c = new TestCluster();
    cluster = c;
    c.start(1);
    const kernelBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const [first] = await waitFor('the daemon to serve', () => servingLines(c).length === 1 && servingLines(c), 20_000);
    expect(first?.bootId).toBe(hostRecord(c).bootId);
    expect(first?.bootId).not.toBe(kernelBootId);
    // Every process of the host sees the same boot id as its daemon.
    expect(c.exec('host1', ['sh', '-c', 'echo $LEASEHOLD_BOOT_ID']).stdout.trim()).toBe(first?.bootId);

    // The daemon alone restarted: the same boot.
    c.cluster(['restart', 'host1', '--process', 'daemon']);
    const afterDaemon = await waitFor('the restarted daemon', () => servingLines(c)[1], 20_000);
    expect(afterDaemon).toMatchObject({ bootId: first?.bootId, sameBoot: true });

    // An LV the host activated: a loop device its device_dir links to; and a process using the host.
    const image = makeTempImage(4 * 1024 * 1024);
    const loop = attachLoop(image.path, 512);
    const backingPath = realpathSync(image.path);
    loops.push({ device: loop, backingPath });
    mkdirSync(join(c.hostDir('host1'), 'dev', 'vg0'), { recursive: true });
    symlinkSync(loop, join(c.hostDir('host1'), 'dev', 'vg0', 'lv0'));
    const sleeper = c.spawnExec('host1', ['sleep', '1000']);
    const oldDaemon = c.status().hosts[0]?.daemonPid;
    expect(oldDaemon).toBeGreaterThan(0);

    c.cluster(['restart', 'host1']);
    const afterPowerCycle = await waitFor('the daemon of the new boot', () => servingLines(c)[2], 20_000);
    expect(afterPowerCycle.sameBoot).toBe(false);
    expect(afterPowerCycle.bootId).not.toBe(first?.bootId);
    expect(afterPowerCycle.bootId).not.toBe(kernelBootId);
    expect(hostRecord(c).bootId).toBe(afterPowerCycle.bootId);
    await waitFor('the old daemon to be gone', () => !existsSync(`/proc/${oldDaemon}`), 10_000);
    expect(c.status().hosts[0]?.daemonPid).not.toBe(oldDaemon);
    await waitFor(
      'the old boot process to be gone',
      () => sleeper.child.exitCode !== null || sleeper.child.signalCode !== null,
      10_000,
    );
    expect(loopAttached(loop, backingPath)).toBe(false);
    expect(existsSync(join(c.hostDir('host1'), 'dev'))).toBe(false);
    image.cleanup();
  }, 120_000);
});

/**
 * Lease loss deactivates (issue 13): host 1 of the emulated cluster has an LV of a shared VG active
 * exclusively (loop backend) and a process writing to it; host 1's storage hangs, so its daemon
 * cannot renew and loses the VG's lockspace at 8N after its last renewal.
 * - The writer ignores SIGTERM: the daemon finds it by the device's number in /proc, kills it
 *   (SIGKILL: the grace is 0 at W = 10), deactivates the LV, and only then tells the companion the
 *   lockspace is gone: no reset. Host 2 activates the LV at 8N + W after host 1's last renewal.
 * - The writer is frozen in the cgroup freezer (SIGKILL cannot end it): the device stays open, the LV
 *   cannot be deactivated, the companion is never told, and the watchdog resets host 1 before host 2
 *   may activate the LV.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_PATH } from './run-cli.js';
import {
  clusterSupported,
  COMPANION_INTERVAL_SECONDS,
  FIRE_TIMEOUT_SECONDS,
  freezerSupported,
  HOST_DEAD_SECONDS,
  hostProcessesMatching,
  LOAD_SLACK_SECONDS,
  monotonicSeconds,
  printTimeline,
  RENEWAL_FAIL_SECONDS,
  RENEWAL_INTERVAL_SECONDS,
  sleep,
  TestCluster,
  waitFor,
} from './support/cluster.js';

const ACTIVATE_LOOP = fileURLToPath(new URL('./support/activate-loop.mjs', import.meta.url));
const supported = clusterSupported();
const VG = 'lossvg';
const LOCKSPACE = `lvm_${VG}`;
/** The daemon repeats SIGKILL once a second; then the device's openers are looked for every 250 ms. */
const KILL_SECONDS = 1.5;
let cluster: TestCluster | undefined;
const savedConfig = process.env['LEASEHOLD_CONFIG'];

function leasehold(c: TestCluster, host: string, args: string[]): string {
  const result = c.exec(host, ['leasehold', ...args]);
  if (result.status !== 0)
    throw new Error(
      `${host}: leasehold ${args.join(' ')} failed (${result.status}):\n${result.stdout}${result.stderr}`,
    );
  return result.stdout;
}

/** Two hosts, a shared VG on the cluster disk, an LV active EX on host 1 with a writer on it. */
async function setUp(
  writerScript: (device: string) => string,
  writerCommandLine: (device: string) => string,
): Promise<{ c: TestCluster; writerPid: number }> {
  const c = new TestCluster();
  cluster = c;
  c.cluster(['start', '--hosts', '2', '--io-timeout', '1', '--watchdog-fire-timeout', '10', '--disk-size', '400M']);
  const conf = join(c.dir, 'leasehold.conf');
  mkdirSync(join(c.dir, 'lock'), { recursive: true });
  writeFileSync(conf, `io_timeout = 1\ndevices = ${c.disk}\nlocking_dir = ${join(c.dir, 'lock')}\n`);
  // The hosts' commands inherit it through `cluster exec`.
  process.env['LEASEHOLD_CONFIG'] = conf;
  leasehold(c, 'host1', ['vgcreate', '--shared', VG, c.disk]);
  leasehold(c, 'host2', ['lockstart', '--wait', VG]);
  // lvcreate activates the new LV (exclusive) on host 1, as lvm does.
  leasehold(c, 'host1', ['lvcreate', '-n', 'lv1', '-L', '8m', VG]);
  const device = join(c.hostDir('host1'), 'dev', VG, 'lv1');
  expect(existsSync(device)).toBe(true);
  const writer = c.spawnExec('host1', ['sh', '-c', writerScript(device)]);
  await writer.next('text', 30_000);
  const [writerPid] = await waitFor(
    'the writer process',
    () => {
      const pids = hostProcessesMatching(c, 'host1', writerCommandLine(device));
      return pids.length > 0 ? pids : undefined;
    },
    5000,
  );
  return { c, writerPid: writerPid as number };
}

function activationsOf(c: TestCluster, host: string): Array<Record<string, unknown>> {
  const status = JSON.parse(leasehold(c, host, ['status', '--json'])) as {
    activations?: Array<Record<string, unknown>>;
  };
  return status.activations ?? [];
}

/** Loop devices over the cluster disk (an emulated reset does not take the kernel's loop devices). */
function loopsOf(disk: string): string[] {
  const listed = spawnSync('losetup', ['-j', disk], { encoding: 'utf8' }).stdout;
  return listed
    .split('\n')
    .map((line) => line.split(':')[0] ?? '')
    .filter((device) => device.startsWith('/dev/loop'));
}

afterEach(() => {
  if (cluster !== undefined) {
    // Listed while the disk image still exists; detached once no daemon uses them.
    const leftover = loopsOf(cluster.disk);
    cluster.stop();
    for (const device of leftover) spawnSync('losetup', ['-d', device]);
  }
  cluster = undefined;
  if (savedConfig === undefined) delete process.env['LEASEHOLD_CONFIG'];
  else process.env['LEASEHOLD_CONFIG'] = savedConfig;
});

describe('lease loss under an active LV', () => {
  it('runs where emulated hosts can (root, unshare, nsenter): never skipped', () => {
    expect(supported, 'these tests need root with unshare --pid --mount and nsenter').toBe(true);
  });

  it('kills the writer, deactivates the LV, tells the companion: no reset; host 2 activates at the deadline', async () => {
    // The writer keeps the device open; its sleeps do not (3>&-).
    const script = (device: string) =>
      `trap "" TERM; exec 3<>"${device}"; echo writing; while :; do printf x >&3 || exit 1; sleep 0.1 3>&-; done`;
    const { c, writerPid } = await setUp(script, (device) => `sh -c ${script(device)}`);
    let writerExitAt: number | undefined;
    const exited = waitFor(
      'the writer to exit',
      () => (existsSync(`/proc/${writerPid}`) ? undefined : monotonicSeconds()),
      90_000,
      20,
    ).then((at) => (writerExitAt = at));

    c.hangStorage('host1');
    const hungAt = monotonicSeconds();
    const taker = c.spawnExec('host2', ['node', ACTIVATE_LOOP, CLI_PATH, `${VG}/lv1`, '200']);
    const granted = await taker.next('granted', 90_000);
    const grantedAt = granted['grantedSeconds'] as number;
    await exited;
    const lastRenewal = c.lastRenewal('host1', LOCKSPACE);
    const deadline = lastRenewal + HOST_DEAD_SECONDS;
    const wouldFireAt = lastRenewal + RENEWAL_FAIL_SECONDS - COMPANION_INTERVAL_SECONDS + FIRE_TIMEOUT_SECONDS;
    await sleep(Math.max(0, (wouldFireAt + 2 - monotonicSeconds()) * 1000));

    const events = c.deviceEvents('host1');
    const uncleanClose = events.find((event) => event.type === 'unclean-close');
    const disarmed = events.find(
      (event) => event.type === 'magic-close' && uncleanClose !== undefined && event.atSeconds > uncleanClose.atSeconds,
    );
    printTimeline(
      `host1 storage hangs under an active LV with a writer that ignores SIGTERM (io_timeout 1, W ${FIRE_TIMEOUT_SECONDS}); from host1's last renewal L`,
      lastRenewal,
      [
        ['L: host1 last renewal', lastRenewal],
        ['host1 storage hangs', hungAt],
        ['host1 companion closes the device unclean', uncleanClose?.atSeconds],
        ['host1 lease lost (L + 8N): writer found by device number, killed', lastRenewal + RENEWAL_FAIL_SECONDS],
        ['host1 writer gone', writerExitAt],
        ['host1 LV deactivated, companion disarms the device', disarmed?.atSeconds],
        ['host1 watchdog would have fired', wouldFireAt],
        ['deadline L + 8N + W', deadline],
        ['host2 lvchange -aey succeeded', grantedAt],
      ],
    );

    const log = c.log('host1', 'daemon.log');
    expect(log).toContain('lockspace lost: stopping the processes that have the LV open');
    expect(log).toMatch(/"signal":"SIGKILL".*signalled lease holder of a lost lockspace/);
    expect(log).toContain('lockspace lost: LV deactivated');
    expect(writerExitAt).toBeDefined();
    expect(writerExitAt!).toBeGreaterThanOrEqual(lastRenewal + RENEWAL_FAIL_SECONDS);
    expect(writerExitAt!).toBeLessThanOrEqual(lastRenewal + RENEWAL_FAIL_SECONDS + KILL_SECONDS + LOAD_SLACK_SECONDS);
    // Deactivated on host 1: its link is gone, and status says what happened.
    expect(existsSync(join(c.hostDir('host1'), 'dev', VG, 'lv1'))).toBe(false);
    expect(activationsOf(c, 'host1')).toEqual([
      expect.objectContaining({
        lvName: 'lv1',
        loss: expect.objectContaining({ phase: 'deactivated', killedPids: [expect.any(Number)] }),
      }),
    ]);
    // The companion let go only after that, before the watchdog fired: no reset.
    expect(uncleanClose).toBeDefined();
    expect(disarmed).toBeDefined();
    expect(disarmed!.atSeconds).toBeGreaterThanOrEqual(writerExitAt! - 0.5);
    expect(c.fires('host1')).toEqual([]);
    expect(c.hostUp('host1')).toBe(true);
    // Safety: host 2 only at host 1's deadline; liveness: soon after it.
    expect(grantedAt).toBeGreaterThanOrEqual(deadline);
    expect(grantedAt).toBeLessThanOrEqual(deadline + RENEWAL_INTERVAL_SECONDS + 2 * LOAD_SLACK_SECONDS);
    expect(existsSync(join(c.hostDir('host2'), 'dev', VG, 'lv1'))).toBe(true);
  }, 180_000);

  it('resets host 1 when the writer cannot be killed (frozen); host 2 activates only after the reset and the deadline', async () => {
    expect(freezerSupported(), 'this test needs the cgroup-v1 freezer at /sys/fs/cgroup/freezer').toBe(true);
    const script = (device: string) => `exec 3<>"${device}"; echo writing; exec sleep 1002`;
    const { c, writerPid } = await setUp(script, () => 'sleep 1002');
    c.freezeInKernel(writerPid);

    c.hangStorage('host1');
    const hungAt = monotonicSeconds();
    const taker = c.spawnExec('host2', ['node', ACTIVATE_LOOP, CLI_PATH, `${VG}/lv1`, '200']);
    const granted = await taker.next('granted', 90_000);
    const grantedAt = granted['grantedSeconds'] as number;
    const lastRenewal = c.lastRenewal('host1', LOCKSPACE);
    const deadline = lastRenewal + HOST_DEAD_SECONDS;
    const fire = await waitFor('the device of host1 to fire', () => c.fires('host1')[0], 1000);
    const reset = await waitFor(
      'the reset to finish',
      () => c.deviceEvents('host1').find((event) => event.type === 'reset'),
      10_000,
    );
    printTimeline(
      `host1 storage hangs under an active LV whose writer is stuck in the kernel (io_timeout 1, W ${FIRE_TIMEOUT_SECONDS}); from host1's last renewal L`,
      lastRenewal,
      [
        ['L: host1 last renewal', lastRenewal],
        ['host1 storage hangs', hungAt],
        [
          'host1 lease lost (L + 8N): SIGKILL... the writer does not die, the LV stays open',
          lastRenewal + RENEWAL_FAIL_SECONDS,
        ],
        ['host1 watchdog fires', fire.atSeconds],
        ['host1 reset done', reset.atSeconds],
        ['deadline L + 8N + W', deadline],
        ['host2 lvchange -aey succeeded', grantedAt],
      ],
    );
    const log = c.log('host1', 'daemon.log');
    expect(log).toContain('lockspace lost: stopping the processes that have the LV open');
    expect(log).toMatch(/"signal":"SIGKILL".*signalled lease holder of a lost lockspace/);
    expect(log).not.toContain('lockspace lost: LV deactivated');
    expect(fire.atSeconds).toBeGreaterThan(lastRenewal + RENEWAL_FAIL_SECONDS);
    expect(fire.atSeconds).toBeLessThan(deadline);
    expect(reset['killed']).toContain(writerPid);
    expect(grantedAt).toBeGreaterThanOrEqual(deadline);
    expect(grantedAt).toBeGreaterThan(reset.atSeconds);
    expect(grantedAt).toBeLessThanOrEqual(deadline + RENEWAL_INTERVAL_SECONDS + 2 * LOAD_SLACK_SECONDS);
    expect(c.hostUp('host1')).toBe(false);
  }, 180_000);
});

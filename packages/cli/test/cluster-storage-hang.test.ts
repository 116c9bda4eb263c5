/**
 * Host A's storage hangs while a client holds a lease there. A's daemon cannot renew; at 8N after
 * its last renewal it declares the lease lost and kills the client (SIGTERM, then SIGKILL: with
 * W = 10 the kill grace is 0). When the client dies, the daemon tells the companion, which disarms
 * the watchdog: no reset. When the client cannot be killed (frozen in the kernel), the registration
 * stays expired and the watchdog resets A. Either way B takes the lease only at 8N + W after A's
 * last renewal.
 */
import { afterEach, describe, expect, it } from 'vitest';
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

const supported = clusterSupported();
/** The daemon repeats SIGTERM/SIGKILL once a second; grace is 0 at W = 10. */
const KILL_SECONDS = 1;
let cluster: TestCluster | undefined;

function startCluster(): TestCluster {
  cluster = new TestCluster();
  cluster.start(2);
  cluster.lockstart('host1');
  cluster.lockstart('host2');
  return cluster;
}

afterEach(() => {
  cluster?.stop();
  cluster = undefined;
});

describe('a host whose storage hangs while a client holds a lease', () => {
  it('runs where emulated hosts can (root, unshare, nsenter): never skipped', () => {
    expect(supported, 'these tests need root with unshare --pid --mount and nsenter').toBe(true);
  });
  it('kills the client (SIGKILL, as it ignores SIGTERM) and is not reset; the other host takes the lease at the deadline', async () => {
    const c = startCluster();
    const holder = c.holdR1('host1', 'trap "" TERM; echo held; while :; do sleep 1; done');
    await holder.next('text', 30_000);
    let holderExitAt: number | undefined;
    void holder.exited.then(() => (holderExitAt = monotonicSeconds()));

    c.hangStorage('host1');
    const hungAt = monotonicSeconds();
    const taker = c.acquireLoop('host2');
    const granted = await taker.next('granted', 60_000);
    const grantedAt = granted['grantedSeconds'] as number;
    const lastRenewal = c.lastRenewal('host1');
    const deadline = lastRenewal + HOST_DEAD_SECONDS;
    // Had the device not been disarmed it would have fired here: wait past it.
    const wouldFireAt = lastRenewal + RENEWAL_FAIL_SECONDS - COMPANION_INTERVAL_SECONDS + FIRE_TIMEOUT_SECONDS;
    await sleep(Math.max(0, (wouldFireAt + 2 - monotonicSeconds()) * 1000));

    const events = c.deviceEvents('host1');
    const uncleanClose = events.find((event) => event.type === 'unclean-close');
    const disarmed = events.find(
      (event) => event.type === 'magic-close' && uncleanClose !== undefined && event.atSeconds > uncleanClose.atSeconds,
    );
    printTimeline(
      `host1 storage hangs, its client ignores SIGTERM (io_timeout 1, W ${FIRE_TIMEOUT_SECONDS}); from host1's last renewal L`,
      lastRenewal,
      [
        ['L: host1 last renewal', lastRenewal],
        ['host1 storage hangs', hungAt],
        ['host1 companion closes the device unclean', uncleanClose?.atSeconds],
        ['host1 lease lost (L + 8N): SIGTERM, then SIGKILL', lastRenewal + RENEWAL_FAIL_SECONDS],
        ['host1 client gone', holderExitAt],
        ['host1 companion disarms the device (magic close)', disarmed?.atSeconds],
        ['host1 watchdog would have fired', wouldFireAt],
        ['deadline L + 8N + W', deadline],
        ['host2 granted R1', grantedAt],
      ],
    );

    expect(lastRenewal).toBeLessThanOrEqual(hungAt);
    // The client was killed, with SIGKILL since it ignored SIGTERM, within the (zero) grace period.
    expect(holderExitAt).toBeDefined();
    expect(holderExitAt!).toBeGreaterThanOrEqual(lastRenewal + RENEWAL_FAIL_SECONDS);
    expect(holderExitAt!).toBeLessThanOrEqual(lastRenewal + RENEWAL_FAIL_SECONDS + KILL_SECONDS + LOAD_SLACK_SECONDS);
    expect(c.log('host1', 'daemon.log')).toMatch(/"signal":"SIGKILL".*signalled lease holder of a lost lockspace/);
    // The companion stopped petting before the expiry, then disarmed once the client was gone: no reset.
    expect(uncleanClose).toBeDefined();
    expect(uncleanClose!.atSeconds).toBeLessThan(lastRenewal + RENEWAL_FAIL_SECONDS);
    expect(disarmed).toBeDefined();
    expect(disarmed!.atSeconds).toBeGreaterThanOrEqual(holderExitAt! - 0.5);
    expect(c.fires('host1')).toEqual([]);
    const host1 = c.status().hosts.find((host) => host.name === 'host1')!;
    expect(host1.up).toBe(true);
    expect(host1.daemonPid).not.toBeNull();
    // Safety: B only at A's deadline (A's lease is still A's on disk); liveness: soon after it.
    expect(grantedAt).toBeGreaterThanOrEqual(deadline);
    expect(grantedAt).toBeLessThanOrEqual(deadline + RENEWAL_INTERVAL_SECONDS + LOAD_SLACK_SECONDS);
  }, 120_000);

  it('resets the host when the client cannot be killed (stuck in the kernel); the other host takes the lease at the deadline', async () => {
    expect(freezerSupported(), 'this test needs the cgroup-v1 freezer at /sys/fs/cgroup/freezer').toBe(true);
    const c = startCluster();
    const holder = c.holdR1('host1', 'echo held; exec sleep 1001');
    await holder.next('text', 30_000);
    const [stuckPid] = await waitFor(
      'the holder process',
      () => {
        const pids = hostProcessesMatching(c, 'host1', 'sleep 1001');
        return pids.length > 0 ? pids : undefined;
      },
      5000,
    );
    c.freezeInKernel(stuckPid!);

    c.hangStorage('host1');
    const hungAt = monotonicSeconds();
    const taker = c.acquireLoop('host2');
    const granted = await taker.next('granted', 60_000);
    const grantedAt = granted['grantedSeconds'] as number;
    const lastRenewal = c.lastRenewal('host1');
    const deadline = lastRenewal + HOST_DEAD_SECONDS;
    const fire = await waitFor('the device of host1 to fire', () => c.fires('host1')[0], 1000);
    const reset = await waitFor(
      'the reset to finish',
      () => c.deviceEvents('host1').find((event) => event.type === 'reset'),
      10_000,
    );
    printTimeline(
      `host1 storage hangs, its client is stuck in the kernel (io_timeout 1, W ${FIRE_TIMEOUT_SECONDS}); from host1's last renewal L`,
      lastRenewal,
      [
        ['L: host1 last renewal', lastRenewal],
        ['host1 storage hangs', hungAt],
        [
          'host1 companion closes the device unclean',
          c.deviceEvents('host1').find((event) => event.type === 'unclean-close')?.atSeconds,
        ],
        ['host1 lease lost (L + 8N): SIGTERM, SIGKILL... the client does not die', lastRenewal + RENEWAL_FAIL_SECONDS],
        ['host1 watchdog fires', fire.atSeconds],
        ['host1 reset done', reset.atSeconds],
        ['deadline L + 8N + W', deadline],
        ['host2 granted R1', grantedAt],
      ],
    );

    expect(c.log('host1', 'daemon.log')).toMatch(/"signal":"SIGKILL".*signalled lease holder of a lost lockspace/);
    expect(fire.atSeconds).toBeGreaterThan(lastRenewal + RENEWAL_FAIL_SECONDS);
    expect(fire.atSeconds).toBeLessThan(deadline);
    expect(reset['leftAlive']).toEqual([]);
    expect(reset['killed']).toContain(stuckPid);
    expect(grantedAt).toBeGreaterThanOrEqual(deadline);
    expect(grantedAt).toBeGreaterThan(reset.atSeconds);
    expect(grantedAt).toBeLessThanOrEqual(deadline + RENEWAL_INTERVAL_SECONDS + LOAD_SLACK_SECONDS);
    expect(c.hostUp('host1')).toBe(false);
  }, 120_000);
});
